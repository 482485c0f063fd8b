using System.Data.Common;
using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using KeelPortal.Access;
using KeelPortal.Approvals;
using KeelPortal.Data;
using KeelPortal.Notifications;
using KeelPortal.Sandbox.Cluster;
using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;

namespace KeelPortal.Tests.TestSupport;

/// <summary>
/// Portal processes (<c>dotnet KeelPortal.dll</c>, see <see cref="PortalProcess"/>) on one database with the Kubernetes
/// API test server (the chart's RBAC for several replicas, leases included), the real registry and a loopback
/// notification receiver with a default channel "ops". Several replicas need PostgreSQL; one may run on SQLite.
/// Accounts alice and bob (Approvers) are written before the replicas start.
/// </summary>
public sealed class PortalFleet : IAsyncDisposable
{
    private readonly List<IAsyncDisposable> parts = [];

    /// <summary>The PostgreSQL connection string, or the SQLite data folder's connection string.</summary>
    public required string Database { get; init; }

    public required bool OnPostgres { get; init; }

    /// <summary>Where a SQLite fleet keeps its files (its job storage and key ring beside the database).</summary>
    public required string DataDirectory { get; init; }

    public required KubeApiServer Cluster { get; init; }

    public required RegistryProcess Registry { get; init; }

    public required ImagePusher Pusher { get; init; }

    public required WebhookReceiver Receiver { get; init; }

    public List<PortalProcess> Replicas { get; } = [];

    public static async Task<PortalFleet> StartAsync(int replicas = 3, bool postgres = true, IReadOnlyDictionary<string, string>? settings = null)
    {
        if (replicas > 1 && !postgres)
        {
            throw new ArgumentException("several replicas need PostgreSQL", nameof(replicas));
        }
        var started = new List<IAsyncDisposable>();
        try
        {
            PostgresProcess? server = null;
            if (postgres)
            {
                server = await PostgresProcess.StartAsync();
                started.Add(server);
            }
            var data = Directory.CreateTempSubdirectory("keelportal-fleet-").FullName;
            var cluster = await KubeApiServer.StartAsync();
            started.Add(cluster);
            cluster.AutoRollout = true;
            cluster.Rbac = await ReplicaPortal.ChartRbacAsync();
            cluster.Create(KubeObjects.Node("node-a"));
            var registry = await RegistryProcess.StartAsync(RegistryAuth.Anonymous);
            started.Add(registry);
            var receiver = await WebhookReceiver.StartAsync();
            started.Add(receiver);
            var fleet = new PortalFleet
            {
                Database = server is not null ? await server.CreateDatabaseAsync() : $"Data Source={Path.Combine(data, "portal.db")}",
                OnPostgres = postgres, DataDirectory = data, Cluster = cluster, Registry = registry,
                Pusher = new ImagePusher(registry), Receiver = receiver,
            };
            started.Reverse();
            fleet.parts.AddRange(started);
            started.Clear();
            try
            {
                await fleet.StartReplicasAsync(replicas, settings ?? new Dictionary<string, string>());
            }
            catch
            {
                await fleet.DisposeAsync();
                throw;
            }
            return fleet;
        }
        finally
        {
            foreach (var part in Enumerable.Reverse(started))
            {
                await part.DisposeAsync();
            }
        }
    }

    /// <summary>API tokens of alice and bob (votes without a password hash per request).</summary>
    public Dictionary<string, string> Tokens { get; } = new(StringComparer.Ordinal);

    private IReadOnlyDictionary<string, string> extraSettings = new Dictionary<string, string>();

    /// <summary>Starts a replica again after it was killed: a new process with the same name and settings, in its place.</summary>
    public async Task<PortalProcess> RestartAsync(PortalProcess replica)
    {
        await replica.DisposeAsync();
        var settings = Settings(replica.Name);
        foreach (var (key, value) in extraSettings)
        {
            settings[key] = value;
        }
        var fresh = await PortalProcess.StartAsync(replica.Name, settings);
        Replicas[Replicas.IndexOf(replica)] = fresh;
        return fresh;
    }

    private async Task StartReplicasAsync(int count, IReadOnlyDictionary<string, string> extra)
    {
        extraSettings = extra;
        // Accounts and the channel, written once to the shared database (and its key ring).
        await using (var seed = Seed())
        {
            foreach (var user in new[] { "alice", "bob" })
            {
                await seed.EnsureUserAsync(user, "Approver");
                Tokens[user] = (await seed.Services.GetRequiredService<AccountService>().CreateTokenAsync(user, "fleet", "root")).Token!;
            }
            await seed.Services.GetRequiredService<ChannelDirectory>().SaveAsync(
                new ChannelInput(null, "ops", ChannelType.Webhook, Receiver.Url("ops").AbsoluteUri, null, null, null, NotificationEvents.All, NotificationLevel.Info, true, Enabled: true), "root");
        }
        // The seed migrated the database, so the replicas start side by side.
        var starting = Enumerable.Range(1, count).Select(i =>
        {
            var settings = Settings($"replica-{i}");
            foreach (var (key, value) in extra)
            {
                settings[key] = value;
            }
            return PortalProcess.StartAsync($"replica-{i}", settings);
        }).ToList();
        try
        {
            Replicas.AddRange(await Task.WhenAll(starting));
        }
        catch
        {
            foreach (var started in starting.Where(t => t.IsCompletedSuccessfully))
            {
                await started.Result.DisposeAsync();
            }
            throw;
        }
        if (OnPostgres)
        {
            await Eventually.TrueAsync(() => LeaseHolder() is not null, TimeSpan.FromSeconds(30), "a replica holds the lease");
        }
    }

    private PortalFactory Seed() => OnPostgres
        ? new PortalFactory().With("Data:Provider", "postgres").With("Data:ConnectionString", Database).With("Workloads:LeaderElection", "off")
        : new PortalFactory().With("Data:Provider", "sqlite").With("Data:ConnectionString", Database)
            .With("Jobs:StoragePath", Path.Combine(DataDirectory, "hangfire.db")).With("Data:KeysPath", Path.Combine(DataDirectory, "keys"));

    private Dictionary<string, string> Settings(string name) => new()
    {
        ["Data:Provider"] = OnPostgres ? "postgres" : "sqlite", ["Data:ConnectionString"] = Database,
        ["Jobs:StoragePath"] = Path.Combine(DataDirectory, "hangfire.db"), ["Data:KeysPath"] = Path.Combine(DataDirectory, "keys"),
        ["Workloads:Server"] = Cluster.Url, ["Workloads:Token"] = ChartRbac.PortalToken, ["Workloads:ReconnectDelay"] = "00:00:00.100",
        ["Workloads:LeaderElection"] = OnPostgres ? "on" : "off", ["Workloads:LeaseNamespace"] = "keel", ["Workloads:LeaseDuration"] = "00:00:05",
        ["Workloads:ReplicaName"] = name,
        ["Triggers:WebhookSecret"] = PipelinePortal.WebhookSecret,
        ["Registries:RetryBaseDelay"] = "00:00:00.020",
        ["Work:FirstRetryDelay"] = "00:00:00.100", ["Work:Lease"] = "00:00:05",
        ["Jobs:InvisibilityTimeout"] = "00:00:03",
        ["Notifications:AttemptTimeout"] = "00:05:00",
    };

    public string Repository(string name) => $"{Registry.Host}/team/{name}";

    public async Task DeployAsync(string name, int approvals)
    {
        await Pusher.PushAsync($"team/{name}", "1.0.0");
        Cluster.Create(KubeObjects.Workload("Deployment", "shop", name,
            labels: new Dictionary<string, string> { ["keel.sh/approvals"] = approvals.ToString(CultureInfo.InvariantCulture) },
            annotations: new Dictionary<string, string> { ["keel.sh/policy"] = "minor" },
            containers: [("app", $"{Repository(name)}:1.0.0")]));
        await Eventually.TrueAsync(async () => await CountAsync($"SELECT count(*) FROM \"Workloads\" WHERE \"Id\" = 'deployment/shop/{name}' AND \"IsTracked\"") == 1,
            TimeSpan.FromSeconds(20), $"{name} is tracked");
    }

    public async Task WebhookAsync(PortalProcess replica, string name, string tag)
    {
        using var client = new HttpClient { BaseAddress = replica.Url };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", PipelinePortal.WebhookSecret);
        (await client.PostAsJsonAsync("v1/webhooks/native", new { name = Repository(name), tag })).EnsureSuccessStatusCode();
    }

    public async Task VoteAsync(PortalProcess replica, string user, string name)
    {
        var approval = await ApprovalAsync(name, a => a.State == ApprovalState.Pending);
        using var client = new HttpClient { BaseAddress = replica.Url };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", Tokens[user]);
        var answer = await client.PostAsJsonAsync("v1/approvals", new { identifier = approval.Identifier, action = "approve", voter = user });
        Assert.True(answer.IsSuccessStatusCode, $"{user}'s vote on {replica.Name}: {(int)answer.StatusCode} {await answer.Content.ReadAsStringAsync()}");
    }

    public async Task<Approval> ApprovalAsync(string name, Func<Approval, bool> condition, TimeSpan? timeout = null) =>
        await Eventually.ValueAsync(async () =>
        {
            await using var db = Context();
            return await db.Set<Approval>().AsNoTracking().Include(a => a.Votes).Where(a => a.WorkloadId == $"deployment/shop/{name}").OrderByDescending(a => a.Id).FirstOrDefaultAsync();
        }, a => a is not null && condition(a), $"the approval of {name}", timeout ?? TimeSpan.FromSeconds(30)) ?? throw new InvalidOperationException();

    /// <summary>Waits until no work is left: every event handled, every delivery finished.</summary>
    public async Task SettledAsync() =>
        await Eventually.TrueAsync(async () =>
            await CountAsync("SELECT count(*) FROM \"PortalEvents\" WHERE \"Work\" AND \"HandledAtUtc\" IS NULL") == 0
            && await CountAsync("SELECT count(*) FROM \"NotificationDeliveries\" WHERE \"State\" IN ('Pending', 'Retrying')") == 0,
            TimeSpan.FromSeconds(45), "every event handled and every delivery finished");

    /// <summary>"name Event" of every message the receiver got.</summary>
    public List<string> Messages() => Receiver.At("ops")
        .Select(m => $"{m.Json["metadata"]!["name"]!.GetValue<string>()} {m.Json["metadata"]!["event"]!.GetValue<string>()}").ToList();

    public string ImageOf(string name) =>
        Cluster.Get("Deployment", "shop", name)!["spec"]!["template"]!["spec"]!["containers"]![0]!["image"]!.GetValue<string>();

    public string? LeaseHolder() =>
        Cluster.Get("Lease", "keel", "keelportal-watcher")?["spec"]?["holderIdentity"]?.GetValue<string>();

    /// <summary>The replica that claimed the newest event of this type (the one doing its work).</summary>
    public async Task<PortalProcess> ClaimerOfAsync(string type)
    {
        await using var db = Context();
        var claimer = await db.Set<PortalEvent>().Where(e => e.Type == type).OrderByDescending(e => e.Id).Select(e => e.ClaimedBy).FirstAsync();
        return Replicas.Single(r => r.ClaimName == claimer);
    }

    /// <summary>The replica that holds the claim on a notification delivery now (from the outbox).</summary>
    public async Task<PortalProcess> DeliveringReplicaAsync()
    {
        var claimer = await Eventually.ValueAsync(() => ScalarAsync<string?>(
            """
            SELECT "ClaimedBy" FROM "PortalEvents"
            WHERE "Type" = 'DeliveryDue' AND "HandledAtUtc" IS NULL AND "ClaimedUntilUtc" IS NOT NULL ORDER BY "Id" DESC LIMIT 1
            """), s => s is not null, "a delivery being sent");
        return Replicas.Single(r => r.ClaimName == claimer);
    }

    public async Task<long> CountAsync(string sql) => Convert.ToInt64(await ScalarAsync<object>(sql), CultureInfo.InvariantCulture);

    private async Task<T?> ScalarAsync<T>(string sql)
    {
        await using DbConnection connection = OnPostgres ? new NpgsqlConnection(Database) : new SqliteConnection(Database);
        await connection.OpenAsync();
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        var value = await command.ExecuteScalarAsync();
        return value is null or DBNull ? default : (T)value;
    }

    public PortalDbContext Context() => OnPostgres
        ? new PostgresDbContext(new DbContextOptionsBuilder<PostgresDbContext>().UseNpgsql(Database).Options)
        : new PortalDbContext(new DbContextOptionsBuilder<PortalDbContext>().UseSqlite(Database).Options);

    public async ValueTask DisposeAsync()
    {
        foreach (var replica in Replicas)
        {
            await replica.DisposeAsync();
        }
        Pusher.Dispose();
        foreach (var part in parts)
        {
            await part.DisposeAsync();
        }
        SqliteConnection.ClearAllPools();
        Directory.Delete(DataDirectory, recursive: true);
    }
}
