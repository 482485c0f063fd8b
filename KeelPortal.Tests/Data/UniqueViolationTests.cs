using KeelPortal.Approvals;
using KeelPortal.Data;
using KeelPortal.Tests.TestSupport;
using KeelPortal.Workloads;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace KeelPortal.Tests.Data;

/// <summary>A unique index deciding a race is expected and quiet; any other database failure is not "lost the race".</summary>
[Collection(AppHosts.Name)]
public sealed class UniqueViolationTests
{
    [Theory]
    [InlineData(19, 2067, true)]   // SQLITE_CONSTRAINT_UNIQUE
    [InlineData(19, 1555, true)]   // SQLITE_CONSTRAINT_PRIMARYKEY
    [InlineData(19, 787, false)]   // SQLITE_CONSTRAINT_FOREIGNKEY
    [InlineData(19, 1299, false)]  // SQLITE_CONSTRAINT_NOTNULL
    [InlineData(5, 5, false)]      // SQLITE_BUSY
    [InlineData(13, 13, false)]    // SQLITE_FULL
    public void Only_unique_and_primary_key_violations_count_as_a_lost_race(int code, int extended, bool expected)
    {
        var exception = new DbUpdateException("save failed", new SqliteException("constraint", code, extended));

        Assert.Equal(expected, exception.IsUniqueViolation());
    }

    [Fact]
    public void A_failure_without_a_database_cause_is_not_a_lost_race() =>
        Assert.False(new DbUpdateException("save failed", new InvalidOperationException("boom")).IsUniqueViolation());

    [Theory]
    [InlineData("sqlite")]
    [InlineData("postgres")]
    public async Task Concurrent_proposals_for_one_workload_leave_one_pending_and_log_no_error(string provider)
    {
        // On PostgreSQL (a throwaway cluster) the race is decided by the same filtered unique index, error 23505.
        await using var postgres = provider == "postgres" ? await PostgresProcess.StartAsync() : null;
        await using var portal = postgres is null ? new PortalFactory()
            : new PortalFactory().With("Data:Provider", "postgres").With("Data:ConnectionString", await postgres.CreateDatabaseAsync());
        var book = portal.Services.GetRequiredService<ApprovalBook>();

        var results = await Task.WhenAll(Enumerable.Range(0, 12).Select(i => Task.Run(() => book.ProposeAsync(
            new Proposal("deployment/shop/web", "registry.example.com/shop/web", "1.0.0", $"1.0.{i + 1}", null,
                [new ImageUpdate("app", $"registry.example.com/shop/web:1.0.{i + 1}")], 2, TimeSpan.FromHours(1), "eligible"),
            _ => false))));

        var pending = (await book.ForWorkloadAsync("deployment/shop/web")).Where(a => a.State == ApprovalState.Pending).ToList();
        Assert.Single(pending);
        Assert.Contains(results, r => r.Outcome == ProposalOutcome.Created);
        Assert.DoesNotContain(portal.Logs.Lines, l => l.Level >= LogLevel.Error);
    }
}
