using k8s.Models;
using KeelPortal.Policies;
using KeelPortal.Registries;

namespace KeelPortal.Workloads;

/// <summary>One container KeelPortal tracks: its image as written, the parsed reference, and the digests its pods run.</summary>
public sealed record TrackedContainer(
    string Name,
    bool IsInit,
    string Image,
    string? Repository,
    string? Tag,
    string? Digest,
    string? Error,
    IReadOnlyList<string> RunningDigests,
    string? PullPolicy = null);

/// <summary>A Helm chart reference to upgrade with: an OCI or repository chart, a path, with optional version and repository URL.</summary>
public sealed record ChartReference(string Chart, string? Version, string? Repository);

/// <summary>One revision of a Helm release as its storage lists it.</summary>
public sealed record ReleaseRevision(int Revision, string Status, string Chart, string? Updated);

/// <summary>Where one image lives in a Helm release's values: Keel's <c>images[]</c> entry (value paths).</summary>
public sealed record ReleaseImagePaths(string Repository, string? Tag, string? Digest);

/// <summary>
/// What a Helm release adds to its snapshot: chart, deployed revision, the storage driver, the chart's subcharts (a
/// stored release lacks them), the chart reference to upgrade with, the image value paths and the revision history.
/// </summary>
public sealed record ReleaseDetails(
    string Chart,
    string ChartVersion,
    string? AppVersion,
    int Revision,
    string Status,
    HelmDriver Driver,
    IReadOnlyList<string> Dependencies,
    ChartReference? ChartReference,
    IReadOnlyList<ReleaseImagePaths> Images,
    IReadOnlyList<ReleaseRevision> History);

/// <summary>
/// Everything the rest of the portal needs to know about a workload, computed from the cluster's objects alone:
/// its Keel settings, tracked containers, running digests, node platforms and every problem found.
/// </summary>
public sealed record WorkloadSnapshot(
    string Id,
    WorkloadKind Kind,
    string Namespace,
    string Name,
    string ResourceVersion,
    long Generation,
    string Policy,
    bool MatchTag,
    bool MatchPreRelease,
    TriggerKind Trigger,
    string? PollSchedule,
    int ApprovalsRequired,
    int ApprovalDeadlineHours,
    IReadOnlyList<string> NotifyChannels,
    string? ReleaseNotes,
    IReadOnlyList<string> PullSecrets,
    IReadOnlyList<TrackedContainer> Containers,
    IReadOnlyList<string> NodePlatforms,
    IReadOnlyList<string> Errors,
    IReadOnlyList<string> Warnings,
    ReleaseDetails? Release = null,
    string? PolicyWritten = null,
    string? ApprovalsWritten = null,
    bool RollbackAuto = false,
    TimeSpan? RollbackAfter = null,
    IReadOnlyList<string>? Windows = null,
    string? ForceUpdate = null,
    string? DeployedDigest = null)
{
    /// <summary>Tracked by a policy with no errors that stop updates.</summary>
    public bool IsTracked => Policy != "never" && Errors.Count == 0;

    /// <summary>The workload's policy, parsed again from the stored settings.</summary>
    public UpdatePolicy UpdatePolicy() =>
        Policies.UpdatePolicy.Parse(Policy, MatchTag ? "true" : "false", MatchPreRelease ? "true" : "false").Policy;

    /// <summary>The platforms of the nodes the workload's pods run on, which every candidate image must cover.</summary>
    public WorkloadPlatforms RequiredPlatforms() => WorkloadPlatforms.Of(
        NodePlatforms.Select(p => Platform.TryParse(p, out var parsed) ? parsed : null).Where(p => p is not null).Select(p => p!));

    public static WorkloadSnapshot Build(WorkloadObject workload, IEnumerable<V1Pod> pods, IReadOnlyDictionary<string, Platform> nodePlatforms)
    {
        var settings = KeelSettings.Read(workload.Labels, workload.Annotations);
        var errors = settings.Errors.ToList();
        var ownPods = pods.Where(p => Selects(workload.Selector, p.Metadata.Labels)).ToList();
        var containers = new List<TrackedContainer>();
        var spec = workload.Template.Spec;
        var all = (spec.InitContainers ?? []).Select(c => (c, true)).Concat((spec.Containers ?? []).Select(c => (c, false)));
        foreach (var (container, isInit) in all)
        {
            bool monitored;
            try
            {
                monitored = settings.Monitors(container.Name, isInit);
            }
            catch (System.Text.RegularExpressions.RegexMatchTimeoutException)
            {
                monitored = false;
                errors.Add($"keel.sh/monitorContainers: matching container {container.Name} took longer than {UntrustedPattern.Budget.TotalMilliseconds:0} ms; simplify the pattern");
            }
            if (monitored)
            {
                containers.Add(Track(container, isInit, ownPods));
            }
        }
        errors.AddRange(containers.Where(c => c.Error is not null).Select(c => $"container {c.Name}: {c.Error}"));
        var platforms = ownPods.Select(p => p.Spec?.NodeName).Where(n => n is not null).Distinct()
            .Select(n => nodePlatforms.GetValueOrDefault(n!)).Where(p => p is not null).Select(p => p!.ToString()).Distinct().Order(StringComparer.Ordinal).ToList();
        var secrets = new List<string>();
        if (settings.ImagePullSecret is { Length: > 0 } named)
        {
            secrets.Add(named);
        }
        secrets.AddRange((spec.ImagePullSecrets ?? []).Select(s => s.Name).Where(n => !string.IsNullOrEmpty(n) && !secrets.Contains(n)));
        return new WorkloadSnapshot(
            workload.Id, workload.Kind, workload.Namespace, workload.Name, workload.ResourceVersion, workload.Generation,
            settings.Policy.Name, settings.Policy.MatchTag, settings.Policy.MatchPreRelease, settings.Trigger, settings.PollSchedule,
            settings.ApprovalsRequired, (int)settings.ApprovalDeadline.TotalHours, settings.NotifyChannels, settings.ReleaseNotes,
            secrets, containers, platforms, errors, settings.Warnings, null, settings.PolicyWritten, settings.ApprovalsWritten,
            settings.RollbackAuto, settings.RollbackAfter, settings.Windows, settings.ForceUpdate,
            workload.Annotations.GetValueOrDefault("keel.sh/digest"));
    }

    /// <summary>
    /// A workload whose snapshot could not be computed: kept, untracked, with the reason, so one workload's content never
    /// stops discovery of the others.
    /// </summary>
    public static WorkloadSnapshot Unreadable(WorkloadObject workload, string reason) => new(
        workload.Id, workload.Kind, workload.Namespace, workload.Name, workload.ResourceVersion, workload.Generation,
        Policies.UpdatePolicy.Never.Name, false, false, TriggerKind.Webhook, null, 0, (int)KeelSettings.DefaultDeadline.TotalHours, [], null, [], [], [],
        [$"the workload's settings could not be read: {reason}"], []);

    private static TrackedContainer Track(V1Container container, bool isInit, List<V1Pod> pods)
    {
        var running = pods
            .SelectMany(p => (isInit ? p.Status?.InitContainerStatuses : p.Status?.ContainerStatuses) ?? [])
            .Where(s => s.Name == container.Name)
            .Select(s => DigestOf(s.ImageID))
            .Where(d => d is not null).Select(d => d!).Distinct().Order(StringComparer.Ordinal).ToList();
        if (!ImageReference.TryParse(container.Image, out var image, out var error))
        {
            return new TrackedContainer(container.Name, isInit, container.Image ?? "", null, null, null, error, running);
        }
        // As the API server defaults it: Always for :latest (or no tag), IfNotPresent otherwise.
        var pullPolicy = container.ImagePullPolicy is { Length: > 0 } set ? set : image.Digest is null && image.TagOrLatest == "latest" ? "Always" : "IfNotPresent";
        return new TrackedContainer(container.Name, isInit, container.Image!, image.Name, image.TagOrLatest, image.Digest, null, running, pullPolicy);
    }

    /// <summary>Pods report <c>docker-pullable://repo@sha256:…</c> or <c>repo@sha256:…</c>; the digest is what follows the @.</summary>
    private static string? DigestOf(string? imageId)
    {
        var at = imageId?.LastIndexOf('@') ?? -1;
        return at >= 0 ? imageId![(at + 1)..] : imageId?.StartsWith("sha256:", StringComparison.Ordinal) == true ? imageId : null;
    }

    /// <summary>Whether a workload's selector picks a pod with these labels (an empty selector picks nothing).</summary>
    internal static bool Selects(IReadOnlyDictionary<string, string> selector, IDictionary<string, string>? labels) =>
        selector.Count > 0 && labels is not null && selector.All(kv => labels.TryGetValue(kv.Key, out var v) && v == kv.Value);
}
