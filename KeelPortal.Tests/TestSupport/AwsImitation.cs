using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace KeelPortal.Tests.TestSupport;

/// <summary>
/// ECR's <c>GetAuthorizationToken</c> and STS's <c>AssumeRoleWithWebIdentity</c> and <c>AssumeRole</c> on a loopback port,
/// checking what AWS checks: every signed request's Signature Version 4 is recomputed from the request as it arrived
/// (canonical request, credential scope with this region and the service, a date within 15 minutes, the secret of the
/// access key, a session token that belongs to it); a web identity token must be an RS256 JWT signed by the cluster's
/// OIDC key, for <c>sts.amazonaws.com</c>, not expired. What it issues: temporary keys, and ECR's <c>AWS:&lt;password&gt;</c>
/// that the real registry's htpasswd accepts.
/// </summary>
public sealed class AwsImitation : IAsyncDisposable
{
    public const string Region = "us-east-1";
    public const string AccessKey = "AKIAIOSFODNN7EXAMPLE";
    public const string SecretKey = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
    public const string WebIdentityRole = "arn:aws:iam::123456789012:role/keelportal-ecr";

    private readonly WebApplication app;
    private readonly ConcurrentDictionary<string, (string Secret, string? Session)> keys = new(StringComparer.Ordinal);
    private int tokens;

    /// <summary>The key of the cluster's OIDC provider that signs service-account tokens.</summary>
    public RSA OidcKey { get; } = RSA.Create(2048);

    /// <summary>The ECR password every issued token carries (the registry's htpasswd accepts <c>AWS</c> with it).</summary>
    public string EcrPassword { get; } = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(24));

    public Uri Url { get; private set; } = null!;

    /// <summary>The node's instance profile role, as the instance metadata service names it.</summary>
    public const string NodeRole = "eks-node-group-role";

    private readonly string imdsSession = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));

    /// <summary>The token EKS projects for Pod Identity (its agent checks it).</summary>
    public string PodIdentityToken { get; } = "eks-pod-identity-" + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16));

    /// <summary>The role <c>AssumeRole</c> grants, to keys it knows.</summary>
    public const string AssumableRole = "arn:aws:iam::123456789012:role/keelportal-ecr-reader";

    /// <summary>How many ECR tokens were issued.</summary>
    public int TokensIssued => Volatile.Read(ref tokens);

    /// <summary>Every refusal, with AWS's error code, in order.</summary>
    public ConcurrentQueue<string> Refusals { get; } = new();

    private AwsImitation()
    {
        keys[AccessKey] = (SecretKey, null);
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls(Loopback.AnyPort);
        builder.Logging.ClearProviders();
        app = builder.Build();
        app.MapPost("/", (Delegate)HandleAsync);
        // The instance metadata service (IMDSv2): a session token first, then the instance profile's role and its keys.
        app.MapPut("/latest/api/token", (HttpContext context) => context.Request.Headers["X-aws-ec2-metadata-token-ttl-seconds"].Count == 0
            ? Results.StatusCode(400) : Results.Text(imdsSession));
        app.MapGet("/latest/meta-data/iam/security-credentials/", (HttpContext context) =>
            context.Request.Headers["X-aws-ec2-metadata-token"] == imdsSession ? Results.Text(NodeRole) : Results.StatusCode(401));
        app.MapGet("/latest/meta-data/iam/security-credentials/{role}", (string role, HttpContext context) =>
        {
            if (context.Request.Headers["X-aws-ec2-metadata-token"] != imdsSession || role != NodeRole)
            {
                return Results.StatusCode(context.Request.Headers["X-aws-ec2-metadata-token"] != imdsSession ? 401 : 404);
            }
            var (id, secret, session) = NewKeys();
            return Results.Json(new Dictionary<string, string>
            {
                ["Code"] = "Success", ["Type"] = "AWS-HMAC", ["AccessKeyId"] = id, ["SecretAccessKey"] = secret, ["Token"] = session,
                ["Expiration"] = DateTimeOffset.UtcNow.AddHours(6).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
            });
        });
        // EKS Pod Identity's agent: the pod's projected token in Authorization, temporary keys back.
        app.MapGet("/v1/credentials", (HttpContext context) =>
        {
            if (context.Request.Headers.Authorization.ToString() != PodIdentityToken)
            {
                return Refuse(401, "AccessDeniedException", "invalid authorization token", xml: false);
            }
            var (id, secret, session) = NewKeys();
            return Results.Json(new Dictionary<string, string>
            {
                ["AccessKeyId"] = id, ["SecretAccessKey"] = secret, ["Token"] = session, ["AccountId"] = "123456789012",
                ["Expiration"] = DateTimeOffset.UtcNow.AddHours(1).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture),
            });
        });
    }

    public static async Task<AwsImitation> StartAsync()
    {
        var imitation = new AwsImitation();
        await imitation.app.StartAsync();
        imitation.Url = new Uri(Loopback.Address(imitation.app) + "/");
        return imitation;
    }

    public async ValueTask DisposeAsync()
    {
        await app.DisposeAsync();
        OidcKey.Dispose();
    }

    /// <summary>A service-account token as the cluster would project it: RS256, for STS, expiring after <paramref name="lifetime"/>.</summary>
    public string ServiceAccountToken(TimeSpan lifetime, string audience = "sts.amazonaws.com", RSA? signer = null)
    {
        var now = DateTimeOffset.UtcNow;
        return Jwt.Sign(new { iss = "https://oidc.eks.example", sub = "system:serviceaccount:keelportal:keelportal", aud = audience, iat = now.ToUnixTimeSeconds(), exp = now.Add(lifetime).ToUnixTimeSeconds() },
            signer ?? OidcKey);
    }

    private async Task<IResult> HandleAsync(HttpContext context)
    {
        using var reader = new StreamReader(context.Request.Body, Encoding.UTF8);
        var body = await reader.ReadToEndAsync();
        if (context.Request.Headers["X-Amz-Target"].ToString() == KeelPortal.Registries.Cloud.EcrAuth.Target)
        {
            return Verify(context, body, "ecr") is { } refused ? refused : Ecr();
        }
        var form = body.Split('&', StringSplitOptions.RemoveEmptyEntries).Select(p => p.Split('=', 2))
            .ToDictionary(p => Uri.UnescapeDataString(p[0].Replace('+', ' ')), p => p.Length > 1 ? Uri.UnescapeDataString(p[1].Replace('+', ' ')) : "", StringComparer.Ordinal);
        return form.GetValueOrDefault("Action") switch
        {
            "AssumeRoleWithWebIdentity" => WebIdentity(form),
            "AssumeRole" => Verify(context, body, "sts") is { } refused ? refused
                : form.GetValueOrDefault("RoleArn") != AssumableRole ? Refuse(403, "AccessDenied", "User is not authorized to perform: sts:AssumeRole", xml: true)
                : Issue("AssumeRole", AssumableRole),
            var other => Refuse(400, "InvalidAction", $"unknown action {other}", xml: true),
        };
    }

    private IResult Ecr()
    {
        Interlocked.Increment(ref tokens);
        var token = Convert.ToBase64String(Encoding.UTF8.GetBytes($"AWS:{EcrPassword}"));
        return Results.Json(new
        {
            authorizationData = new[]
            {
                new { authorizationToken = token, expiresAt = DateTimeOffset.UtcNow.AddHours(12).ToUnixTimeMilliseconds() / 1000.0, proxyEndpoint = "https://123456789012.dkr.ecr.us-east-1.amazonaws.com" },
            },
        });
    }

    private IResult WebIdentity(Dictionary<string, string> form)
    {
        using var claims = Jwt.Verified(form.GetValueOrDefault("WebIdentityToken"), OidcKey);
        if (claims is null)
        {
            return Refuse(400, "InvalidIdentityToken", "Couldn't verify the token's signature with the OIDC provider's keys", xml: true);
        }
        if (claims.RootElement.GetProperty("aud").GetString() != "sts.amazonaws.com")
        {
            return Refuse(400, "InvalidIdentityToken", "Incorrect token audience", xml: true);
        }
        if (DateTimeOffset.FromUnixTimeSeconds(claims.RootElement.GetProperty("exp").GetInt64()) <= DateTimeOffset.UtcNow)
        {
            return Refuse(400, "ExpiredTokenException", "Token expired", xml: true);
        }
        if (form.GetValueOrDefault("RoleArn") != WebIdentityRole)
        {
            return Refuse(403, "AccessDenied", "Not authorized to perform sts:AssumeRoleWithWebIdentity", xml: true);
        }
        return Issue("AssumeRoleWithWebIdentity", WebIdentityRole);
    }

    /// <summary>Temporary keys for an assumed role, in STS's XML.</summary>
    private IResult Issue(string action, string role)
    {
        var (id, secret, session) = NewKeys();
        var expires = DateTimeOffset.UtcNow.AddHours(1).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);
        var xml = $"""
            <{action}Response xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
              <{action}Result>
                <Credentials>
                  <AccessKeyId>{id}</AccessKeyId>
                  <SecretAccessKey>{secret}</SecretAccessKey>
                  <SessionToken>{session}</SessionToken>
                  <Expiration>{expires}</Expiration>
                </Credentials>
                <AssumedRoleUser><Arn>{role}/keelportal</Arn><AssumedRoleId>AROA0000000000000000:keelportal</AssumedRoleId></AssumedRoleUser>
              </{action}Result>
              <ResponseMetadata><RequestId>{Guid.NewGuid()}</RequestId></ResponseMetadata>
            </{action}Response>
            """;
        return Results.Text(xml, "text/xml");
    }

    private (string Id, string Secret, string Session) NewKeys()
    {
        var id = "ASIA" + Convert.ToHexString(RandomNumberGenerator.GetBytes(8));
        var secret = Convert.ToBase64String(RandomNumberGenerator.GetBytes(30));
        var session = Convert.ToBase64String(RandomNumberGenerator.GetBytes(48));
        keys[id] = (secret, session);
        return (id, secret, session);
    }

    /// <summary>Signature Version 4, recomputed from the request as it arrived; null when it holds.</summary>
    private IResult? Verify(HttpContext context, string body, string service)
    {
        var xml = service != "ecr";
        var authorization = context.Request.Headers.Authorization.ToString();
        if (!authorization.StartsWith("AWS4-HMAC-SHA256 ", StringComparison.Ordinal))
        {
            return Refuse(400, "MissingAuthenticationTokenException", "Missing Authentication Token", xml);
        }
        var fields = authorization["AWS4-HMAC-SHA256 ".Length..].Split(',', StringSplitOptions.TrimEntries)
            .Select(f => f.Split('=', 2)).ToDictionary(f => f[0], f => f.Length > 1 ? f[1] : "", StringComparer.Ordinal);
        var scope = fields.GetValueOrDefault("Credential", "").Split('/');
        if (scope.Length != 5 || !keys.TryGetValue(scope[0], out var key))
        {
            return Refuse(403, "UnrecognizedClientException", "The security token included in the request is invalid.", xml);
        }
        if (scope[2] != Region || scope[3] != service || scope[4] != "aws4_request")
        {
            return Refuse(403, "InvalidSignatureException", $"Credential should be scoped to a valid region and service: {Region}/{service}", xml);
        }
        var amzDate = context.Request.Headers["X-Amz-Date"].ToString();
        if (!DateTime.TryParseExact(amzDate, "yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var signedAt)
            || scope[1] != amzDate[..8])
        {
            return Refuse(400, "IncompleteSignatureException", "X-Amz-Date is missing or does not match the credential scope", xml);
        }
        if ((DateTime.UtcNow - signedAt).Duration() > TimeSpan.FromMinutes(15))
        {
            return Refuse(403, "InvalidSignatureException", $"Signature expired: {amzDate} is now earlier or later than the server's time by more than 15 minutes", xml);
        }
        if (key.Session is { } session && context.Request.Headers["X-Amz-Security-Token"].ToString() != session)
        {
            return Refuse(403, "UnrecognizedClientException", "The security token included in the request is invalid.", xml);
        }
        var signedHeaders = fields.GetValueOrDefault("SignedHeaders", "");
        var canonicalHeaders = string.Concat(signedHeaders.Split(';').Select(h =>
            $"{h}:{string.Join(',', (h == "host" ? context.Request.Host.Value ?? "" : context.Request.Headers[h].ToString()).Split(',').Select(v => string.Join(' ', v.Split(' ', StringSplitOptions.RemoveEmptyEntries))))}\n"));
        var query = string.Join('&', context.Request.Query.OrderBy(q => q.Key, StringComparer.Ordinal)
            .Select(q => $"{Uri.EscapeDataString(q.Key)}={Uri.EscapeDataString(q.Value.ToString())}"));
        var canonical = string.Join('\n', context.Request.Method, context.Request.Path.HasValue ? context.Request.Path.Value : "/", query, canonicalHeaders, signedHeaders, Hex(SHA256.HashData(Encoding.UTF8.GetBytes(body))));
        var stringToSign = string.Join('\n', "AWS4-HMAC-SHA256", amzDate, string.Join('/', scope[1..]), Hex(SHA256.HashData(Encoding.UTF8.GetBytes(canonical))));
        var signingKey = new[] { scope[1], scope[2], scope[3], "aws4_request" }.Aggregate(Encoding.UTF8.GetBytes("AWS4" + key.Secret), (k, part) => HMACSHA256.HashData(k, Encoding.UTF8.GetBytes(part)));
        var expected = Hex(HMACSHA256.HashData(signingKey, Encoding.UTF8.GetBytes(stringToSign)));
        return CryptographicOperations.FixedTimeEquals(Encoding.ASCII.GetBytes(expected), Encoding.ASCII.GetBytes(fields.GetValueOrDefault("Signature", "")))
            ? null
            : Refuse(403, "InvalidSignatureException", "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method.", xml);
    }

    private IResult Refuse(int status, string code, string message, bool xml)
    {
        Refusals.Enqueue(code);
        return xml
            ? Results.Text($"""<ErrorResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/"><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error><RequestId>{Guid.NewGuid()}</RequestId></ErrorResponse>""", "text/xml", statusCode: status)
            : Results.Json(new Dictionary<string, string> { ["__type"] = code, ["message"] = message }, statusCode: status, contentType: "application/x-amz-json-1.1");
    }

    private static string Hex(byte[] bytes) => Convert.ToHexStringLower(bytes);
}
