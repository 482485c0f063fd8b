using System.Globalization;
using System.Reflection;
using System.Runtime.InteropServices;
using KeelPortal.Audit;
using KeelPortal.Data;
using KeelPortal.Workloads;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;

namespace KeelPortal.Approvals;

/// <summary>
/// One audit entry as Keel's <c>types.AuditLog</c> serialises it: Keel's action and resource kind, the person as
/// <c>accountId</c> and <c>username</c>, and KeelPortal's own action name in <c>metadata.action</c>.
/// </summary>
public sealed record KeelAuditLog(
    string Id, DateTime CreatedAt, DateTime UpdatedAt, string AccountId, string Username, string Email, string Action, string ResourceKind,
    string Identifier, string Message, string Payload, string PayloadType, IReadOnlyDictionary<string, string> Metadata);

/// <summary>Keel's <c>AuditLogsResponse</c>: one page of entries and how many match.</summary>
public sealed record KeelAuditPage(IReadOnlyList<KeelAuditLog> Data, int Total, int Limit, int Offset);

/// <summary>Keel's <c>types.AuditLogStats</c>: one day's counts (<c>date</c> as Keel writes it, <c>2026-1-7</c>).</summary>
public sealed record KeelDayStats(string Date, int Webhooks, int Approved, int Rejected, int Updates);

/// <summary>Keel's <c>types.VersionInfo</c>.</summary>
public sealed record KeelVersionInfo(
    string Name, string BuildDate, string Revision, string Version, string ApiVersion, string GoVersion, string Os, string Arch,
    string KernelVersion, bool Experimental);

public static partial class KeelApi
{
    /// <summary>The most entries one audit page returns when the caller sets no limit (Keel returns every entry).</summary>
    public const int MaxAuditPage = 1000;

    private const int StatsDays = 31;

    private static void MapAudit(RouteGroupBuilder v1)
    {
        v1.MapGet("/audit", AuditAsync).RequireAuthorization(Access.AccessSetup.ApiAdminPolicy);
        v1.MapGet("/stats", StatsAsync).RequireAuthorization(Access.AccessSetup.ApiAdminPolicy);
    }

    /// <summary>
    /// Keel's audit page: <c>limit</c> and <c>offset</c>, <c>filter</c> a comma-separated list of resource kinds
    /// (<c>approval</c>, <c>webhook</c>, <c>deployment</c>, <c>chart</c>…; <c>*</c> or none: all), <c>email</c> the person.
    /// Newest first.
    /// </summary>
    private static async Task<Results<Ok<KeelAuditPage>, ProblemHttpResult>> AuditAsync(
        string? limit, string? offset, string? filter, string? email, IDbContextFactory<PortalDbContext> contexts, CancellationToken ct)
    {
        // As Keel: a limit or offset that is not a number is ignored.
        var asked = int.TryParse(limit, NumberStyles.None, CultureInfo.InvariantCulture, out var l) ? l : 0;
        var take = asked > 0 ? Math.Min(asked, MaxAuditPage) : MaxAuditPage;
        var skip = int.TryParse(offset, NumberStyles.None, CultureInfo.InvariantCulture, out var o) ? o : 0;
        var kinds = (filter ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).ToHashSet(StringComparer.OrdinalIgnoreCase);
        var all = kinds.Count == 0 || kinds.Contains("*");
        var person = email?.Trim();

        await using var db = await contexts.CreateDbContextAsync(ct);
        var entries = db.Set<AuditEntry>().AsNoTracking();
        if (!string.IsNullOrEmpty(person))
        {
            entries = entries.Where(e => e.Actor == person);
        }
        var newest = entries.OrderByDescending(e => e.OccurredAtUtc).ThenByDescending(e => e.Id);
        if (all)
        {
            var total = await entries.CountAsync(ct);
            var rows = await newest.Skip(skip).Take(take).ToListAsync(ct);
            return TypedResults.Ok(new KeelAuditPage([.. rows.Select(Keel)], total, asked, skip));
        }
        // The kind is worked out from the action and subject, so the matching rows are found from those two columns alone.
        var heads = await newest.Select(e => new { e.Id, e.Action, e.Subject }).ToListAsync(ct);
        var matching = heads.Where(h => kinds.Contains(KeelKind(h.Action, h.Subject))).Select(h => h.Id).ToList();
        var ids = matching.Skip(skip).Take(take).ToList();
        var byId = await db.Set<AuditEntry>().AsNoTracking().Where(e => ids.Contains(e.Id)).ToDictionaryAsync(e => e.Id, ct);
        return TypedResults.Ok(new KeelAuditPage([.. ids.Where(byId.ContainsKey).Select(id => Keel(byId[id]))], matching.Count, asked, skip));
    }

    private static KeelAuditLog Keel(AuditEntry e)
    {
        var at = DateTime.SpecifyKind(e.OccurredAtUtc, DateTimeKind.Utc);
        return new(
            e.Id.ToString(CultureInfo.InvariantCulture), at, at, e.Actor, e.Actor, "", KeelAction(e.Action, e.Subject),
            KeelKind(e.Action, e.Subject), e.Subject, e.Details ?? "", "", "",
            new Dictionary<string, string>(StringComparer.Ordinal) { ["action"] = e.Action });
    }

    /// <summary>Keel's resource kind of an entry: <c>approval</c>, <c>webhook</c>, the workload's kind, else the action's area (<c>user</c>, <c>token</c>…).</summary>
    internal static string KeelKind(string action, string subject)
    {
        if (action.StartsWith("approval.", StringComparison.Ordinal))
        {
            return "approval";
        }
        if (action.StartsWith("webhook.", StringComparison.Ordinal))
        {
            return "webhook";
        }
        var id = subject.Split(':', 2)[0];
        if (WorkloadId.TryParse(id, out var kind, out _, out _))
        {
            return WorkloadId.ResourceKind(kind);
        }
        var dot = action.IndexOf('.', StringComparison.Ordinal);
        return dot > 0 ? action[..dot] : action;
    }

    /// <summary>Keel's action for an entry: a person's vote is <c>approved</c>, an applied update <c>deployment update</c> (<c>release update</c> for Helm)…</summary>
    internal static string KeelAction(string action, string subject) => action switch
    {
        "approval.voted" => "approved",
        "approval.rejected" => "rejected",
        "approval.expired" => "expired",
        "approval.archived" => "archived",
        "approval.created" => "created",
        "approval.deleted" => "deleted",
        "approval.approved" or "approval.superseded" or "approval.votes-required" or "approval.votes-reset" => "updated",
        "apply.succeeded" => KeelKind(action, subject) == WorkloadId.ResourceKind(WorkloadKind.HelmRelease) ? "release update" : "deployment update",
        "webhook.received" => "created",
        _ => action,
    };

    /// <summary>Keel's statistics: the last 31 days (today first), each with webhooks received, votes to approve, rejections and applied updates.</summary>
    private static async Task<Ok<List<KeelDayStats>>> StatsAsync(IDbContextFactory<PortalDbContext> contexts, TimeProvider time, CancellationToken ct)
    {
        var today = time.GetUtcNow().UtcDateTime.Date;
        var since = today.AddDays(1 - StatsDays);
        string[] counted = ["webhook.received", "approval.voted", "approval.rejected", "apply.succeeded"];
        await using var db = await contexts.CreateDbContextAsync(ct);
        var rows = await db.Set<AuditEntry>().AsNoTracking().Where(e => e.OccurredAtUtc >= since && counted.Contains(e.Action))
            .Select(e => new { e.OccurredAtUtc, e.Action }).ToListAsync(ct);
        var byDay = rows.GroupBy(r => r.OccurredAtUtc.Date).ToDictionary(g => g.Key, g => g.ToList());
        return TypedResults.Ok(Enumerable.Range(0, StatsDays).Select(i => today.AddDays(-i)).Select(day =>
        {
            var of = byDay.GetValueOrDefault(day) ?? [];
            int Count(string action) => of.Count(r => r.Action == action);
            return new KeelDayStats(
                string.Create(CultureInfo.InvariantCulture, $"{day.Year}-{day.Month}-{day.Day}"),
                Count("webhook.received"), Count("approval.voted"), Count("approval.rejected"), Count("apply.succeeded"));
        }).ToList());
    }

    /// <summary>Keel's <c>/version</c>: this build's version and revision, the runtime, the operating system and architecture.</summary>
    private static Ok<KeelVersionInfo> Version()
    {
        var assembly = typeof(KeelApi).Assembly;
        var informational = assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "0.0.0";
        var plus = informational.IndexOf('+', StringComparison.Ordinal);
        var version = plus < 0 ? informational : informational[..plus];
        var revision = plus < 0 ? "" : informational[(plus + 1)..];
        var built = File.Exists(assembly.Location) ? File.GetLastWriteTimeUtc(assembly.Location).ToString("O", CultureInfo.InvariantCulture) : "";
        return TypedResults.Ok(new KeelVersionInfo(
            "keelportal", built, revision, version, "v1", RuntimeInformation.FrameworkDescription,
            OperatingSystem.IsLinux() ? "linux" : OperatingSystem.IsWindows() ? "windows" : OperatingSystem.IsMacOS() ? "darwin" : "unknown",
            RuntimeInformation.OSArchitecture.ToString().ToLowerInvariant() switch { "x64" => "amd64", var a => a },
            Environment.OSVersion.Version.ToString(), false));
    }
}
