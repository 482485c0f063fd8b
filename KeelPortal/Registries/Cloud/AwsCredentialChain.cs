using System.Text.Json;
using Amazon.Runtime;
using Amazon.SecurityToken;
using Amazon.SecurityToken.Model;
using Microsoft.Extensions.Options;

namespace KeelPortal.Registries.Cloud;

/// <summary><c>Registries:Aws</c>: what the AWS default chain cannot say by itself.</summary>
public sealed class AwsRegistryOptions
{
    /// <summary>A role to assume with the chain's credentials before asking ECR (the Keel chart's <c>ecr.roleArn</c>).</summary>
    public string? RoleArn { get; set; }

    /// <summary>The ECR API for every region (a VPC endpoint); unset: <c>https://api.ecr.&lt;region&gt;.amazonaws.com</c>.</summary>
    public Uri? EcrEndpoint { get; set; }

    /// <summary>The STS API (a VPC endpoint); unset: <c>https://sts.&lt;region&gt;.amazonaws.com</c>.</summary>
    public Uri? StsEndpoint { get; set; }
}

/// <summary>AWS credentials at one moment, with where they came from and until when they work (null: they do not expire).</summary>
public sealed record AwsKeys(ImmutableCredentials Credentials, string Source, DateTimeOffset? ExpiresAt);

/// <summary>
/// The AWS default credential chain as the AWS SDKs resolve it, in their order, read from the portal's configuration (so
/// from the environment): access keys (<c>AWS_ACCESS_KEY_ID</c>, <c>AWS_SECRET_ACCESS_KEY</c>, <c>AWS_SESSION_TOKEN</c>,
/// Keel's names too); a web identity (<c>AWS_ROLE_ARN</c> with <c>AWS_WEB_IDENTITY_TOKEN_FILE</c>: IRSA on EKS), the token
/// file read again for every exchange so a rotated token is used; the container credentials endpoint
/// (<c>AWS_CONTAINER_CREDENTIALS_FULL_URI</c> with its authorization token file: EKS Pod Identity); the node's
/// instance profile through the instance metadata service (IMDSv2; <c>AWS_EC2_METADATA_DISABLED=true</c> skips it). Then, when
/// <see cref="AwsRegistryOptions.RoleArn"/> is set, that role is assumed with them. Keys that expire are kept until
/// five minutes before they do.
/// </summary>
public sealed class AwsCredentialChain(IConfiguration configuration, IOptions<RegistriesOptions> options, IHttpClientFactory http, TimeProvider time) : IDisposable
{
    private const string NoCredentials = "no AWS credentials: set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or run with a service account bound to an IAM role " +
        "(IRSA: AWS_ROLE_ARN and AWS_WEB_IDENTITY_TOKEN_FILE) or an EKS Pod Identity association";

    private AwsKeys? kept;
    private readonly SemaphoreSlim gate = new(1, 1);

    public void Dispose() => gate.Dispose();

    /// <summary>The region STS is asked in: <c>AWS_REGION</c>, <c>AWS_DEFAULT_REGION</c>, else the registry's.</summary>
    public string Region(string registryRegion) => Setting("AWS_REGION") ?? Setting("AWS_DEFAULT_REGION") ?? registryRegion;

    /// <summary>Keys for <paramref name="region"/>, or an exception whose message says which source failed and what to fix.</summary>
    public async Task<AwsKeys> KeysAsync(string region, CancellationToken ct)
    {
        if (kept is { } keys && (keys.ExpiresAt is null || keys.ExpiresAt - CloudCredentials.RenewBefore > time.GetUtcNow()))
        {
            return keys;
        }
        await gate.WaitAsync(ct);
        try
        {
            var found = await ChainAsync(Region(region), ct);
            if (options.Value.Aws.RoleArn is { Length: > 0 } role)
            {
                found = await AssumeRoleAsync(found, role, Region(region), ct);
            }
            kept = found;
            return found;
        }
        finally
        {
            gate.Release();
        }
    }

    private string? Setting(string name) => configuration[name] is { Length: > 0 } value ? value.Trim() : null;

    private async Task<AwsKeys> ChainAsync(string region, CancellationToken ct)
    {
        if (Setting("AWS_ACCESS_KEY_ID") is { } id && Setting("AWS_SECRET_ACCESS_KEY") is { } secret)
        {
            return new AwsKeys(new ImmutableCredentials(id, secret, Setting("AWS_SESSION_TOKEN")), $"AWS access keys from the environment ({Mask(id)})", null);
        }
        if (Setting("AWS_ROLE_ARN") is { } roleArn && Setting("AWS_WEB_IDENTITY_TOKEN_FILE") is { } tokenFile)
        {
            return await WebIdentityAsync(roleArn, tokenFile, region, ct);
        }
        if (Setting("AWS_CONTAINER_CREDENTIALS_FULL_URI") is { } uri)
        {
            return await ContainerAsync(new Uri(uri), ct);
        }
        if (!string.Equals(Setting("AWS_EC2_METADATA_DISABLED"), "true", StringComparison.OrdinalIgnoreCase))
        {
            return await InstanceAsync(ct);
        }
        throw new AwsChainException("the AWS default chain", NoCredentials);
    }

    private async Task<AwsKeys> WebIdentityAsync(string roleArn, string tokenFile, string region, CancellationToken ct)
    {
        var source = $"web identity (IRSA) as {roleArn}";
        string token;
        try
        {
            token = (await File.ReadAllTextAsync(tokenFile, ct)).Trim();
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            throw new AwsChainException(source, $"the web identity token file {tokenFile} cannot be read: {e.Message}");
        }
        using var sts = Sts(new AnonymousAWSCredentials(), region);
        try
        {
            var answer = await sts.AssumeRoleWithWebIdentityAsync(new AssumeRoleWithWebIdentityRequest
            {
                RoleArn = roleArn,
                RoleSessionName = Setting("AWS_ROLE_SESSION_NAME") ?? "keelportal",
                WebIdentityToken = token,
            }, ct);
            return Keys(answer.Credentials, source);
        }
        catch (AmazonSecurityTokenServiceException e)
        {
            throw new AwsChainException(source, $"STS refused AssumeRoleWithWebIdentity ({e.ErrorCode}: {e.Message}); the role's trust policy must allow " +
                "sts:AssumeRoleWithWebIdentity for this service account through the cluster's OIDC provider");
        }
    }

    private async Task<AwsKeys> ContainerAsync(Uri uri, CancellationToken ct)
    {
        const string source = "EKS Pod Identity (the container credentials endpoint)";
        using var request = new HttpRequestMessage(HttpMethod.Get, uri);
        if (Setting("AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE") is { } tokenFile)
        {
            try
            {
                request.Headers.TryAddWithoutValidation("Authorization", (await File.ReadAllTextAsync(tokenFile, ct)).Trim());
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new AwsChainException(source, $"the authorization token file {tokenFile} cannot be read: {e.Message}");
            }
        }
        else if (Setting("AWS_CONTAINER_AUTHORIZATION_TOKEN") is { } token)
        {
            request.Headers.TryAddWithoutValidation("Authorization", token);
        }
        try
        {
            using var response = await http.CreateClient(nameof(AwsCredentialChain)).SendAsync(request, ct);
            if (!response.IsSuccessStatusCode)
            {
                throw new AwsChainException(source, $"{uri.Host} answered {(int)response.StatusCode} {response.ReasonPhrase}; is the pod's service account associated with an IAM role?");
            }
            using var json = JsonDocument.Parse(await response.Content.ReadAsStringAsync(ct));
            var root = json.RootElement;
            return new AwsKeys(new ImmutableCredentials(root.GetProperty("AccessKeyId").GetString(), root.GetProperty("SecretAccessKey").GetString(),
                root.TryGetProperty("Token", out var t) ? t.GetString() : null), source,
                root.TryGetProperty("Expiration", out var e) ? DateTimeOffset.Parse(e.GetString()!, System.Globalization.CultureInfo.InvariantCulture) : null);
        }
        catch (Exception e) when (e is HttpRequestException or JsonException or KeyNotFoundException or FormatException or InvalidOperationException)
        {
            throw new AwsChainException(source, $"the credentials endpoint {uri.Host} gave no usable answer: {e.Message}");
        }
    }

    /// <summary>The node's instance profile through the instance metadata service (IMDSv2: a session token first).</summary>
    private async Task<AwsKeys> InstanceAsync(CancellationToken ct)
    {
        var imds = new Uri((Setting("AWS_EC2_METADATA_SERVICE_ENDPOINT") ?? "http://169.254.169.254").TrimEnd('/') + "/");
        const string source = "the node's instance profile (EC2 instance metadata)";
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(2));
        var client = http.CreateClient(nameof(AwsCredentialChain));
        try
        {
            using var session = new HttpRequestMessage(HttpMethod.Put, new Uri(imds, "latest/api/token"));
            session.Headers.TryAddWithoutValidation("X-aws-ec2-metadata-token-ttl-seconds", "21600");
            using var sessionAnswer = await client.SendAsync(session, timeout.Token);
            sessionAnswer.EnsureSuccessStatusCode();
            var token = await sessionAnswer.Content.ReadAsStringAsync(timeout.Token);
            async Task<string> GetAsync(string path)
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(imds, path));
                request.Headers.TryAddWithoutValidation("X-aws-ec2-metadata-token", token);
                using var answer = await client.SendAsync(request, timeout.Token);
                answer.EnsureSuccessStatusCode();
                return await answer.Content.ReadAsStringAsync(timeout.Token);
            }
            var role = (await GetAsync("latest/meta-data/iam/security-credentials/")).Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).FirstOrDefault()
                ?? throw new AwsChainException(source, "the instance has no IAM role (instance profile)");
            using var json = JsonDocument.Parse(await GetAsync($"latest/meta-data/iam/security-credentials/{Uri.EscapeDataString(role)}"));
            var root = json.RootElement;
            return new AwsKeys(new ImmutableCredentials(root.GetProperty("AccessKeyId").GetString(), root.GetProperty("SecretAccessKey").GetString(),
                root.TryGetProperty("Token", out var t) ? t.GetString() : null), $"{source}, role {role}",
                root.TryGetProperty("Expiration", out var e) ? DateTimeOffset.Parse(e.GetString()!, System.Globalization.CultureInfo.InvariantCulture) : null);
        }
        catch (Exception e) when (e is HttpRequestException or JsonException or KeyNotFoundException or FormatException or InvalidOperationException
            || (e is OperationCanceledException && !ct.IsCancellationRequested))
        {
            throw new AwsChainException("the AWS default chain", $"{NoCredentials}, or on a node whose instance profile may read ECR (instance metadata: {e.Message})");
        }
    }

    private async Task<AwsKeys> AssumeRoleAsync(AwsKeys from, string roleArn, string region, CancellationToken ct)
    {
        var source = $"{from.Source}, then the role {roleArn}";
        using var sts = Sts(from.Credentials.UseToken
            ? new SessionAWSCredentials(from.Credentials.AccessKey, from.Credentials.SecretKey, from.Credentials.Token)
            : new BasicAWSCredentials(from.Credentials.AccessKey, from.Credentials.SecretKey), region);
        try
        {
            var answer = await sts.AssumeRoleAsync(new AssumeRoleRequest { RoleArn = roleArn, RoleSessionName = "keelportal" }, ct);
            return Keys(answer.Credentials, source);
        }
        catch (AmazonSecurityTokenServiceException e)
        {
            throw new AwsChainException(source, $"STS refused AssumeRole ({e.ErrorCode}: {e.Message}); grant sts:AssumeRole on {roleArn} to the identity above, " +
                "and let the role's trust policy name it");
        }
    }

    private AmazonSecurityTokenServiceClient Sts(AWSCredentials credentials, string region) =>
        new(credentials, new AmazonSecurityTokenServiceConfig
        {
            ServiceURL = (options.Value.Aws.StsEndpoint ?? new Uri($"https://sts.{region}.amazonaws.com{(region.StartsWith("cn-", StringComparison.Ordinal) ? ".cn" : "")}")).ToString(),
            AuthenticationRegion = region,
            MaxErrorRetry = 0,
        });

    private static AwsKeys Keys(Credentials credentials, string source) =>
        new(new ImmutableCredentials(credentials.AccessKeyId, credentials.SecretAccessKey, credentials.SessionToken), source,
            credentials.Expiration is { } expires ? new DateTimeOffset(DateTime.SpecifyKind(expires, DateTimeKind.Utc)) : null);

    /// <summary>An access key id shown as its first four and last four characters.</summary>
    private static string Mask(string id) => id.Length > 8 ? $"{id[..4]}…{id[^4..]}" : "…";
}

/// <summary>A source of AWS credentials that failed, and what to fix.</summary>
public sealed class AwsChainException(string source, string message) : Exception(message)
{
    public string Failed { get; } = source;
}
