using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace KeelPortal.Tests.TestSupport;

/// <summary>
/// A minimal OpenID Connect provider on a loopback port: discovery, keys, an authorize endpoint that signs in the
/// configured person at once, and a token endpoint issuing RS256 ID tokens (authorization code flow with PKCE).
/// </summary>
public sealed class OidcProvider : IAsyncDisposable
{
    public const string ClientId = "keelportal";
    public const string ClientSecret = "provider-client-secret";

    private static readonly string[] Code = ["code"];
    private static readonly string[] Public = ["public"];
    private static readonly string[] Rs256 = ["RS256"];
    private static readonly string[] S256 = ["S256"];

    private readonly WebApplication app;
    private readonly RSA key = RSA.Create(2048);
    private readonly ConcurrentDictionary<string, (string Nonce, string RedirectUri)> codes = new();

    private OidcProvider()
    {

        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls(Loopback.AnyPort);
        builder.Logging.ClearProviders();
        app = builder.Build();
        app.MapGet("/.well-known/openid-configuration", () => Results.Json(new Dictionary<string, object>
        {
            ["issuer"] = Issuer,
            ["authorization_endpoint"] = $"{Issuer}/authorize",
            ["token_endpoint"] = $"{Issuer}/token",
            ["jwks_uri"] = $"{Issuer}/jwks",
            ["response_types_supported"] = Code,
            ["subject_types_supported"] = Public,
            ["id_token_signing_alg_values_supported"] = Rs256,
            ["code_challenge_methods_supported"] = S256,
        }));
        app.MapGet("/jwks", () =>
        {
            var p = key.ExportParameters(false);
            return Results.Json(new { keys = new[] { new { kty = "RSA", use = "sig", alg = "RS256", kid = "test", n = B64(p.Modulus!), e = B64(p.Exponent!) } } });
        });
        app.MapGet("/authorize", (HttpContext c) =>
        {
            var code = Guid.NewGuid().ToString("N");
            codes[code] = (c.Request.Query["nonce"].ToString(), c.Request.Query["redirect_uri"].ToString());
            return Results.Redirect($"{c.Request.Query["redirect_uri"]}?code={code}&state={Uri.EscapeDataString(c.Request.Query["state"].ToString())}");
        });
        app.MapPost("/token", async (HttpContext c) =>
        {
            var form = await c.Request.ReadFormAsync();
            if (!codes.TryRemove(form["code"].ToString(), out var grant) || form["client_id"] != ClientId && !c.Request.Headers.Authorization.ToString().StartsWith("Basic", StringComparison.Ordinal))
            {
                return Results.Json(new { error = "invalid_grant" }, statusCode: 400);
            }
            return Results.Json(new { access_token = "opaque", token_type = "Bearer", expires_in = 300, id_token = IdToken(grant.Nonce) });
        });
    }

    public string Issuer { get; private set; } = "";

    /// <summary>Who the provider signs in next, and the groups it says they are in.</summary>
    public string UserName { get; set; } = "dana";

    public string[] Groups { get; set; } = [];

    public static async Task<OidcProvider> StartAsync()
    {
        var provider = new OidcProvider();
        await provider.app.StartAsync();
        provider.Issuer = Loopback.Address(provider.app);
        return provider;
    }

    public async ValueTask DisposeAsync()
    {
        await app.DisposeAsync();
        key.Dispose();
    }

    private string IdToken(string nonce)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var header = B64(JsonSerializer.SerializeToUtf8Bytes(new { alg = "RS256", typ = "JWT", kid = "test" }));
        var payload = B64(JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object>
        {
            ["iss"] = Issuer, ["aud"] = ClientId, ["sub"] = "id-" + UserName, ["iat"] = now, ["nbf"] = now, ["exp"] = now + 300,
            ["nonce"] = nonce, ["preferred_username"] = UserName, ["groups"] = Groups,
        }));
        var signature = key.SignData(Encoding.ASCII.GetBytes($"{header}.{payload}"), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        return $"{header}.{payload}.{B64(signature)}";
    }

    private static string B64(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
