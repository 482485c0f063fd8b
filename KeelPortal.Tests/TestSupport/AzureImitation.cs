using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace KeelPortal.Tests.TestSupport;

/// <summary>
/// Entra ID's token endpoint and ACR's <c>/oauth2/exchange</c> on a loopback HTTPS port (Azure.Identity speaks only
/// HTTPS to an authority), checking what they check: a client secret must be the application's, or a workload identity's
/// assertion an RS256 JWT signed by the cluster's key for <c>api://AzureADTokenExchange</c>; the exchange takes only an
/// Entra token this endpoint signed, for the ARM audience and this tenant. It issues <see cref="RefreshToken"/>, which
/// the real registry's htpasswd accepts as the null user's password.
/// </summary>
public sealed class AzureImitation : IAsyncDisposable
{
    public const string Tenant = "72f988bf-86f1-41af-91ab-2d7cd011db47";
    public const string ClientId = "8d6a6f9e-7d3e-4f4b-9f0a-1c2b3c4d5e6f";
    public const string ClientSecret = "azure-client-secret-value";

    private static readonly string[] AuthMethods = ["client_secret_post", "private_key_jwt"];

    private readonly WebApplication app;
    private readonly RSA entraKey = RSA.Create(2048);
    private int exchanges;

    /// <summary>The key of the cluster's OIDC issuer that signs projected service-account tokens.</summary>
    public RSA ClusterKey { get; } = RSA.Create(2048);

    public string RefreshToken { get; } = "acr-refresh-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(20));

    public Uri Url { get; private set; } = null!;

    public int Exchanges => Volatile.Read(ref exchanges);

    public List<string> Refusals { get; } = [];

    public TestCertificates Certificates { get; } = TestCertificates.Create();

    private AzureImitation()
    {
        var builder = WebApplication.CreateSlimBuilder();
        var certificate = X509Certificate2.CreateFromPemFile(Certificates.CertificatePath, Certificates.KeyPath);
        builder.WebHost.ConfigureKestrel(k => k.Listen(System.Net.IPAddress.Loopback, 0, l => l.UseHttps(certificate)));
        builder.Logging.ClearProviders();
        app = builder.Build();
        app.MapGet("/{tenant}/v2.0/.well-known/openid-configuration", (string tenant) => Results.Json(new Dictionary<string, object>
        {
            ["issuer"] = $"{Url}{tenant}/v2.0",
            ["token_endpoint"] = $"{Url}{tenant}/oauth2/v2.0/token",
            ["authorization_endpoint"] = $"{Url}{tenant}/oauth2/v2.0/authorize",
            ["token_endpoint_auth_methods_supported"] = AuthMethods,
        }));
        app.MapPost("/{tenant}/oauth2/v2.0/token", (Delegate)TokenAsync);
        app.MapPost("/oauth2/exchange", (Delegate)ExchangeAsync);
        // The instance metadata service's managed identity endpoint: only with the Metadata header, only for this identity.
        app.MapGet("/metadata/identity/oauth2/token", (HttpContext context) =>
        {
            if (context.Request.Headers["Metadata"] != "true")
            {
                return Refuse("invalid_request", "Required metadata header not specified");
            }
            if (context.Request.Query["client_id"] is { Count: > 0 } asked && asked != ClientId)
            {
                return Refuse("invalid_request", "Identity not found");
            }
            var now = DateTimeOffset.UtcNow;
            var token = Jwt.Sign(new { aud = "https://management.azure.com", tid = Tenant, appid = ClientId, iat = now.ToUnixTimeSeconds(), exp = now.AddHours(1).ToUnixTimeSeconds() }, entraKey);
            return Results.Json(new Dictionary<string, string>
            {
                ["access_token"] = token, ["expires_on"] = now.AddHours(1).ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture),
                ["expires_in"] = "3599", ["resource"] = "https://management.azure.com", ["token_type"] = "Bearer", ["client_id"] = ClientId,
            });
        });
    }

    public static async Task<AzureImitation> StartAsync()
    {
        var imitation = new AzureImitation();
        await imitation.app.StartAsync();
        imitation.Url = new Uri(Loopback.Address(imitation.app).Replace("http://", "https://", StringComparison.Ordinal) + "/");
        return imitation;
    }

    public async ValueTask DisposeAsync()
    {
        await app.DisposeAsync();
        entraKey.Dispose();
        ClusterKey.Dispose();
        Certificates.Dispose();
    }

    /// <summary>A projected service-account token for Entra's federation, as AKS writes it to <c>AZURE_FEDERATED_TOKEN_FILE</c>.</summary>
    public string FederatedToken(RSA? signer = null)
    {
        var now = DateTimeOffset.UtcNow;
        return Jwt.Sign(new { iss = "https://aks.example/oidc", sub = "system:serviceaccount:keelportal:keelportal", aud = "api://AzureADTokenExchange",
            iat = now.ToUnixTimeSeconds(), exp = now.AddHours(1).ToUnixTimeSeconds() }, signer ?? ClusterKey);
    }

    private async Task<IResult> TokenAsync(string tenant, HttpContext context)
    {
        var form = await context.Request.ReadFormAsync();
        if (tenant != Tenant || form["client_id"] != ClientId)
        {
            return Refuse("unauthorized_client", $"AADSTS700016: Application with identifier '{form["client_id"]}' was not found in the directory '{tenant}'.");
        }
        var secretOk = form["client_secret"] == ClientSecret;
        using var assertion = form["client_assertion_type"] == "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" ? Jwt.Verified(form["client_assertion"], ClusterKey) : null;
        var assertionOk = assertion is not null && assertion.RootElement.GetProperty("aud").GetString() == "api://AzureADTokenExchange";
        if (!secretOk && !assertionOk)
        {
            return Refuse("invalid_client", "AADSTS7000215: Invalid client secret provided, or AADSTS70021: No matching federated identity record found for presented assertion.");
        }
        var now = DateTimeOffset.UtcNow;
        var token = Jwt.Sign(new { aud = "https://management.azure.com", tid = Tenant, appid = ClientId, iat = now.ToUnixTimeSeconds(), exp = now.AddHours(1).ToUnixTimeSeconds() }, entraKey);
        return Results.Json(new { token_type = "Bearer", expires_in = 3599, ext_expires_in = 3599, access_token = token });
    }

    private async Task<IResult> ExchangeAsync(HttpContext context)
    {
        var form = await context.Request.ReadFormAsync();
        using var claims = form["grant_type"] == "access_token" ? Jwt.Verified(form["access_token"], entraKey) : null;
        if (claims is null || claims.RootElement.GetProperty("aud").GetString() != "https://management.azure.com"
            || claims.RootElement.GetProperty("tid").GetString() != form["tenant"])
        {
            return Refuse("unauthorized", "the access token is not a valid Entra ID token for this tenant", 401);
        }
        Interlocked.Increment(ref exchanges);
        return Results.Json(new { refresh_token = RefreshToken });
    }

    private IResult Refuse(string error, string description, int status = 400)
    {
        lock (Refusals)
        {
            Refusals.Add(error);
        }
        return Results.Json(new { error, error_description = description }, statusCode: status);
    }

    /// <summary>A handler that trusts this imitation's certificate authority (what the test gives the portal's Azure clients).</summary>
    public HttpMessageHandler TrustingHandler()
    {
        var ca = new X509Certificate2Collection();
        ca.ImportFromPemFile(Certificates.CaPath);
        return new HttpClientHandler
        {
            ServerCertificateCustomValidationCallback = (_, certificate, chain, _) =>
            {
                chain!.ChainPolicy.TrustMode = X509ChainTrustMode.CustomRootTrust;
                chain.ChainPolicy.CustomTrustStore.AddRange(ca);
                return certificate is not null && chain.Build(certificate);
            },
        };
    }
}
