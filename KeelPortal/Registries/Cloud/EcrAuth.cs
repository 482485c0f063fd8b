using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Amazon.Runtime.Internal.Auth;
using Microsoft.Extensions.Options;

namespace KeelPortal.Registries.Cloud;

/// <summary>
/// Amazon ECR: <c>&lt;account&gt;.dkr.ecr[-fips].&lt;region&gt;.amazonaws.com[.cn]</c>. A token comes from ECR's
/// <c>GetAuthorizationToken</c>, signed with Signature Version 4 (AWSSDK.Core's signer) with the keys of
/// <see cref="AwsCredentialChain"/>; it is <c>AWS:&lt;password&gt;</c> and lasts twelve hours.
/// </summary>
public sealed partial class EcrAuth(AwsCredentialChain chain, IOptions<RegistriesOptions> options, IHttpClientFactory http, TimeProvider time) : ICloudRegistryAuth
{
    public const string Target = "AmazonEC2ContainerRegistry_V20150921.GetAuthorizationToken";

    /// <summary>The account, whether FIPS, the region and whether in China, of an ECR host (null: not one).</summary>
    public static (string Account, bool Fips, string Region, bool China)? Parse(string host)
    {
        var match = EcrHost().Match(host);
        return match.Success ? (match.Groups[1].Value, match.Groups[2].Success, match.Groups[3].Value, match.Groups[4].Success) : null;
    }

    public bool Serves(string host) => Parse(host) is not null;

    public async Task<CloudAnswer> IssueAsync(string host, CancellationToken ct)
    {
        var (account, fips, region, china) = Parse(host) ?? throw new ArgumentException($"{host} is not an ECR registry", nameof(host));
        AwsKeys keys;
        try
        {
            keys = await chain.KeysAsync(region, ct);
        }
        catch (AwsChainException e)
        {
            return CloudAnswer.Failed(e.Failed, e.Message);
        }
        var endpoint = options.Value.Aws.EcrEndpoint
            ?? new Uri($"https://{(fips ? "ecr-fips" : "api.ecr")}.{region}.amazonaws.com{(china ? ".cn" : "")}/");
        var body = JsonSerializer.Serialize(new { registryIds = new[] { account } });
        using var request = Signed(endpoint, region, body, keys);
        try
        {
            using var response = await http.CreateClient(nameof(EcrAuth)).SendAsync(request, ct);
            var text = await response.Content.ReadAsStringAsync(ct);
            if (!response.IsSuccessStatusCode)
            {
                return CloudAnswer.Failed(keys.Source, Refusal((int)response.StatusCode, text, host));
            }
            using var json = JsonDocument.Parse(text);
            var data = json.RootElement.GetProperty("authorizationData")[0];
            var decoded = Encoding.UTF8.GetString(Convert.FromBase64String(data.GetProperty("authorizationToken").GetString()!));
            var colon = decoded.IndexOf(':', StringComparison.Ordinal);
            if (colon <= 0)
            {
                return CloudAnswer.Failed(keys.Source, "ECR answered GetAuthorizationToken with a token that is not user:password");
            }
            var expires = data.TryGetProperty("expiresAt", out var at) && at.ValueKind == JsonValueKind.Number
                ? DateTimeOffset.FromUnixTimeMilliseconds((long)(at.GetDouble() * 1000))
                : time.GetUtcNow().AddHours(12);
            return new CloudAnswer(new CloudToken(new RegistryCredential(decoded[..colon], decoded[(colon + 1)..], $"ECR, with {keys.Source}"), expires, keys.Source),
                null, keys.Source);
        }
        catch (Exception e) when (e is HttpRequestException or JsonException or FormatException or KeyNotFoundException or InvalidOperationException or IndexOutOfRangeException)
        {
            return CloudAnswer.Failed(keys.Source, $"ECR's GetAuthorizationToken at {endpoint.Host} gave no usable answer: {e.Message}");
        }
    }

    /// <summary>The request, signed as the AWS SDKs sign it: SigV4 over method, path, the signed headers and the body's hash.</summary>
    private HttpRequestMessage Signed(Uri endpoint, string region, string body, AwsKeys keys)
    {
        var signedAt = time.GetUtcNow().UtcDateTime;
        var amzDate = signedAt.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);
        var headers = new SortedDictionary<string, string>(StringComparer.Ordinal)
        {
            ["content-type"] = "application/x-amz-json-1.1",
            ["host"] = endpoint.IsDefaultPort ? endpoint.Host : $"{endpoint.Host}:{endpoint.Port}",
            ["x-amz-date"] = amzDate,
            ["x-amz-target"] = Target,
        };
        if (keys.Credentials.UseToken)
        {
            headers["x-amz-security-token"] = keys.Credentials.Token;
        }
        var signedHeaders = string.Join(';', headers.Keys);
        var canonical = string.Join('\n', "POST", endpoint.AbsolutePath, "", string.Concat(headers.Select(h => $"{h.Key}:{h.Value}\n")), signedHeaders,
            Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(body))));
        var signature = AWS4Signer.ComputeSignature(keys.Credentials, region, signedAt, "ecr", signedHeaders, canonical);
        var request = new HttpRequestMessage(HttpMethod.Post, endpoint) { Content = new StringContent(body, Encoding.UTF8) };
        request.Content.Headers.ContentType = new System.Net.Http.Headers.MediaTypeHeaderValue("application/x-amz-json-1.1");
        request.Headers.TryAddWithoutValidation("X-Amz-Date", amzDate);
        request.Headers.TryAddWithoutValidation("X-Amz-Target", Target);
        if (keys.Credentials.UseToken)
        {
            request.Headers.TryAddWithoutValidation("X-Amz-Security-Token", keys.Credentials.Token);
        }
        request.Headers.TryAddWithoutValidation("Authorization", signature.ForAuthorizationHeader);
        return request;
    }

    /// <summary>What ECR's refusal means for the person who must fix it.</summary>
    private static string Refusal(int status, string body, string host)
    {
        string? type = null, message = null;
        try
        {
            using var json = JsonDocument.Parse(body);
            type = json.RootElement.TryGetProperty("__type", out var t) ? t.GetString() : null;
            message = json.RootElement.TryGetProperty("message", out var m) || json.RootElement.TryGetProperty("Message", out m) ? m.GetString() : null;
        }
        catch (JsonException)
        {
        }
        var code = type?.Split('#').Last();
        var what = $"ECR refused GetAuthorizationToken ({status}{(code is null ? "" : $" {code}")}{(message is null ? "" : $": {Audit.LogText.Clean(message, 200)}")})";
        return code switch
        {
            "AccessDeniedException" => $"{what}; grant ecr:GetAuthorizationToken, and ecr:DescribeImages, ecr:ListImages, ecr:BatchGetImage on {host}'s repositories",
            "InvalidSignatureException" or "SignatureDoesNotMatch" => $"{what}; the secret key does not match the access key, or the clock is off",
            "UnrecognizedClientException" or "InvalidClientTokenId" => $"{what}; the access key is not known to AWS (deleted, or from another partition)",
            "ExpiredTokenException" => $"{what}; the session token has expired",
            _ => what,
        };
    }

    [GeneratedRegex(@"^(\d{12})\.dkr\.ecr(-fips)?\.([a-z]{2}(?:-[a-z]+)+-\d)\.amazonaws\.com(\.cn)?$", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex EcrHost();
}
