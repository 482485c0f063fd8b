using System.Text.Json;
using System.Text.Json.Serialization;
using KeelPortal.Data;
using Microsoft.EntityFrameworkCore;

namespace KeelPortal.Workloads;

/// <summary>Written with the workload snapshots it names (ids of those added, changed or removed).</summary>
public sealed record WorkloadsChanged(IReadOnlyList<string> Ids);

/// <summary>Reads and writes the persisted workload snapshots; pages and jobs read workloads from here.</summary>
public sealed class WorkloadStore(IDbContextFactory<PortalDbContext> contexts, Outbox outbox, TimeProvider time)
{
    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { Converters = { new JsonStringEnumConverter() } };

    public async Task<WorkloadSnapshot?> GetAsync(string id, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var json = await db.Set<WorkloadRecord>().Where(w => w.Id == id).Select(w => w.SnapshotJson).SingleOrDefaultAsync(ct);
        return json is null ? null : JsonSerializer.Deserialize<WorkloadSnapshot>(json, Json);
    }

    public async Task<IReadOnlyList<WorkloadSnapshot>> AllAsync(CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var rows = await db.Set<WorkloadRecord>().AsNoTracking().OrderBy(w => w.Id).Select(w => w.SnapshotJson).ToListAsync(ct);
        return rows.ConvertAll(j => JsonSerializer.Deserialize<WorkloadSnapshot>(j, Json)!);
    }

    /// <summary>Tracked workloads with a container of <paramref name="repository"/> (case-insensitive).</summary>
    public async Task<IReadOnlyList<WorkloadSnapshot>> TrackingAsync(string repository, CancellationToken ct = default)
    {
        var key = "|" + repository.ToLowerInvariant() + "|";
        await using var db = await contexts.CreateDbContextAsync(ct);
        var rows = await db.Set<WorkloadRecord>().AsNoTracking().Where(w => w.IsTracked && w.Repositories.Contains(key))
            .OrderBy(w => w.Id).Select(w => w.SnapshotJson).ToListAsync(ct);
        return rows.ConvertAll(j => JsonSerializer.Deserialize<WorkloadSnapshot>(j, Json)!);
    }

    public async Task<int> CountAsync(CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        return await db.Set<WorkloadRecord>().CountAsync(ct);
    }

    /// <summary>Writes changed snapshots and removes the given ids in one transaction, with their <see cref="WorkloadsChanged"/> event.</summary>
    internal async Task WriteAsync(IReadOnlyCollection<(string Id, WorkloadSnapshot? Snapshot, string? Json)> changes, CancellationToken ct)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var ids = changes.Select(c => c.Id).ToList();
        var existing = await db.Set<WorkloadRecord>().Where(w => ids.Contains(w.Id)).ToDictionaryAsync(w => w.Id, ct);
        var now = time.GetUtcNow().UtcDateTime;
        foreach (var (id, snapshot, json) in changes)
        {
            existing.TryGetValue(id, out var row);
            if (snapshot is null)
            {
                if (row is not null)
                {
                    db.Remove(row);
                }
                continue;
            }
            if (row is null)
            {
                row = new WorkloadRecord { Id = id, Kind = "", Namespace = "", Name = "", Images = "", Policy = "", Trigger = "", SnapshotJson = "" };
                db.Add(row);
            }
            row.Kind = snapshot.Kind.ToString();
            row.Chart = snapshot.Release is { } release ? $"{release.Chart}-{release.ChartVersion}" : null;
            row.Namespace = snapshot.Namespace;
            row.Name = snapshot.Name;
            row.Images = string.Join(", ", snapshot.Containers.Select(c => c.Image));
            row.Repositories = "|" + string.Join("|", snapshot.Containers.Where(c => c.Repository is not null)
                .Select(c => c.Repository!.ToLowerInvariant()).Distinct()) + "|";
            row.Policy = snapshot.Policy;
            row.Trigger = snapshot.Trigger == TriggerKind.Poll ? "poll" : "webhook";
            row.PollSchedule = snapshot.PollSchedule;
            row.ApprovalsRequired = snapshot.ApprovalsRequired;
            row.PolicyWritten = snapshot.PolicyWritten;
            row.ApprovalsWritten = snapshot.ApprovalsWritten;
            row.IsTracked = snapshot.IsTracked;
            row.Error = snapshot.Errors.Count == 0 ? null : string.Join("; ", snapshot.Errors);
            row.UpdatedAtUtc = now;
            row.SnapshotJson = json!;
        }
        outbox.Stage(db, new WorkloadsChanged(ids));
        await db.SaveChangesAsync(ct);
    }

    /// <summary>Removes records of workloads that are gone from the cluster while the portal was not watching.</summary>
    internal async Task<IReadOnlyList<string>> PruneAsync(IReadOnlySet<string> present, CancellationToken ct)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var stored = await db.Set<WorkloadRecord>().Select(w => w.Id).ToListAsync(ct);
        var gone = stored.Where(id => !present.Contains(id)).ToList();
        if (gone.Count == 0)
        {
            return gone;
        }
        await using var transaction = await db.Database.BeginTransactionAsync(ct);
        foreach (var chunk in gone.Chunk(500))
        {
            await db.Set<WorkloadRecord>().Where(w => chunk.Contains(w.Id)).ExecuteDeleteAsync(ct);
        }
        outbox.Stage(db, new WorkloadsChanged(gone));
        await db.SaveChangesAsync(ct);
        await transaction.CommitAsync(ct);
        return gone;
    }
}
