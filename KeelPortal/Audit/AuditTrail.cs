using KeelPortal.Data;
using Microsoft.EntityFrameworkCore;

namespace KeelPortal.Audit;

public sealed record AuditQuery(string? Search = null, int Page = 0, int PageSize = 50);

public sealed record AuditPageResult(IReadOnlyList<AuditEntry> Entries, int Total);

/// <summary>Appends to and reads the audit trail. Entries are never updated or deleted.</summary>
public sealed class AuditTrail(IDbContextFactory<PortalDbContext> contexts, TimeProvider time)
{
    public async Task<AuditEntry> RecordAsync(
        string actor, string action, string subject, string? details = null, CancellationToken ct = default)
    {
        var entry = new AuditEntry
        {
            OccurredAtUtc = time.GetUtcNow().UtcDateTime,
            Actor = actor,
            Action = action,
            Subject = subject,
            Details = details,
        };
        await using var db = await contexts.CreateDbContextAsync(ct);
        db.Set<AuditEntry>().Add(entry);
        await db.SaveChangesAsync(ct);
        return entry;
    }

    public async Task<AuditPageResult> QueryAsync(AuditQuery query, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var entries = db.Set<AuditEntry>().AsNoTracking();
        if (!string.IsNullOrWhiteSpace(query.Search))
        {
            var term = query.Search.Trim();
            entries = entries.Where(e => e.Subject.Contains(term) || e.Action.Contains(term) || e.Actor.Contains(term));
        }
        var total = await entries.CountAsync(ct);
        var page = await entries
            .OrderByDescending(e => e.OccurredAtUtc).ThenByDescending(e => e.Id)
            .Skip(Math.Max(0, query.Page) * query.PageSize)
            .Take(query.PageSize)
            .ToListAsync(ct);
        return new AuditPageResult(page, total);
    }
}
