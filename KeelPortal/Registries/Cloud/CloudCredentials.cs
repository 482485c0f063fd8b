using System.Collections.Concurrent;

namespace KeelPortal.Registries.Cloud;

/// <summary>A registry credential a cloud issued, when it stops working, and which source gave it (never the secret).</summary>
public sealed record CloudToken(RegistryCredential Credential, DateTimeOffset ExpiresAt, string Source);

/// <summary>A cloud's answer: a token, or what failed, from which source, and what to grant or fix.</summary>
public sealed record CloudAnswer(CloudToken? Token, string? Problem, string Source)
{
    public static CloudAnswer Failed(string source, string problem) => new(null, problem, source);
}

/// <summary>One cloud's registries: which hosts it serves and how a token for one is obtained.</summary>
public interface ICloudRegistryAuth
{
    /// <summary>Whether <paramref name="host"/> is one of this cloud's registries (by its name alone).</summary>
    bool Serves(string host);

    /// <summary>A fresh token for <paramref name="host"/>; never throws except for cancellation.</summary>
    Task<CloudAnswer> IssueAsync(string host, CancellationToken ct);
}

/// <summary>What the Registries page shows of one cloud registry's credentials.</summary>
public sealed record CloudCredentialStatus(string Host, string Source, DateTimeOffset? ExpiresAt, DateTimeOffset? IssuedAt, string? Problem, DateTimeOffset? ProblemSince);

/// <summary>
/// Credentials from the cloud the portal runs in, for that cloud's registries (ECR, Artifact Registry and GCR, ACR):
/// the fourth source of a registry credential, after pull secrets and credentials stored in the portal. A token is
/// kept per registry until <see cref="RenewBefore"/> before it expires, so a steady poll asks the cloud nothing; a
/// failure is kept for the Registries page and the workloads' poll errors, and logged once per change.
/// </summary>
public sealed partial class CloudCredentials(IEnumerable<ICloudRegistryAuth> clouds, TimeProvider time, ILogger<CloudCredentials> logger)
{
    /// <summary>How long before its expiry a token is replaced.</summary>
    public static readonly TimeSpan RenewBefore = TimeSpan.FromMinutes(5);

    /// <summary>After a failure the cloud is asked again at most this often (a poll every few seconds must not hammer it).</summary>
    public static readonly TimeSpan RetryAfterFailure = TimeSpan.FromSeconds(30);

    private readonly ConcurrentDictionary<string, Entry> entries = new(StringComparer.OrdinalIgnoreCase);
    private readonly ConcurrentDictionary<string, SemaphoreSlim> gates = new(StringComparer.OrdinalIgnoreCase);

    private sealed record Entry(CloudToken? Token, DateTimeOffset? IssuedAt, string Source, string? Problem, DateTimeOffset? ProblemSince, DateTimeOffset? FailedAt);

    /// <summary>Whether some cloud serves this registry host.</summary>
    public bool Serves(string host) => clouds.Any(c => c.Serves(host));

    /// <summary>Every cloud registry asked for so far, with its source, expiry and last problem.</summary>
    public IReadOnlyList<CloudCredentialStatus> Statuses =>
        entries.OrderBy(e => e.Key, StringComparer.Ordinal)
            .Select(e => new CloudCredentialStatus(e.Key, e.Value.Source, e.Value.Token?.ExpiresAt, e.Value.IssuedAt, e.Value.Problem, e.Value.ProblemSince)).ToList();

    /// <summary>Which source failed and why, the last time this host's credentials were asked for (null: nothing, or not a cloud registry).</summary>
    public string? ProblemOf(string host) => entries.TryGetValue(host, out var entry) && entry.Problem is { } problem ? $"{entry.Source}: {problem}" : null;

    /// <summary>The credential for a cloud registry (null: not one, or its cloud gave none — <see cref="ProblemOf"/> says why).</summary>
    public async Task<RegistryCredential?> ForAsync(string host, CancellationToken ct)
    {
        if (clouds.FirstOrDefault(c => c.Serves(host)) is not { } cloud)
        {
            return null;
        }
        if (Fresh(host) is { } kept)
        {
            return kept;
        }
        var gate = gates.GetOrAdd(host, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(ct);
        try
        {
            // Another caller may have renewed it while this one waited.
            if (Fresh(host) is { } renewed)
            {
                return renewed;
            }
            var now = time.GetUtcNow();
            if (entries.TryGetValue(host, out var failed) && failed.FailedAt is { } at && now - at < RetryAfterFailure)
            {
                return failed.Token is { } old && old.ExpiresAt > now ? old.Credential : null;
            }
            var answer = await cloud.IssueAsync(host, ct);
            entries.TryGetValue(host, out var before);
            if (answer.Token is { } token)
            {
                entries[host] = new Entry(token, now, answer.Source, null, null, null);
                if (before?.Problem is not null || before is null)
                {
                    LogIssued(host, answer.Source, token.ExpiresAt);
                }
                return token.Credential;
            }
            var problem = answer.Problem ?? "the cloud gave no credentials";
            var since = before?.Problem == problem ? before.ProblemSince : now;
            // A token issued earlier keeps working until it expires.
            var keep = before?.Token is { } still && still.ExpiresAt > now ? still : null;
            entries[host] = new Entry(keep, before?.IssuedAt, answer.Source, problem, since, now);
            if (before?.Problem != problem)
            {
                LogFailed(host, answer.Source, problem);
            }
            return keep?.Credential;
        }
        finally
        {
            gate.Release();
        }
    }

    private RegistryCredential? Fresh(string host) =>
        entries.TryGetValue(host, out var entry) && entry.Token is { } token && token.ExpiresAt - RenewBefore > time.GetUtcNow() ? token.Credential : null;

    [LoggerMessage(Level = LogLevel.Information, Message = "Credentials for {Registry} from {Source}, valid until {ExpiresAt:u}")]
    private partial void LogIssued(string registry, string source, DateTimeOffset expiresAt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "No credentials for {Registry} from {Source}: {Problem}")]
    private partial void LogFailed(string registry, string source, string problem);
}
