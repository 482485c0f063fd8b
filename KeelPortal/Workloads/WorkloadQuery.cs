using KeelPortal.Data;
using Microsoft.EntityFrameworkCore;

namespace KeelPortal.Workloads;

/// <summary>
/// A page of the workloads grid: free-text search, filters (namespace, kind, policy kind), sorting by a column,
/// paging — all in the database.
/// </summary>
public sealed record WorkloadQuery(
    string? Search = null, string SortBy = "name", bool Descending = false, int Page = 0, int PageSize = 25,
    string? Namespace = null, string? Kind = null, string? Policy = null);

/// <summary>The values the grid's filters offer: the namespaces, kinds and policy kinds present.</summary>
public sealed record WorkloadFacets(IReadOnlyList<string> Namespaces, IReadOnlyList<string> Kinds, IReadOnlyList<string> Policies);

public sealed record WorkloadRow(
    string Id, string Kind, string Namespace, string Name, string Images, string Policy, string Trigger, string? PollSchedule,
    int ApprovalsRequired, bool IsTracked, string? Error, string? Chart = null, string? PolicyWritten = null, string? ApprovalsWritten = null)
{
    /// <summary>The policy as written on the workload (a broken one as it is), else the one in effect.</summary>
    public string PolicyShown => PolicyWritten ?? Policy;

    /// <summary>The required votes as written (<c>two</c> stays <c>two</c>), else the number in effect.</summary>
    public string ApprovalsShown => ApprovalsWritten ?? ApprovalsRequired.ToString(System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>The kind as people read it: <c>Deployment</c>, or <c>Helm release</c> with its chart.</summary>
    public string KindText => Kind == nameof(WorkloadKind.HelmRelease) ? $"Helm release ({Chart})" : Kind;

    /// <summary>The workload's page in the console.</summary>
    public string Page => WorkloadId.Page(Id);

    /// <summary>The current tag of each tracked image (<c>1.4.2</c>, <c>latest</c>), in image order.</summary>
    public string Tags => string.Join(", ", Images.Split(", ", StringSplitOptions.RemoveEmptyEntries).Select(TagOf).Distinct());

    private static string TagOf(string image)
    {
        var name = image.Split('@')[0];
        var colon = name.LastIndexOf(':');
        return colon > name.LastIndexOf('/') ? name[(colon + 1)..] : "latest";
    }
}

public sealed record WorkloadPage(IReadOnlyList<WorkloadRow> Rows, int Total);

/// <summary>Serves the workloads grid from the database, never loading more than one page.</summary>
public sealed class WorkloadGrid(IDbContextFactory<PortalDbContext> contexts)
{
    public async Task<WorkloadPage> QueryAsync(WorkloadQuery query, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var rows = Filtered(db, query);
        var total = await rows.CountAsync(ct);
        var page = await Sorted(rows, query).Skip(Math.Max(0, query.Page) * query.PageSize).Take(query.PageSize).Select(Row).ToListAsync(ct);
        return new WorkloadPage(page, total);
    }

    /// <summary>Every row the search and filters select, sorted, unpaged (for views that filter further on other tables).</summary>
    public async Task<IReadOnlyList<WorkloadRow>> AllAsync(WorkloadQuery query, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        return await Sorted(Filtered(db, query), query).Select(Row).ToListAsync(ct);
    }

    public async Task<WorkloadFacets> FacetsAsync(CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var set = db.Set<WorkloadRecord>().AsNoTracking();
        var namespaces = await set.Select(w => w.Namespace).Distinct().OrderBy(n => n).ToListAsync(ct);
        var kinds = await set.Select(w => w.Kind).Distinct().OrderBy(k => k).ToListAsync(ct);
        var policies = (await set.Select(w => w.Policy).Distinct().ToListAsync(ct)).Select(PolicyKindOf).Distinct().Order(StringComparer.Ordinal).ToList();
        return new WorkloadFacets(namespaces, kinds, policies);
    }

    /// <summary><c>glob:api-*</c> is of kind <c>glob</c>; the filter picks policies by kind.</summary>
    public static string PolicyKindOf(string policy) => policy.Split(':', 2)[0];

    private static readonly System.Linq.Expressions.Expression<Func<WorkloadRecord, WorkloadRow>> Row = w =>
        new WorkloadRow(w.Id, w.Kind, w.Namespace, w.Name, w.Images, w.Policy, w.Trigger, w.PollSchedule, w.ApprovalsRequired, w.IsTracked, w.Error, w.Chart,
            w.PolicyWritten, w.ApprovalsWritten);

    private static IQueryable<WorkloadRecord> Filtered(PortalDbContext db, WorkloadQuery query)
    {
        var rows = db.Set<WorkloadRecord>().AsNoTracking();
        if (!string.IsNullOrWhiteSpace(query.Namespace))
        {
            rows = rows.Where(w => w.Namespace == query.Namespace);
        }
        if (!string.IsNullOrWhiteSpace(query.Kind) && Enum.TryParse<WorkloadKind>(query.Kind, ignoreCase: true, out var kind))
        {
            var name = kind.ToString();
            rows = rows.Where(w => w.Kind == name);
        }
        if (!string.IsNullOrWhiteSpace(query.Policy))
        {
            var prefix = query.Policy + ":%";
            rows = rows.Where(w => w.Policy == query.Policy || EF.Functions.Like(w.Policy, prefix));
        }
        if (!string.IsNullOrWhiteSpace(query.Search))
        {
            // Case is ignored on both providers (PostgreSQL's LIKE minds it); % and _ in the term are escaped so they match themselves.
            var pattern = "%" + query.Search.Trim().ToLowerInvariant().Replace("\\", "\\\\", StringComparison.Ordinal).Replace("%", "\\%", StringComparison.Ordinal)
                .Replace("_", "\\_", StringComparison.Ordinal) + "%";
#pragma warning disable CA1304, CA1311 // translated to SQL lower(), which knows no culture
            rows = rows.Where(w => EF.Functions.Like(w.Id.ToLower(), pattern, "\\") || EF.Functions.Like(w.Images.ToLower(), pattern, "\\")
                || EF.Functions.Like(w.Policy.ToLower(), pattern, "\\"));
#pragma warning restore CA1304, CA1311
        }
        return rows;
    }

    private static IQueryable<WorkloadRecord> Sorted(IQueryable<WorkloadRecord> rows, WorkloadQuery query) =>
        (query.SortBy, query.Descending) switch
        {
            ("namespace", false) => rows.OrderBy(w => w.Namespace).ThenBy(w => w.Name),
            ("namespace", true) => rows.OrderByDescending(w => w.Namespace).ThenByDescending(w => w.Name),
            ("kind", false) => rows.OrderBy(w => w.Kind).ThenBy(w => w.Id),
            ("kind", true) => rows.OrderByDescending(w => w.Kind).ThenByDescending(w => w.Id),
            ("policy", false) => rows.OrderBy(w => w.Policy).ThenBy(w => w.Id),
            ("policy", true) => rows.OrderByDescending(w => w.Policy).ThenByDescending(w => w.Id),
            ("approvals", false) => rows.OrderBy(w => w.ApprovalsRequired).ThenBy(w => w.Id),
            ("approvals", true) => rows.OrderByDescending(w => w.ApprovalsRequired).ThenByDescending(w => w.Id),
            (_, true) => rows.OrderByDescending(w => w.Name).ThenByDescending(w => w.Namespace),
            _ => rows.OrderBy(w => w.Name).ThenBy(w => w.Namespace),
        };
}
