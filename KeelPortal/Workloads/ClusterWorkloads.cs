using Microsoft.Extensions.Options;

namespace KeelPortal.Workloads;

/// <summary>
/// The cluster's workloads, tracked or not: as this replica's watchers keep them when it is the one watching, else read
/// from the API server (another replica holds the watch, and this replica's catalog is empty).
/// </summary>
public sealed class ClusterWorkloads(WorkloadCatalog catalog, WorkloadWatcher watcher, ClusterConnection cluster, IOptions<WorkloadsOptions> options)
{
    public async Task<IReadOnlyList<WorkloadObject>> AllAsync(CancellationToken ct = default)
    {
        if (watcher.Current || cluster.Client is not { } client)
        {
            return [.. catalog.All];
        }
        var listed = new List<WorkloadObject>();
        foreach (var kind in WorkloadId.ClusterKinds)
        {
            foreach (var ns in options.Value.Scopes())
            {
                string? next = null;
                do
                {
                    var page = await client.ListAsync(kind, ns, next, ct);
                    listed.AddRange(page.Items);
                    next = page.Continue;
                }
                while (!string.IsNullOrEmpty(next));
            }
        }
        return listed;
    }

    /// <summary>The workloads without any <c>keel.sh/*</c> key, by namespace and name.</summary>
    public async Task<IReadOnlyList<WorkloadObject>> UntrackedAsync(CancellationToken ct = default) =>
        [.. (await AllAsync(ct)).Where(w => !WorkloadCatalog.HasKeelKeys(w)).OrderBy(w => w.Namespace, StringComparer.Ordinal).ThenBy(w => w.Name, StringComparer.Ordinal)];

    /// <summary>A cluster workload by Keel's identifier: as last seen by this replica's watchers, else read from the API server.</summary>
    public async Task<WorkloadObject?> FindAsync(string? identifier, CancellationToken ct = default)
    {
        var id = identifier?.Trim() ?? "";
        if (!WorkloadId.TryParse(id, out var kind, out var ns, out var name) || kind == WorkloadKind.HelmRelease)
        {
            return null;
        }
        return catalog.Find(id) ?? (cluster.Client is { } client ? await client.GetAsync(kind, ns, name, ct) : null);
    }
}
