using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace KeelPortal.Tests.TestSupport;

/// <summary>
/// Google's OAuth token endpoint and the GKE metadata server on a loopback port, checking what they check: a
/// service-account assertion must be an RS256 JWT signed by the key file's private key (verified with its public key),
/// issued by the account, for Google's token audience (<c>https://oauth2.googleapis.com/token</c>, whichever endpoint
/// is asked), asking for a scope, not expired; the metadata server answers only
/// requests carrying <c>Metadata-Flavor: Google</c>. Both issue <see cref="AccessToken"/>, which the real registry's
/// htpasswd accepts for <c>oauth2accesstoken</c>.
/// </summary>
public sealed class GoogleImitation : IAsyncDisposable
{
    public const string Account = "keelportal@shop-project.iam.gserviceaccount.com";

    private readonly WebApplication app;
    private readonly RSA key = RSA.Create(2048);
    private int issued;

    public string AccessToken { get; } = "ya29." + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));

    public Uri Url { get; private set; } = null!;

    /// <summary>The metadata server's address as <c>GCE_METADATA_HOST</c> names it.</summary>
    public string MetadataHost => $"{Url.Host}:{Url.Port}";

    public int TokensIssued => Volatile.Read(ref issued);

    public List<string> Refusals { get; } = [];

    private GoogleImitation()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls(Loopback.AnyPort);
        builder.Logging.ClearProviders();
        app = builder.Build();
        app.MapPost("/token", (Delegate)TokenAsync);
        app.MapPost("/v1/token", (Delegate)ExchangeAsync);
        app.MapGet("/computeMetadata/v1/instance/service-accounts/default/token", (HttpContext context) =>
            context.Request.Headers["Metadata-Flavor"].ToString() == "Google" ? Issue() : Refuse(403, "missing_header", "Missing Metadata-Flavor:Google header."));
    }

    public static async Task<GoogleImitation> StartAsync()
    {
        var imitation = new GoogleImitation();
        await imitation.app.StartAsync();
        imitation.Url = new Uri(Loopback.Address(imitation.app) + "/");
        return imitation;
    }

    public async ValueTask DisposeAsync()
    {
        await app.DisposeAsync();
        key.Dispose();
        FederatedKey.Dispose();
    }

    /// <summary>A service account's key file whose token endpoint is this imitation; <paramref name="signer"/> another key to forge one.</summary>
    public string KeyFile(RSA? signer = null) => JsonSerializer.Serialize(new Dictionary<string, string>
    {
        ["type"] = "service_account",
        ["project_id"] = "shop-project",
        ["private_key_id"] = "0123456789abcdef",
        ["private_key"] = (signer ?? key).ExportPkcs8PrivateKeyPem() + "\n",
        ["client_email"] = Account,
        ["client_id"] = "100000000000000000001",
        ["token_uri"] = new Uri(Url, "token").ToString(),
    });

    private async Task<IResult> TokenAsync(HttpContext context)
    {
        var form = await context.Request.ReadFormAsync();
        if (form["grant_type"] != "urn:ietf:params:oauth:grant-type:jwt-bearer")
        {
            return Refuse(400, "unsupported_grant_type", "Invalid grant_type");
        }
        using var claims = Jwt.Verified(form["assertion"].ToString(), key);
        if (claims is null)
        {
            return Refuse(400, "invalid_grant", "Invalid JWT Signature.");
        }
        var root = claims.RootElement;
        if (root.GetProperty("iss").GetString() != Account || root.GetProperty("aud").GetString() != "https://oauth2.googleapis.com/token")
        {
            return Refuse(400, "invalid_grant", $"Invalid JWT: the issuer ({root.GetProperty("iss").GetString()}) or audience ({root.GetProperty("aud").GetString()}) is wrong.");
        }
        if (DateTimeOffset.FromUnixTimeSeconds(root.GetProperty("exp").GetInt64()) <= DateTimeOffset.UtcNow)
        {
            return Refuse(400, "invalid_grant", "Invalid JWT: Token must be a short-lived token (60 minutes) and in a reasonable timeframe.");
        }
        if (!root.TryGetProperty("scope", out var scope) || !(scope.GetString() ?? "").Split(' ').Contains("https://www.googleapis.com/auth/cloud-platform"))
        {
            return Refuse(400, "invalid_scope", "Invalid OAuth scope or ID token audience provided.");
        }
        return Issue();
    }

    /// <summary>The key of the workload's own identity provider (such as a cluster's OIDC issuer) federated with Google.</summary>
    public RSA FederatedKey { get; } = RSA.Create(2048);

    public const string Audience = "//iam.googleapis.com/projects/123456789/locations/global/workloadIdentityPools/clusters/providers/prod";

    /// <summary>A workload identity federation file whose subject token is read from <paramref name="tokenFile"/>.</summary>
    public string ExternalAccountFile(string tokenFile) => JsonSerializer.Serialize(new Dictionary<string, object>
    {
        ["type"] = "external_account",
        ["audience"] = Audience,
        ["subject_token_type"] = "urn:ietf:params:oauth:token-type:jwt",
        ["token_url"] = new Uri(Url, "v1/token").ToString(),
        ["credential_source"] = new Dictionary<string, string> { ["file"] = tokenFile },
    });

    /// <summary>Google's security token service: a federated JWT for an access token (RFC 8693 token exchange).</summary>
    private async Task<IResult> ExchangeAsync(HttpContext context)
    {
        var form = await context.Request.ReadFormAsync();
        using var subject = form["grant_type"] == "urn:ietf:params:oauth:grant-type:token-exchange" ? Jwt.Verified(form["subject_token"], FederatedKey) : null;
        if (subject is null || form["audience"] != Audience)
        {
            return Refuse(400, "invalid_grant", "The subject token could not be verified for this provider.");
        }
        Interlocked.Increment(ref issued);
        return Results.Json(new Dictionary<string, object>
        {
            ["access_token"] = AccessToken, ["issued_token_type"] = "urn:ietf:params:oauth:token-type:access_token", ["token_type"] = "Bearer", ["expires_in"] = 3600,
        });
    }

    private IResult Issue()
    {
        Interlocked.Increment(ref issued);
        return Results.Json(new { access_token = AccessToken, expires_in = 3599, token_type = "Bearer" });
    }

    private IResult Refuse(int status, string error, string description)
    {
        lock (Refusals)
        {
            Refusals.Add(error);
        }
        return Results.Json(new { error, error_description = description }, statusCode: status);
    }
}
