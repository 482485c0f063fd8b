using System.Collections.Concurrent;
using KeelPortal.Approvals;
using KeelPortal.Policies;
using KeelPortal.Registries;
using KeelPortal.Workloads;

namespace KeelPortal.Updates;

/// <summary>How far a version moves: a major jump is the one to read twice.</summary>
public enum VersionJump { Major, Minor, Patch, PreRelease, SameTag, Other }

/// <summary>One container's image before and after the update.</summary>
public sealed record ImageChange(string Container, string Before, string After);

/// <summary>What the registry says about an image: created, digest, and its OCI source, revision and version labels.</summary>
public sealed record ImageFacts(string? Digest, DateTimeOffset? Created, string? Source, string? Revision, string? Version, string? Error);

/// <summary>
/// Everything an approver needs beside the votes: the versions with the jump marked (digests when the tag stays the
/// same), the images before → after, the new image's facts, links to its source, a compare link between the running
/// and the new revision, and the workload's release notes.
/// </summary>
public sealed record ApprovalDetails(
    string From,
    string To,
    VersionJump Jump,
    IReadOnlyList<ImageChange> Changes,
    ImageFacts? NewImage,
    string? SourceUrl,
    string? CompareUrl,
    string? ReleaseNotesUrl,
    string? WorkloadPage)
{
    public static string Words(VersionJump jump) => jump switch
    {
        VersionJump.Major => "major version",
        VersionJump.Minor => "minor version",
        VersionJump.Patch => "patch",
        VersionJump.PreRelease => "pre-release",
        VersionJump.SameTag => "same tag, new digest",
        _ => "tag change",
    };
}

/// <summary>Builds <see cref="ApprovalDetails"/>; the registry is asked once per image digest and the answer kept.</summary>
public sealed class ApprovalPicture(WorkloadStore workloads, IRegistryClient registry, CredentialResolver credentials, TimeProvider time)
{
    private const int MaxKept = 2_000;
    private static readonly TimeSpan TagLifetime = TimeSpan.FromMinutes(10);
    private readonly ConcurrentDictionary<string, (ImageFacts Facts, DateTimeOffset At)> kept = new(StringComparer.Ordinal);

    public async Task<ApprovalDetails> DescribeAsync(Approval approval, CancellationToken ct = default)
    {
        var workload = await workloads.GetAsync(approval.WorkloadId, ct);
        var updates = ApprovalBook.ImagesOf(approval);
        var containers = workload?.Containers ?? [];
        var changes = updates.Select(u => new ImageChange(u.Container, containers.FirstOrDefault(c => c.Name == u.Container)?.Image ?? "(not running)", u.Image)).ToList();
        var running = containers.FirstOrDefault(c => updates.Any(u => u.Container == c.Name));
        var jump = JumpOf(approval.CurrentVersion, approval.NewVersion);
        var from = approval.CurrentVersion;
        var to = approval.NewVersion;
        if (jump == VersionJump.SameTag)
        {
            var runningDigest = running?.Digest ?? (running is { RunningDigests.Count: > 0 } ? running.RunningDigests[0] : null);
            from = WithDigest(from, runningDigest);
            to = WithDigest(to, approval.Digest);
        }
        ImageFacts? fresh = null;
        ImageFacts? current = null;
        if (workload is not null && ImageReference.TryParse(approval.Repository, out var repository, out _))
        {
            var credential = await credentials.ForAsync(workload, repository, ct);
            fresh = await FactsAsync(repository.WithTag(approval.NewVersion, approval.Digest), credential, ct);
            if (running?.Tag is { } tag)
            {
                current = await FactsAsync(repository.WithTag(tag, running.Digest), credential, ct);
            }
        }
        var source = SafeLink.Of(fresh?.Source);
        return new ApprovalDetails(from, to, jump, changes, fresh, source, CompareLink(source, current?.Revision, fresh?.Revision),
            SafeLink.Of(workload?.ReleaseNotes), workload is null ? null : WorkloadId.Page(workload.Id));
    }

    public static VersionJump JumpOf(string from, string to)
    {
        if (from == to)
        {
            return VersionJump.SameTag;
        }
        if (!KeelVersion.TryParse(from, out var a) || !KeelVersion.TryParse(to, out var b))
        {
            return VersionJump.Other;
        }
        return a.Major != b.Major ? VersionJump.Major
            : a.Minor != b.Minor ? VersionJump.Minor
            : a.Patch != b.Patch ? VersionJump.Patch
            : VersionJump.PreRelease;
    }

    /// <summary>The version an approval moves to, with its digest when the tag stays the same.</summary>
    public static string TargetOf(Approval approval) =>
        approval.CurrentVersion == approval.NewVersion ? WithDigest(approval.NewVersion, approval.Digest) : approval.NewVersion;

    /// <summary>Who voted what: <c>alice approved, bob rejected (“not on a Friday”)</c>.</summary>
    public static string VotesOf(Approval approval) => string.Join(", ", approval.Votes.OrderBy(v => v.CastAtUtc)
        .Select(v => $"{v.Voter} {(v.Approve ? "approved" : "rejected")}{(string.IsNullOrWhiteSpace(v.Comment) ? "" : $" (“{v.Comment}”)")}"));

    /// <summary><c>latest (sha256:ab12cd34…)</c>: a force update names the digests, or it would read "latest → latest".</summary>
    public static string WithDigest(string tag, string? digest) => digest is null ? tag : $"{tag} ({ImageReference.Abbreviated(digest)})";

    /// <summary>GitHub and GitLab compare pages between two revisions of the image's source repository.</summary>
    public static string? CompareLink(string? source, string? fromRevision, string? toRevision)
    {
        if (source is null || !Revision(fromRevision) || !Revision(toRevision) || fromRevision == toRevision)
        {
            return null;
        }
        var repository = source.EndsWith(".git", StringComparison.Ordinal) ? source[..^4] : source;
        var host = new Uri(repository).Host;
        return host == "github.com" ? $"{repository}/compare/{fromRevision}...{toRevision}"
            : host == "gitlab.com" || host.StartsWith("gitlab.", StringComparison.Ordinal) ? $"{repository}/-/compare/{fromRevision}...{toRevision}"
            : null;
    }

    private static bool Revision(string? text) =>
        text is { Length: > 0 and <= 64 } && text.All(c => char.IsAsciiLetterOrDigit(c) || c is '.' or '-' or '_');

    private async Task<ImageFacts> FactsAsync(ImageReference image, RegistryCredential? credential, CancellationToken ct)
    {
        var key = image.ToString();
        var now = time.GetUtcNow();
        if (kept.TryGetValue(key, out var known) && (image.Digest is not null || now - known.At < TagLifetime))
        {
            return known.Facts;
        }
        var info = await registry.GetImageInfoAsync(image, credential, ct);
        var facts = info.Succeeded
            ? new ImageFacts(info.Value!.Digest, info.Value.Created, info.Value.Source, info.Value.Revision, info.Value.Version, null)
            : new ImageFacts(image.Digest, null, null, null, null, info.Failure!.Reason);
        if (info.Succeeded)
        {
            if (kept.Count >= MaxKept)
            {
                kept.Clear();
            }
            kept[key] = (facts, now);
        }
        return facts;
    }
}
