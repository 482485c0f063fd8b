using System.Net.Http.Json;
using KeelPortal.Approvals;
using KeelPortal.Tests.TestSupport;
using KeelPortal.Updates;
using KeelPortal.Workloads;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Npgsql;

namespace KeelPortal.Tests.Data;

/// <summary>
/// <c>Data:Provider=postgres</c> on a real PostgreSQL 15 (a throwaway cluster): the PostgreSQL migrations apply, the
/// job queue and the Data Protection key ring live in the database, and the whole pipeline runs as on SQLite. Races
/// decided by its unique indexes are tested with SQLite's in <see cref="UniqueViolationTests"/>.
/// </summary>
[Collection(AppHosts.Name)]
public sealed class PostgresTests
{
    private static Dictionary<string, string> Keel(params (string Key, string Value)[] pairs) => pairs.ToDictionary(p => p.Key, p => p.Value);

    private static async Task<long> CountAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), System.Globalization.CultureInfo.InvariantCulture);
    }

    [Fact]
    public async Task A_throwaway_server_stops_with_its_watchdog_and_is_removed_when_disposed()
    {
        // Killed from outside (as whatever ends a test host's children would): the server's parent-death signal stops it.
        var killed = await PostgresProcess.StartAsync();
        var first = killed.Postmaster!.Value;
        killed.Watchdog.Kill(entireProcessTree: false);
        await Eventually.TrueAsync(() => !PostgresProcess.Running(first), TimeSpan.FromSeconds(20), "the server stopped with its watchdog");
        await killed.DisposeAsync();

        var disposed = await PostgresProcess.StartAsync();
        var second = disposed.Postmaster!.Value;
        await disposed.DisposeAsync();

        Assert.False(Directory.Exists(killed.Folder));
        Assert.False(PostgresProcess.Running(second));
        Assert.False(Directory.Exists(disposed.Folder));
    }

    [Fact]
    public async Task The_pipeline_runs_on_postgres_from_webhook_through_two_votes_to_one_patch()
    {
        await using var postgres = await PostgresProcess.StartAsync();
        var database = await postgres.CreateDatabaseAsync();
        await using var pipeline = await PipelinePortal.StartAsync(configure: portal => portal
            .With("Data:Provider", "postgres").With("Data:ConnectionString", database).With("Workloads:LeaderElection", "off"));
        var repository = pipeline.Repository("team/shop");
        await pipeline.Pusher.PushAsync("team/shop", "1.2.3");
        pipeline.Deploy("shop", $"{repository}:1.2.3", Keel(("keel.sh/policy", "minor")), labels: Keel(("keel.sh/approvals", "2")));
        await pipeline.TrackedAsync("deployment/shop/shop");
        await pipeline.Pusher.PushAsync("team/shop", "1.3.0");

        using (var webhook = pipeline.WebhookClient())
        {
            (await webhook.PostAsJsonAsync("v1/webhooks/native", new { name = repository, tag = "1.3.0" })).EnsureSuccessStatusCode();
        }
        await pipeline.ApprovalAsync("deployment/shop/shop:1.3.0", a => a.State == ApprovalState.Pending);
        (await pipeline.VoteAsync("alice", "deployment/shop/shop:1.3.0")).EnsureSuccessStatusCode();
        var twice = await pipeline.VoteAsync("alice", "deployment/shop/shop:1.3.0");
        (await pipeline.VoteAsync("bob", "deployment/shop/shop:1.3.0")).EnsureSuccessStatusCode();
        var applied = await pipeline.ApprovalAsync("deployment/shop/shop:1.3.0", a => a.State == ApprovalState.Applied);

        // As Keel, a repeat vote answers 200 with the approval unchanged; the body says it did not count.
        Assert.Contains("\"voteNotCounted\"", await twice.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(["alice", "bob"], applied.Votes.OrderBy(v => v.CastAtUtc).Select(v => v.Voter));
        Assert.Equal(1, pipeline.PatchesOf("shop"));
        Assert.Equal($"{repository}:1.3.0", pipeline.ImageOf("shop"));
        // Everything is in PostgreSQL: the records, the job queue's schema and the key ring that protects secrets.
        Assert.Equal(1, await CountAsync(database, "SELECT count(*) FROM \"Approvals\" WHERE \"State\" = 'Applied'"));
        Assert.Equal(1, await CountAsync(database, "SELECT count(*) FROM information_schema.schemata WHERE schema_name = 'hangfire'"));
        var registries = pipeline.Portal.Services.GetRequiredService<KeelPortal.Registries.CredentialStore>();
        await registries.SaveAsync("registry.example.com", "robot", "s3cret-password", "root");
        Assert.True(await CountAsync(database, "SELECT count(*) FROM \"DataProtectionKeys\"") >= 1);
        Assert.Equal(0, await CountAsync(database, "SELECT count(*) FROM \"RegistryCredentials\" WHERE \"ProtectedPassword\" LIKE '%s3cret%'"));
        var board = await pipeline.Portal.Services.GetRequiredService<WorkloadBoard>().QueryAsync(new WorkloadQuery());
        Assert.Equal("shop", board.Rows.Single().Workload.Name);
        // Search ignores case on PostgreSQL as on SQLite.
        Assert.Equal(1, (await pipeline.Portal.Services.GetRequiredService<WorkloadGrid>().QueryAsync(new WorkloadQuery("SHOP/Shop"))).Total);
        Assert.DoesNotContain(pipeline.Portal.Logs.Lines, l => l.Level >= LogLevel.Error);
    }
}
