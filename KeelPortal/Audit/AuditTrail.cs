using KeelPortal.Data;
using Microsoft.EntityFrameworkCore;

namespace KeelPortal.Audit;

/// <summary>
/// What to read from the trail: a free-text search, and filters by action (exact), person (exact), subject (a
/// workload id matches its entries and its versions' entries) and a time range [from, to).
/// </summary>
public sealed record AuditQuery(
    string? Search = null, int Page = 0, int PageSize = 50,
    string? Action = null, string? Actor = null, string? Subject = null, DateTime? FromUtc = null, DateTime? ToUtc = null);

public sealed record AuditPageResult(IReadOnlyList<AuditEntry> Entries, int Total);

/// <summary>Appends to and reads the audit trail. Entries are never updated or deleted.</summary>
public sealed class AuditTrail(IDbContextFactory<PortalDbContext> contexts, TimeProvider time)
{
    /// <summary>The columns' lengths: longer subjects and details (a webhook naming hundreds of tags) are cut, ending in "…".</summary>
    public const int MaxSubject = 500, MaxDetails = 4000;

    /// <summary>The actor of what the portal does on its own (automatic updates, given-up work).</summary>
    public const string System = "system";

    private static string Cut(string text, int max) => text.Length <= max ? text : string.Concat(text.AsSpan(0, max - 1), "…");

    public async Task<AuditEntry> RecordAsync(
        string actor, AuditAction action, string subject, string? details = null, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var entry = Stage(db, actor, action, subject, details);
        await db.SaveChangesAsync(ct);
        return entry;
    }

    /// <summary>Adds the entry to <paramref name="db"/>: it is written by the caller's next SaveChanges, with the change it records.</summary>
    public AuditEntry Stage(DbContext db, string actor, AuditAction action, string subject, string? details = null)
    {
        ArgumentNullException.ThrowIfNull(db);
        ArgumentNullException.ThrowIfNull(action);
        var entry = new AuditEntry
        {
            OccurredAtUtc = time.GetUtcNow().UtcDateTime,
            Actor = actor,
            Action = action.Name,
            Subject = Cut(subject, MaxSubject),
            Details = details is null ? null : Cut(details, MaxDetails),
        };
        db.Set<AuditEntry>().Add(entry);
        return entry;
    }

    public async Task<AuditPageResult> QueryAsync(AuditQuery query, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var entries = Filter(db.Set<AuditEntry>().AsNoTracking(), query);
        var total = await entries.CountAsync(ct);
        var page = await entries
            .OrderByDescending(e => e.OccurredAtUtc).ThenByDescending(e => e.Id)
            .Skip(Math.Max(0, query.Page) * query.PageSize)
            .Take(query.PageSize)
            .ToListAsync(ct);
        return new AuditPageResult(page, total);
    }

    /// <summary>Every entry the query matches, oldest first, read in batches (for the CSV export).</summary>
    public async IAsyncEnumerable<AuditEntry> StreamAsync(AuditQuery query, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        await foreach (var entry in Filter(db.Set<AuditEntry>().AsNoTracking(), query).OrderBy(e => e.OccurredAtUtc).ThenBy(e => e.Id).AsAsyncEnumerable().WithCancellation(ct))
        {
            yield return entry;
        }
    }

    /// <summary>The actions recorded so far, for the page's filter.</summary>
    public async Task<IReadOnlyList<string>> ActionsAsync(CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        return await db.Set<AuditEntry>().Select(e => e.Action).Distinct().OrderBy(a => a).ToListAsync(ct);
    }

    /// <summary>
    /// Records a decision only when it differs from the last one recorded for the same subject: a poll that reaches the
    /// same conclusion every minute does not fill the trail.
    /// </summary>
    public async Task<bool> RecordChangeAsync(string actor, AuditAction action, string subject, string details, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(action);
        await using (var db = await contexts.CreateDbContextAsync(ct))
        {
            var name = action.Name;
            var last = await db.Set<AuditEntry>().AsNoTracking().Where(e => e.Subject == subject && e.Action == name)
                .OrderByDescending(e => e.Id).Select(e => e.Details).FirstOrDefaultAsync(ct);
            if (last == details)
            {
                return false;
            }
        }
        await RecordAsync(actor, action, subject, details, ct);
        return true;
    }

    private static IQueryable<AuditEntry> Filter(IQueryable<AuditEntry> entries, AuditQuery query)
    {
        if (!string.IsNullOrWhiteSpace(query.Search))
        {
            var term = query.Search.Trim();
            entries = entries.Where(e => e.Subject.Contains(term) || e.Action.Contains(term) || e.Actor.Contains(term) || (e.Details != null && e.Details.Contains(term)));
        }
        if (!string.IsNullOrWhiteSpace(query.Action))
        {
            entries = entries.Where(e => e.Action == query.Action);
        }
        if (!string.IsNullOrWhiteSpace(query.Actor))
        {
            entries = entries.Where(e => e.Actor == query.Actor);
        }
        if (!string.IsNullOrWhiteSpace(query.Subject))
        {
            var subject = query.Subject.Trim();
            var versions = subject + ":";
            entries = entries.Where(e => e.Subject == subject || e.Subject.StartsWith(versions));
        }
        if (query.FromUtc is { } from)
        {
            entries = entries.Where(e => e.OccurredAtUtc >= from);
        }
        if (query.ToUtc is { } to)
        {
            entries = entries.Where(e => e.OccurredAtUtc < to);
        }
        return entries;
    }
}
