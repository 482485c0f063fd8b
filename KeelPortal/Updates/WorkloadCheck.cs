using KeelPortal.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace KeelPortal.Updates;

/// <summary>
/// The last time the portal read one of a workload's repositories for it: the version it runs, the best candidate the
/// policy allowed (null: none), the policy's summary, or why the registry could not be read. The console's status
/// ("update available", "registry unreadable", "up to date, checked 3 min ago") is made of these facts only.
/// </summary>
public sealed class WorkloadCheck
{
    public required string WorkloadId { get; set; }
    public required string Repository { get; set; }
    public required string Current { get; set; }
    public string? Best { get; set; }
    public required string Summary { get; set; }
    public string? Error { get; set; }
    public DateTime CheckedAtUtc { get; set; }

    /// <summary>When the registry was last read without an error (kept while it fails).</summary>
    public DateTime? SucceededAtUtc { get; set; }
}

internal sealed class WorkloadCheckConfiguration : IEntityTypeConfiguration<WorkloadCheck>
{
    public void Configure(EntityTypeBuilder<WorkloadCheck> builder)
    {
        builder.ToTable("WorkloadChecks");
        builder.HasKey(c => new { c.WorkloadId, c.Repository });
        builder.Property(c => c.WorkloadId).HasMaxLength(600);
        builder.Property(c => c.Repository).HasMaxLength(500);
        builder.Property(c => c.Current).HasMaxLength(300);
        builder.Property(c => c.Best).HasMaxLength(300);
        builder.Property(c => c.Summary).HasMaxLength(2000);
        builder.Property(c => c.Error).HasMaxLength(2000);
    }
}

/// <summary>Writes and reads <see cref="WorkloadCheck"/>s; every write is one upsert, safe from any number of planners at once.</summary>
public sealed class WorkloadChecks(IDbContextFactory<PortalDbContext> contexts, TimeProvider time)
{
    private const int MaxText = 2000;

    /// <summary>The registry was read for the workload and the policy decided: <paramref name="best"/> is the candidate, or null.</summary>
    public async Task CheckedAsync(string workloadId, string repository, string current, string? best, string summary, CancellationToken ct = default)
    {
        var now = time.GetUtcNow().UtcDateTime;
        await using var db = await contexts.CreateDbContextAsync(ct);
        var text = Cut(summary);
        await db.Database.ExecuteSqlInterpolatedAsync($"""
            INSERT INTO "WorkloadChecks" ("WorkloadId", "Repository", "Current", "Best", "Summary", "Error", "CheckedAtUtc", "SucceededAtUtc")
            VALUES ({workloadId}, {repository}, {current}, {best}, {text}, NULL, {now}, {now})
            ON CONFLICT ("WorkloadId", "Repository") DO UPDATE SET "Current" = {current}, "Best" = {best}, "Summary" = {text},
                "Error" = NULL, "CheckedAtUtc" = {now}, "SucceededAtUtc" = {now}
            """, ct);
    }

    /// <summary>The registry could not be read for these workloads: the reason is kept, the last known candidate too.</summary>
    public async Task FailedAsync(IEnumerable<(string WorkloadId, string Current)> workloads, string repository, string reason, CancellationToken ct = default)
    {
        var now = time.GetUtcNow().UtcDateTime;
        var text = Cut(reason);
        await using var db = await contexts.CreateDbContextAsync(ct);
        foreach (var (workloadId, current) in workloads)
        {
            await db.Database.ExecuteSqlInterpolatedAsync($"""
                INSERT INTO "WorkloadChecks" ("WorkloadId", "Repository", "Current", "Best", "Summary", "Error", "CheckedAtUtc", "SucceededAtUtc")
                VALUES ({workloadId}, {repository}, {current}, NULL, {"the registry could not be read"}, {text}, {now}, NULL)
                ON CONFLICT ("WorkloadId", "Repository") DO UPDATE SET "Error" = {text}, "CheckedAtUtc" = {now}
                """, ct);
        }
    }

    /// <summary>A version was applied: it is no longer a candidate, it is what the workload runs.</summary>
    public async Task AppliedAsync(string workloadId, string repository, string version, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        await db.Set<WorkloadCheck>().Where(c => c.WorkloadId == workloadId && c.Repository == repository)
            .ExecuteUpdateAsync(s => s.SetProperty(c => c.Best, c => c.Best == version ? null : c.Best).SetProperty(c => c.Current, version), ct);
    }

    public async Task<IReadOnlyList<WorkloadCheck>> ForWorkloadAsync(string workloadId, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        return await db.Set<WorkloadCheck>().AsNoTracking().Where(c => c.WorkloadId == workloadId).OrderBy(c => c.Repository).ToListAsync(ct);
    }

    private static string Cut(string text) => text.Length > MaxText ? text[..(MaxText - 1)] + "…" : text;
}
