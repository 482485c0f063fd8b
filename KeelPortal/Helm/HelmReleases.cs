using System.Collections.Concurrent;
using KeelPortal.Workloads;
using Microsoft.Extensions.Options;

namespace KeelPortal.Helm;

/// <summary>
/// The Helm provider: Helm 3 releases discovered from Helm's own storage (Secrets and ConfigMaps, list then watch),
/// a snapshot per release from its deployed revision's <c>keel:</c> block, and updates through <see cref="HelmApplier"/>.
/// </summary>
public sealed class HelmReleases : IWorkloadProvider
{
    private readonly ConcurrentDictionary<string, StoredRevision> revisions = new(StringComparer.Ordinal);
    private readonly WorkloadCatalog catalog;
    private readonly HelmApplier applier;
    private readonly IOptions<HelmOptions> options;

    public HelmReleases(WorkloadCatalog catalog, HelmApplier applier, IOptions<HelmOptions> options)
    {
        this.catalog = catalog;
        this.applier = applier;
        this.options = options;
        catalog.Attach(this);
    }

    public string Name => "helm";

    public bool Owns(WorkloadKind kind) => kind == WorkloadKind.HelmRelease;

    public IEnumerable<IWatchedList> Lists(IWorkloadClient client, string? scope)
    {
        if (!options.Value.Enabled)
        {
            yield break;
        }
        foreach (var driver in new[] { HelmDriver.Secret, HelmDriver.ConfigMap })
        {
            // Each page is read as it arrives: a full list never holds every revision's payload (gzipped charts and
            // manifests, up to a megabyte each, for every revision Helm keeps) at once.
            yield return new WatchedList<ReadObject>($"Helm releases ({driver}s) in {scope ?? "all namespaces"}",
                async (c, ct) => ReadPage(await client.ListHelmStorageAsync(driver, scope, null, c, ct)),
                (rv, ct) => ReadChanges(client.WatchHelmStorageAsync(driver, scope, rv, ct), ct),
                items => Replace(driver, scope, items), Apply, o => o.ResourceVersion);
        }
    }

    /// <summary>A storage object as the provider keeps it: where it is, its version and its revision as read, without the payload.</summary>
    private sealed record ReadObject(HelmDriver Driver, string Namespace, string Name, string ResourceVersion, StoredRevision? Revision)
    {
        public static ReadObject From(HelmStorageObject stored) =>
            new(stored.Driver, stored.Namespace, stored.Name, stored.ResourceVersion, StoredRevision.From(stored));
    }

    private static ListPage<ReadObject> ReadPage(ListPage<HelmStorageObject> page) =>
        new(page.Items.Select(ReadObject.From).ToList(), page.ResourceVersion, page.Continue);

    private static async IAsyncEnumerable<Change<ReadObject>> ReadChanges(
        IAsyncEnumerable<Change<HelmStorageObject>> changes, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        await foreach (var change in changes.WithCancellation(ct))
        {
            yield return new Change<ReadObject>(change.Type, change.Value is null ? null : ReadObject.From(change.Value));
        }
    }

    public WorkloadSnapshot? Snapshot(string id)
    {
        if (!WorkloadId.TryParse(id, out _, out var ns, out var name))
        {
            return null;
        }
        var all = revisions.Values.Where(r => r.Namespace == ns && r.Release == name).OrderByDescending(r => r.Revision).ToList();
        // While an upgrade or rollback is under way Helm has already marked the deployed revision superseded and not yet
        // marked the new one deployed: the release still runs the revision it superseded (kept decoded, see Store).
        var deployed = all.FirstOrDefault(r => r.Status == "deployed")
            ?? (all.Count > 0 && IsPending(all[0].Status) ? all.FirstOrDefault(r => r.Deployed is not null) : null);
        if (deployed is null)
        {
            return null;
        }
        var history = all.Select(r => new ReleaseRevision(r.Revision, r.Status,
            r.Deployed is { } d ? $"{d.Chart}-{d.ChartVersion}" : "", r.ModifiedAt)).ToList();
        return HelmSnapshots.Build(deployed, history);
    }

    public IEnumerable<string> Ids() =>
        revisions.Values.Where(r => r.Status == "deployed" || r.Deployed is not null).Select(r => r.ReleaseId).Distinct(StringComparer.Ordinal)
            .Where(id => Snapshot(id) is not null);

    /// <summary>Helm's statuses of a revision whose install, upgrade or rollback is still running.</summary>
    internal static bool IsPending(string status) => status.StartsWith("pending-", StringComparison.Ordinal);

    public Task<ApplyResult> ApplyAsync(ApplyRequest request, CancellationToken ct) => applier.ApplyAsync(request, ct);

    private void Replace(HelmDriver driver, string? scope, IReadOnlyList<ReadObject> items)
    {
        var changed = new HashSet<string>(StringComparer.Ordinal);
        var fresh = items.Select(i => Key(i.Driver, i.Namespace, i.Name)).ToHashSet(StringComparer.Ordinal);
        foreach (var (key, old) in revisions)
        {
            if (old.Driver == driver && (scope is null || old.Namespace == scope) && !fresh.Contains(key) && revisions.TryRemove(key, out _))
            {
                changed.Add(old.ReleaseId);
            }
        }
        foreach (var item in items)
        {
            if (Store(item) is { } id)
            {
                changed.Add(id);
            }
        }
        foreach (var id in changed)
        {
            catalog.Changed(id);
        }
    }

    private void Apply(ChangeType type, ReadObject item)
    {
        string? id;
        if (type == ChangeType.Deleted)
        {
            id = revisions.TryRemove(Key(item.Driver, item.Namespace, item.Name), out var old) ? old.ReleaseId : null;
        }
        else
        {
            id = Store(item);
        }
        if (id is not null)
        {
            catalog.Changed(id);
        }
    }

    private string? Store(ReadObject item)
    {
        if (item.Revision is not { } revision)
        {
            return null;
        }
        var key = Key(item.Driver, item.Namespace, item.Name);
        var previous = revisions.GetValueOrDefault(key);
        if (revision.Deployed is null && revision.Error is null && previous?.Deployed is not null)
        {
            // The deployed revision marked superseded: kept decoded until its successor is deployed (see Snapshot).
            revision = revision with { Deployed = previous.Deployed };
        }
        else if (revision.Status == "deployed" && previous is not { Status: "deployed" })
        {
            // A new revision deployed: the one it superseded need not be kept decoded any more.
            foreach (var (otherKey, other) in revisions)
            {
                if (other.ReleaseId == revision.ReleaseId && other.Status != "deployed" && other.Deployed is not null)
                {
                    revisions.TryUpdate(otherKey, other with { Deployed = null }, other);
                }
            }
        }
        revisions[key] = revision;
        return revision.ReleaseId;
    }

    private static string Key(HelmDriver driver, string ns, string name) => $"{driver}/{ns}/{name}";
}
