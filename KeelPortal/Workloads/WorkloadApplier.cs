using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;

namespace KeelPortal.Workloads;

/// <summary>
/// How an apply ended. <see cref="ApiError"/>, <see cref="NoCluster"/> and <see cref="Busy"/> (someone else is changing
/// the workload right now, such as another Helm operation in progress) are tried again.
/// <see cref="Superseded"/>: at the moment of the write the target was no longer an update of what the workload runs.
/// <see cref="ClaimLost"/>: the apply's claim was taken over (it ran past its lease) before the write; nothing was written.
/// </summary>
public enum ApplyOutcome { Applied, AlreadyAtTarget, WorkloadGone, Forbidden, ConflictGaveUp, ApiError, Invalid, NoCluster, Busy, Superseded, ClaimLost }

/// <summary>A new image for one container: <c>repo:tag</c>, or <c>repo:tag@sha256:…</c> to pin a mutable tag's digest.</summary>
public sealed record ImageUpdate(string Container, string Image);

/// <summary>
/// What to write. With <paramref name="OnlyForward"/> (every update but a rollback) the provider decides again, against
/// what the workload runs at the moment of the write and under its policy then, that the target is still an update:
/// one that is not ends <see cref="ApplyOutcome.Superseded"/> and is never written.
/// </summary>
public sealed record ApplyRequest(
    string WorkloadId, IReadOnlyList<ImageUpdate> Images, string FromVersion, string ToVersion, string? Digest = null, bool OnlyForward = false)
{
    /// <summary>
    /// The fence: asked right before each write to the cluster (it renews the apply's claim); false means the claim was
    /// taken over and the provider must not write. Null: no claim to check.
    /// </summary>
    public Func<CancellationToken, Task<bool>>? Fence { get; init; }

    /// <summary>Null when the claim still holds (or there is none), else the ClaimLost result.</summary>
    public async Task<ApplyResult?> FencedOffAsync(CancellationToken ct) =>
        Fence is { } fence && !await fence(ct) ? new(ApplyOutcome.ClaimLost, $"the apply of {WorkloadId} was taken over by another applier before it wrote") : null;

    /// <summary>Null when the write may go ahead from <paramref name="running"/>, else the Superseded result.</summary>
    public ApplyResult? Backwards(Policies.UpdatePolicy policy, string running, long? generation = null) =>
        OnlyForward && Policies.TagChooser.WhyNotForward(policy, running, ToVersion) is { } why
            ? new(ApplyOutcome.Superseded, $"{WorkloadId} runs {running} now and {ToVersion} is no longer an update of it: {why}", generation, running)
            : null;
}

/// <summary>
/// How an apply ended; <see cref="Generation"/> is what the rollout tracker waits for, <see cref="FromVersion"/> the
/// version the object held when the patch was computed (which may differ from the one the proposal saw).
/// </summary>
public sealed record ApplyResult(ApplyOutcome Outcome, string Reason, long? Generation = null, string? FromVersion = null)
{
    /// <summary>The workloads whose rollouts to follow when they are not the applied object itself (a Helm release's).</summary>
    public IReadOnlyList<(string WorkloadId, long Generation)>? Follow { get; init; }

    public bool Changed => Outcome == ApplyOutcome.Applied;
}

/// <summary>
/// Changes a workload's container images and nothing else: one strategic merge patch carrying the resourceVersion
/// it was computed from (a newer object is a conflict: re-read and retry, bounded), plus the annotations Keel writes.
/// Never replaces the object, so GitOps tools see only the fields KeelPortal owns change.
/// </summary>
public sealed partial class WorkloadApplier(
    ClusterConnection connection,
    WorkloadCatalog catalog,
    IOptions<WorkloadsOptions> options,
    TimeProvider time,
    ILogger<WorkloadApplier> logger)
{
    public async Task<ApplyResult> ApplyAsync(ApplyRequest request, CancellationToken ct = default)
    {
        if (!WorkloadId.TryParse(request.WorkloadId, out var kind, out var ns, out var name))
        {
            return new(ApplyOutcome.Invalid, $"'{request.WorkloadId}' is not a workload identifier such as deployment/default/web");
        }
        if (request.Images.Count == 0)
        {
            return new(ApplyOutcome.Invalid, "no image to change");
        }
        if (connection.Client is not { } client)
        {
            return new(ApplyOutcome.NoCluster, connection.Status.Message);
        }
        try
        {
            var current = catalog.Find(request.WorkloadId) ?? await client.GetAsync(kind, ns, name, ct);
            for (var attempt = 1; attempt <= options.Value.MaxConflictRetries; attempt++)
            {
                if (current is null)
                {
                    return new(ApplyOutcome.WorkloadGone, $"{request.WorkloadId} no longer exists");
                }
                if (Check(current, request) is { } early)
                {
                    return early;
                }
                var from = RunningVersion(current, request) ?? request.FromVersion;
                // Decided against the same read whose resourceVersion the patch carries: if the object moved since, the
                // patch is a conflict and this check runs again on the fresh read.
                if (request.Backwards(KeelSettings.Read(current.Labels, current.Annotations).Policy, from, current.Generation) is { } superseded)
                {
                    return superseded;
                }
                if (await request.FencedOffAsync(ct) is { } lost)
                {
                    return lost;
                }
                try
                {
                    var patched = await client.PatchAsync(kind, ns, name, Patch(current, request, from), ct);
                    LogApplied(request.WorkloadId, from, request.ToVersion, patched.Generation);
                    return new(ApplyOutcome.Applied, $"{request.WorkloadId} updated {from} -> {request.ToVersion}", patched.Generation, from);
                }
                catch (KubernetesApiException e) when (e.Status == 409)
                {
                    LogConflict(request.WorkloadId, attempt);
                    current = await client.GetAsync(kind, ns, name, ct);
                }
            }
            return new(ApplyOutcome.ConflictGaveUp,
                $"{request.WorkloadId} kept changing under the update; gave up after {options.Value.MaxConflictRetries} attempts");
        }
        catch (KubernetesApiException e)
        {
            return Refused(request.WorkloadId, e);
        }
    }

    private static ApplyResult Refused(string workloadId, KubernetesApiException e) => e.Status switch
    {
        404 => new(ApplyOutcome.WorkloadGone, $"{workloadId} no longer exists"),
        403 => new(ApplyOutcome.Forbidden, $"KeelPortal may not update {workloadId}: {e.Message}"),
        0 => new(ApplyOutcome.ApiError, $"the cluster could not be reached: {e.Message}"),
        _ => new(ApplyOutcome.ApiError, $"the API server refused the update of {workloadId} ({e.Status}): {e.Message}"),
    };

    /// <summary>Invalid when a container does not exist; already at target when every image (and digest) matches.</summary>
    private static ApplyResult? Check(WorkloadObject current, ApplyRequest request)
    {
        var spec = current.Template.Spec;
        var images = (spec.Containers ?? []).Concat(spec.InitContainers ?? []).ToDictionary(c => c.Name, c => c.Image, StringComparer.Ordinal);
        var missing = request.Images.Where(u => !images.ContainsKey(u.Container)).Select(u => u.Container).ToList();
        if (missing.Count > 0)
        {
            return new(ApplyOutcome.Invalid, $"{current.Id} has no container named {string.Join(", ", missing)}");
        }
        var imagesMatch = request.Images.All(u => images[u.Container] == u.Image);
        var digestMatches = request.Digest is null || current.Annotations.GetValueOrDefault("keel.sh/digest") == request.Digest;
        return imagesMatch && digestMatches
            ? new(ApplyOutcome.AlreadyAtTarget, $"{current.Id} already runs {string.Join(", ", request.Images.Select(u => u.Image))}", current.Generation)
            : null;
    }

    /// <summary>The tag the first container to change runs in <paramref name="current"/>: the version the update starts from.</summary>
    private static string? RunningVersion(WorkloadObject current, ApplyRequest request)
    {
        var spec = current.Template.Spec;
        var image = (spec.Containers ?? []).Concat(spec.InitContainers ?? []).FirstOrDefault(c => c.Name == request.Images[0].Container)?.Image;
        return Registries.ImageReference.TryParse(image, out var reference, out _) ? reference.TagOrLatest : null;
    }

    private string Patch(WorkloadObject current, ApplyRequest request, string from)
    {
        var spec = current.Template.Spec;
        var initNames = (spec.InitContainers ?? []).Select(c => c.Name).ToHashSet(StringComparer.Ordinal);
        var podSpec = new JsonObject();
        var containers = request.Images.Where(u => !initNames.Contains(u.Container)).ToList();
        var inits = request.Images.Where(u => initNames.Contains(u.Container)).ToList();
        if (containers.Count > 0)
        {
            podSpec["containers"] = Images(containers);
        }
        if (inits.Count > 0)
        {
            podSpec["initContainers"] = Images(inits);
        }
        var template = new JsonObject
        {
            ["metadata"] = new JsonObject
            {
                ["annotations"] = new JsonObject { ["keel.sh/update-time"] = time.GetUtcNow().ToString("yyyy-MM-ddTHH:mm:ss.fffZ", CultureInfo.InvariantCulture) },
            },
            ["spec"] = podSpec,
        };
        var annotations = new JsonObject { ["kubernetes.io/change-cause"] = $"keel automated update, version {from} -> {request.ToVersion}" };
        if (request.Digest is not null)
        {
            annotations["keel.sh/digest"] = request.Digest;
        }
        var workloadSpec = current.Kind == WorkloadKind.CronJob
            ? new JsonObject { ["jobTemplate"] = new JsonObject { ["spec"] = new JsonObject { ["template"] = template } } }
            : new JsonObject { ["template"] = template };
        return new JsonObject
        {
            ["metadata"] = new JsonObject { ["resourceVersion"] = current.ResourceVersion, ["annotations"] = annotations },
            ["spec"] = workloadSpec,
        }.ToJsonString();
    }

    private static JsonArray Images(IEnumerable<ImageUpdate> updates) =>
        new([.. updates.Select(u => (JsonNode)new JsonObject { ["name"] = u.Container, ["image"] = u.Image })]);

    [LoggerMessage(Level = LogLevel.Information, Message = "Updated {Workload} {From} -> {To} (generation {Generation})")]
    private partial void LogApplied(string workload, string from, string to, long generation);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Workload} changed under the update (attempt {Attempt}); reading it again")]
    private partial void LogConflict(string workload, int attempt);
}
