using System.Collections.Concurrent;
using System.Text.Json;
using System.Threading.Channels;
using k8s.Models;
using KeelPortal.Policies;

namespace KeelPortal.Workloads;

/// <summary>One pod of a workload as the console shows it.</summary>
public sealed record PodView(string Name, string Phase, bool Ready, IReadOnlyList<PodContainer> Containers);

/// <summary>One container of a pod: the image it runs and the digest the node resolved.</summary>
public sealed record PodContainer(string Name, string Image, string? Digest);

/// <summary>
/// The in-memory picture of the cluster the watchers keep current: workloads, pods and node platforms. Every change
/// recomputes the affected snapshots; the ones that really changed are written to the database in batches and then
/// published as <see cref="WorkloadsChanged"/>.
/// </summary>
public sealed partial class WorkloadCatalog(WorkloadStore store, ILogger<WorkloadCatalog> logger)
{
    private readonly ConcurrentDictionary<string, WorkloadObject> workloads = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ConcurrentDictionary<string, V1Pod>> podsByNamespace = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, Platform> nodes = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string> written = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, string> loggedErrors = new(StringComparer.Ordinal);
    private readonly Channel<string> dirty = Channel.CreateUnbounded<string>(new UnboundedChannelOptions { SingleReader = true });
    private System.Collections.Immutable.ImmutableList<IWorkloadProvider> others = [];

    /// <summary>Raised with a workload's id whenever a list or watch delivers it (status changes included).</summary>
    public event Action<string>? Observed;

    /// <summary>
    /// A provider whose objects are not cluster workloads (Helm releases): the catalog asks it for their snapshots and
    /// writes them with the rest. It reports changes through <see cref="Changed"/>.
    /// </summary>
    public void Attach(IWorkloadProvider provider) => System.Collections.Immutable.ImmutableInterlocked.Update(ref others, list => list.Add(provider));

    /// <summary>An attached provider's workload changed: its snapshot is computed and written again.</summary>
    public void Changed(string id)
    {
        MarkDirty(id);
        Observed?.Invoke(id);
    }

    /// <summary>The workload as last seen (from a list or watch), or null.</summary>
    public WorkloadObject? Find(string id) => workloads.GetValueOrDefault(id);

    public int Count => workloads.Count;

    /// <summary>Every cluster workload as last seen, tracked or not (Keel's <c>/v1/resources</c> lists them all).</summary>
    public IEnumerable<WorkloadObject> All => workloads.Values;

    /// <summary>The pods a workload selects as last seen: name, phase, readiness and each container's image and digest.</summary>
    public IReadOnlyList<PodView> PodsOf(string id)
    {
        if (Find(id) is not { } workload || !podsByNamespace.TryGetValue(workload.Namespace, out var pods))
        {
            return [];
        }
        return pods.Values.Where(p => WorkloadSnapshot.Selects(workload.Selector, p.Metadata.Labels))
            .OrderBy(p => p.Metadata.Name, StringComparer.Ordinal)
            .Select(p => new PodView(
                p.Metadata.Name,
                p.Status?.Phase ?? "Unknown",
                p.Status?.ContainerStatuses is { Count: > 0 } statuses && statuses.All(c => c.Ready),
                (p.Status?.ContainerStatuses ?? []).Select(c => new PodContainer(c.Name, c.Image ?? "", DigestOf(c.ImageID))).ToList()))
            .ToList();
    }

    private static string? DigestOf(string? imageId)
    {
        var at = imageId?.LastIndexOf('@') ?? -1;
        return at >= 0 ? imageId![(at + 1)..] : null;
    }

    /// <summary>The cluster workloads of one namespace as last seen.</summary>
    public IEnumerable<WorkloadObject> InNamespace(string ns) => workloads.Values.Where(w => w.Namespace == ns);

    /// <summary>Replaces every workload of a kind (in one namespace, or all) with a fresh list.</summary>
    internal void ReplaceWorkloads(WorkloadKind kind, string? ns, IReadOnlyList<WorkloadObject> items)
    {
        var fresh = items.Select(i => i.Id).ToHashSet(StringComparer.Ordinal);
        foreach (var (id, old) in workloads)
        {
            if (old.Kind == kind && (ns is null || old.Namespace == ns) && !fresh.Contains(id))
            {
                workloads.TryRemove(id, out _);
                MarkDirty(id);
            }
        }
        foreach (var item in items)
        {
            workloads[item.Id] = item;
            MarkDirty(item.Id);
            Observed?.Invoke(item.Id);
        }
    }

    internal void ApplyWorkload(ChangeType type, WorkloadObject item)
    {
        if (type == ChangeType.Deleted)
        {
            workloads.TryRemove(item.Id, out _);
        }
        else
        {
            workloads[item.Id] = item;
        }
        MarkDirty(item.Id);
        Observed?.Invoke(item.Id);
    }

    internal void ReplacePods(string? ns, IReadOnlyList<V1Pod> items)
    {
        foreach (var (name, pods) in podsByNamespace)
        {
            if (ns is null || name == ns)
            {
                pods.Clear();
            }
        }
        foreach (var pod in items)
        {
            Pods(pod.Metadata.NamespaceProperty)[pod.Metadata.Name] = pod;
        }
        foreach (var workload in workloads.Values.Where(w => ns is null || w.Namespace == ns))
        {
            MarkDirty(workload.Id);
        }
    }

    internal void ApplyPod(ChangeType type, V1Pod pod)
    {
        var pods = Pods(pod.Metadata.NamespaceProperty);
        if (type == ChangeType.Deleted)
        {
            pods.TryRemove(pod.Metadata.Name, out _);
        }
        else
        {
            pods[pod.Metadata.Name] = pod;
        }
        foreach (var workload in workloads.Values)
        {
            if (workload.Namespace == pod.Metadata.NamespaceProperty && WorkloadSnapshot.Selects(workload.Selector, pod.Metadata.Labels))
            {
                MarkDirty(workload.Id);
            }
        }
    }

    internal void ReplaceNodes(IReadOnlyList<V1Node> items)
    {
        nodes.Clear();
        foreach (var node in items)
        {
            ApplyNode(ChangeType.Added, node, markAll: false);
        }
        MarkAll();
    }

    internal void ApplyNode(ChangeType type, V1Node node, bool markAll = true)
    {
        if (type == ChangeType.Deleted)
        {
            nodes.TryRemove(node.Metadata.Name, out _);
        }
        else if (PlatformOf(node) is { } platform)
        {
            nodes[node.Metadata.Name] = platform;
        }
        if (markAll)
        {
            MarkAll();
        }
    }

    /// <summary>Writes what changed since the last call; returns the ids written. Runs on the watcher's writer loop only.</summary>
    internal async Task<IReadOnlyList<string>> FlushAsync(CancellationToken ct)
    {
        var ids = new HashSet<string>(StringComparer.Ordinal);
        while (dirty.Reader.TryRead(out var id))
        {
            ids.Add(id);
        }
        var changes = new List<(string, WorkloadSnapshot?, string?)>();
        foreach (var id in ids)
        {
            var snapshot = ContainedSnapshot(id);
            var json = snapshot is null ? null : JsonSerializer.Serialize(snapshot, WorkloadStore.Json);
            var before = written.GetValueOrDefault(id);
            if (json == before)
            {
                continue;
            }
            changes.Add((id, snapshot, json));
        }
        if (changes.Count == 0)
        {
            return [];
        }
        await store.WriteAsync(changes, ct);
        foreach (var (id, _, json) in changes)
        {
            if (json is null)
            {
                written.TryRemove(id, out _);
            }
            else
            {
                written[id] = json;
            }
        }
        return changes.Select(c => c.Item1).ToList();
    }

    /// <summary>
    /// The snapshot of one workload, computed so that nothing it carries can stop the writer loop: a failure becomes a
    /// settings error on that workload. Each new set of errors is logged once.
    /// </summary>
    private WorkloadSnapshot? ContainedSnapshot(string id)
    {
        WorkloadSnapshot? snapshot;
        try
        {
            snapshot = Snapshot(id);
        }
#pragma warning disable CA1031 // Containment: whatever one workload's content triggers, the others are still written.
        catch (Exception e) when (e is not OperationCanceledException)
#pragma warning restore CA1031
        {
            LogSnapshotFailed(e, id);
            snapshot = workloads.TryGetValue(id, out var workload) ? WorkloadSnapshot.Unreadable(workload, e.GetType().Name) : null;
        }
        var errors = snapshot is { Errors.Count: > 0 } ? string.Join("; ", snapshot.Errors) : null;
        if (errors is null)
        {
            loggedErrors.TryRemove(id, out _);
        }
        else if (loggedErrors.GetValueOrDefault(id) != errors)
        {
            loggedErrors[id] = errors;
            LogSettingsErrors(id, Audit.LogText.Clean(errors, 1000));
        }
        return snapshot;
    }

    internal async Task PruneAsync(CancellationToken ct)
    {
        var present = ClusterIds().Concat(others.SelectMany(p => p.Ids())).ToHashSet(StringComparer.Ordinal);
        var gone = await store.PruneAsync(present, ct);
        if (gone.Count > 0)
        {
            LogPruned(gone.Count);
        }
    }

    /// <summary>Wakes the writer loop without a change (so it can finish the first snapshot of an empty cluster).</summary>
    internal void Nudge() => dirty.Writer.TryWrite("");

    internal ValueTask<bool> WaitForChangesAsync(CancellationToken ct) => dirty.Reader.WaitToReadAsync(ct);

    /// <summary>The snapshot of a workload that carries Keel settings, or null (gone, or no keel.sh key at all).</summary>
    public WorkloadSnapshot? Snapshot(string id) =>
        WorkloadId.TryParse(id, out var kind, out _, out _) && others.FirstOrDefault(p => p.Owns(kind)) is { } provider
            ? provider.Snapshot(id)
            : ClusterSnapshot(id);

    internal IEnumerable<string> ClusterIds() => workloads.Values.Where(HasKeelKeys).Select(w => w.Id);

    internal WorkloadSnapshot? ClusterSnapshot(string id)
    {
        if (!workloads.TryGetValue(id, out var workload) || !HasKeelKeys(workload))
        {
            return null;
        }
        var pods = podsByNamespace.TryGetValue(workload.Namespace, out var inNamespace) ? inNamespace.Values : Enumerable.Empty<V1Pod>();
        return WorkloadSnapshot.Build(workload, pods, nodes);
    }

    internal static bool HasKeelKeys(WorkloadObject workload) =>
        workload.Labels.Keys.Concat(workload.Annotations.Keys).Any(k => k.StartsWith("keel.sh/", StringComparison.Ordinal) || k.StartsWith("keel.observer/", StringComparison.Ordinal));

    private static Platform? PlatformOf(V1Node node)
    {
        IReadOnlyDictionary<string, string> labels = node.Metadata.Labels is { } l ? new Dictionary<string, string>(l) : new Dictionary<string, string>();
        var os = labels.GetValueOrDefault("kubernetes.io/os") ?? node.Status?.NodeInfo?.OperatingSystem;
        var arch = labels.GetValueOrDefault("kubernetes.io/arch") ?? node.Status?.NodeInfo?.Architecture;
        return os is null || arch is null ? null : new Platform(os, arch, labels.GetValueOrDefault("kubernetes.io/arch-variant") ?? "");
    }

    private ConcurrentDictionary<string, V1Pod> Pods(string ns) => podsByNamespace.GetOrAdd(ns, _ => new(StringComparer.Ordinal));

    private void MarkDirty(string id) => dirty.Writer.TryWrite(id);

    private void MarkAll()
    {
        foreach (var id in workloads.Keys)
        {
            MarkDirty(id);
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Computing the snapshot of {Workload} failed; it is kept as unreadable")]
    private partial void LogSnapshotFailed(Exception exception, string workload);

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Workload} has settings errors and is not updated until they are fixed: {Errors}")]
    private partial void LogSettingsErrors(string workload, string errors);

    [LoggerMessage(Level = LogLevel.Information, Message = "Removed {Count} workloads that are no longer in the cluster")]
    private partial void LogPruned(int count);
}
