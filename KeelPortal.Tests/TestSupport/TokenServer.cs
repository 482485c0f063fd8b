using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace KeelPortal.Tests.TestSupport;

/// <summary>
/// A Docker token service on a loopback port: checks Basic credentials and issues RS256 JWTs that Distribution
/// verifies against <see cref="CertificatePem"/> (the signing certificate travels in the token's x5c header).
/// </summary>
public sealed class TokenServer : IAsyncDisposable
{
    public const string Service = "keelportal-test-registry";
    public const string Issuer = "keelportal-test-issuer";

    private readonly RSA key = RSA.Create(2048);
    private readonly X509Certificate2 certificate;
    private readonly WebApplication app;
    private int requests;

    private TokenServer(string username, string password, int expiresIn)
    {
        var request = new CertificateRequest("CN=" + Issuer, key, HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddHours(-1), DateTimeOffset.UtcNow.AddDays(1));
        CertificatePem = certificate.ExportCertificatePem();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls(Loopback.AnyPort);
        builder.Logging.ClearProviders();
        app = builder.Build();
        app.MapGet("/token", (HttpContext context) =>
        {
            Interlocked.Increment(ref requests);
            if (!Authorized(context.Request.Headers.Authorization.ToString(), username, password))
            {
                return Results.Unauthorized();
            }
            var scopes = context.Request.Query["scope"].Where(s => !string.IsNullOrEmpty(s)).Select(s => s!).ToArray();
            var token = Issue(context.Request.Query["service"].ToString(), scopes, username, expiresIn);
            return Results.Json(new { token, access_token = token, expires_in = expiresIn, issued_at = DateTimeOffset.UtcNow.ToString("O") });
        });
    }

    public string Realm { get; private set; } = "";
    public string CertificatePem { get; }
    public int Requests => Volatile.Read(ref requests);

    public static async Task<TokenServer> StartAsync(string username, string password, int expiresIn = 300)
    {
        var server = new TokenServer(username, password, expiresIn);
        await server.app.StartAsync();
        server.Realm = Loopback.Address(server.app) + "/token";
        return server;
    }

    /// <summary>A token for the given scopes, as the registry's clients get it (the pusher uses it too).</summary>
    public string Issue(string service, IEnumerable<string> scopes, string subject, int expiresIn)
    {
        var now = DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var access = scopes.Select(scope => scope.Split(':')).Where(p => p.Length == 3)
            .Select(p => new { type = p[0], name = p[1], actions = p[2].Split(',') }).ToArray();
        var header = new Dictionary<string, object> { ["alg"] = "RS256", ["typ"] = "JWT", ["x5c"] = new[] { Convert.ToBase64String(certificate.RawData) } };
        var claims = new Dictionary<string, object>
        {
            ["iss"] = Issuer, ["sub"] = subject, ["aud"] = service, ["iat"] = now, ["nbf"] = now - 10, ["exp"] = now + expiresIn,
            ["jti"] = Guid.NewGuid().ToString("N"), ["access"] = access,
        };
        var signingInput = Base64Url(JsonSerializer.SerializeToUtf8Bytes(header)) + "." + Base64Url(JsonSerializer.SerializeToUtf8Bytes(claims));
        var signature = key.SignData(Encoding.ASCII.GetBytes(signingInput), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1);
        return signingInput + "." + Base64Url(signature);
    }

    public async ValueTask DisposeAsync()
    {
        await app.DisposeAsync();
        certificate.Dispose();
        key.Dispose();
    }

    private static bool Authorized(string header, string username, string password) =>
        header.StartsWith("Basic ", StringComparison.Ordinal) &&
        Encoding.UTF8.GetString(Convert.FromBase64String(header[6..])) == $"{username}:{password}";

    private static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
