namespace KeelPortal.Workloads;

/// <summary>
/// A kind of update target: Kubernetes workloads (patched directly) or Helm releases (upgraded through Helm). Each
/// discovers and watches its objects, says what images they run now, and applies an update; decisions, approvals,
/// audit and notifications above it do not know which provider they talk to.
/// </summary>
public interface IWorkloadProvider
{
    /// <summary>Keel's provider name, as <c>/v1/approvals</c> reports it: <c>kubernetes</c> or <c>helm</c>.</summary>
    string Name { get; }

    bool Owns(WorkloadKind kind);

    /// <summary>Discover and watch: the list-then-watch loops the watcher runs for one namespace (or all, when null).</summary>
    IEnumerable<IWatchedList> Lists(IWorkloadClient client, string? scope);

    /// <summary>Current images: the snapshot of one of this provider's workloads, or null when it has none by that id.</summary>
    WorkloadSnapshot? Snapshot(string id);

    /// <summary>The ids this provider would give a snapshot for now (the others are pruned from the database).</summary>
    IEnumerable<string> Ids();

    Task<ApplyResult> ApplyAsync(ApplyRequest request, CancellationToken ct);
}

/// <summary>One list-then-watch loop; the watcher runs it with its reconnect, resync and 410 handling.</summary>
public interface IWatchedList
{
    string What { get; }

    Task RunAsync(IInformerHost host, CancellationToken ct);
}

public interface IInformerHost
{
    Task InformAsync<T>(WatchedList<T> list, CancellationToken ct);
}

public sealed record WatchedList<T>(
    string What,
    Func<string?, CancellationToken, Task<ListPage<T>>> List,
    Func<string, CancellationToken, IAsyncEnumerable<Change<T>>> Watch,
    Action<IReadOnlyList<T>> Replace,
    Action<ChangeType, T> Apply,
    Func<T, string> VersionOf) : IWatchedList
{
    public Task RunAsync(IInformerHost host, CancellationToken ct) => host.InformAsync(this, ct);
}

/// <summary>The Kubernetes provider: the four workload kinds (with their pods), kept in the catalog, patched by the applier.</summary>
public sealed class KubernetesWorkloads(WorkloadCatalog catalog, WorkloadApplier applier) : IWorkloadProvider
{
    public string Name => "kubernetes";

    public bool Owns(WorkloadKind kind) => kind != WorkloadKind.HelmRelease;

    public IEnumerable<IWatchedList> Lists(IWorkloadClient client, string? scope)
    {
        var where = scope ?? "all namespaces";
        foreach (var kind in WorkloadId.ClusterKinds)
        {
            yield return new WatchedList<WorkloadObject>($"{kind}s in {where}",
                (c, ct) => client.ListAsync(kind, scope, c, ct), (rv, ct) => client.WatchAsync(kind, scope, rv, ct),
                items => catalog.ReplaceWorkloads(kind, scope, items), catalog.ApplyWorkload, w => w.ResourceVersion);
        }
        yield return new WatchedList<k8s.Models.V1Pod>($"pods in {where}",
            (c, ct) => client.ListPodsAsync(scope, c, ct), (rv, ct) => client.WatchPodsAsync(scope, rv, ct),
            items => catalog.ReplacePods(scope, items), catalog.ApplyPod, p => p.Metadata.ResourceVersion);
    }

    public WorkloadSnapshot? Snapshot(string id) => catalog.ClusterSnapshot(id);

    public IEnumerable<string> Ids() => catalog.ClusterIds();

    public Task<ApplyResult> ApplyAsync(ApplyRequest request, CancellationToken ct) => applier.ApplyAsync(request, ct);
}
