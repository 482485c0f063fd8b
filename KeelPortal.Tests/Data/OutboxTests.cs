using Bunit;
using KeelPortal.Access;
using KeelPortal.Approvals;
using KeelPortal.Data;
using KeelPortal.Notifications;
using KeelPortal.Tests.Notifications;
using KeelPortal.Tests.TestSupport;
using KeelPortal.Workloads;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;

namespace KeelPortal.Tests.Data;

/// <summary>
/// The outbox: a change and its event commit together or not at all; every replica's pages hear of every change;
/// work an event carries (a notification, an apply) starts once, also after the process that committed it died before
/// telling anyone, and after a replica died holding its claim.
/// </summary>
[Collection(AppHosts.Name)]
public sealed class OutboxTests
{
    private static Approval PendingApproval(string workload, string version, DateTime now) => new()
    {
        Identifier = ApprovalBook.IdentifierOf(workload, version), WorkloadId = workload, Repository = "registry.example.com/team/web",
        CurrentVersion = "1.0.0", NewVersion = version, ImagesJson = "[]", Message = ApprovalBook.MessageOf(workload, "1.0.0", version),
        VotesRequired = 1, DeadlineUtc = now.AddHours(1), State = ApprovalState.Pending, Reason = "test", CreatedAtUtc = now, UpdatedAtUtc = now,
    };

    [Fact]
    public async Task A_change_rolled_back_leaves_no_event_and_a_committed_one_reaches_the_pages()
    {
        await using var portal = new PortalFactory();
        var outbox = portal.Services.GetRequiredService<Outbox>();
        var contexts = portal.Services.GetRequiredService<IDbContextFactory<PortalDbContext>>();
        var heard = new List<WorkloadsChanged>();
        using var subscription = portal.Services.GetRequiredService<EventHub>().Subscribe<WorkloadsChanged>(c =>
        {
            lock (heard)
            {
                heard.Add(c);
            }
        });

        await using (var db = await contexts.CreateDbContextAsync())
        {
            await using var transaction = await db.Database.BeginTransactionAsync();
            outbox.Stage(db, new WorkloadsChanged(["deployment/shop/rolled-back"]));
            await db.SaveChangesAsync();
            await transaction.RollbackAsync();
        }
        await using (var db = await contexts.CreateDbContextAsync())
        {
            await using var transaction = await db.Database.BeginTransactionAsync();
            outbox.Stage(db, new WorkloadsChanged(["deployment/shop/committed"]));
            await db.SaveChangesAsync();
            await transaction.CommitAsync();
        }

        await Eventually.TrueAsync(() => { lock (heard) { return heard.Count > 0; } }, TimeSpan.FromSeconds(10), "the committed event reaches the pages");
        await using (var db = await contexts.CreateDbContextAsync())
        {
            var types = await db.Set<PortalEvent>().Select(e => e.Payload).ToListAsync();
            Assert.Contains(types, p => p.Contains("committed", StringComparison.Ordinal));
            Assert.DoesNotContain(types, p => p.Contains("rolled-back", StringComparison.Ordinal));
        }
        lock (heard)
        {
            Assert.Equal(["deployment/shop/committed"], heard.SelectMany(h => h.Ids));
        }
        // Only registered messages are written; nothing else can be read back into a type.
        await using (var db = await contexts.CreateDbContextAsync())
        {
            Assert.Throws<InvalidOperationException>(() => outbox.Stage(db, new Uri("https://example.com")));
        }
    }

    /// <summary>A piece of work only this test's handler acts on; <paramref name="Fail"/> makes it throw, <paramref name="WaitFor"/> makes it wait first.</summary>
    public sealed record TestWork(string Name, bool Fail = false, TimeSpan? WaitFor = null);

    /// <summary>What the test handler saw: each attempt, by name.</summary>
    public sealed class TestWorkLog
    {
        public List<(string Name, int Attempt)> Done { get; } = [];

        public bool Saw(string name)
        {
            lock (Done)
            {
                return Done.Any(d => d.Name == name);
            }
        }
    }

    private sealed class TestWorkHandler(TestWorkLog log, TimeProvider time) : IMessageHandler<TestWork>
    {
        public Task<WorkResult> HandleAsync(TestWork message, WorkContext work, CancellationToken ct)
        {
            lock (log.Done)
            {
                log.Done.Add((message.Name, work.Attempt));
            }
            if (message.WaitFor is { } wait && work.Attempt == 1 && log.Done.Count(d => d.Name == message.Name) == 1)
            {
                return Task.FromResult(WorkResult.WaitUntil(time.GetUtcNow().UtcDateTime + wait, "not yet"));
            }
            return message.Fail ? throw new InvalidOperationException($"{message.Name} cannot be done") : Task.FromResult(WorkResult.Done);
        }
    }

    /// <summary>Work committed, claimed, by a replica that died right after (its claim runs for the lease, from now).</summary>
    private static async Task OrphanAsync(PortalDbContext db, TestWork message, TimeSpan lease)
    {
        var now = DateTime.UtcNow;
        db.Add(new PortalEvent
        {
            Type = nameof(TestWork), Payload = System.Text.Json.JsonSerializer.Serialize(message, System.Text.Json.JsonSerializerOptions.Web),
            OccurredAtUtc = now, Work = true, ClaimedBy = "replica-gone", ClaimToken = "gone", ClaimedUntilUtc = now + lease, Attempts = 1,
        });
        await db.SaveChangesAsync();
    }

    private static PortalFactory WorkPortal(TestWorkLog log) => new PortalFactory()
        .With("Data:EventPollInterval", "00:00:00.200").With("Work:Lease", "00:00:02")
        .With("Work:FirstRetryDelay", "00:00:00.100").With("Work:MaxAttempts", "3")
        .WithServices(s =>
        {
            s.AddSingleton(log);
            s.AddHandler<TestWork, TestWorkHandler>();
        });

    [Fact]
    public async Task Work_starts_here_after_the_commit_and_what_a_dead_replica_claimed_is_taken_over_once_its_lease_runs_out()
    {
        var log = new TestWorkLog();
        await using var portal = WorkPortal(log);
        var outbox = portal.Services.GetRequiredService<Outbox>();
        var contexts = portal.Services.GetRequiredService<IDbContextFactory<PortalDbContext>>();
        await using (var db = await contexts.CreateDbContextAsync())
        {
            await using var transaction = await db.Database.BeginTransactionAsync();
            outbox.Stage(db, new TestWork("here"));
            await db.SaveChangesAsync();
            // The orphan: committed, claimed, by a replica that died right after its commit (its claim runs for the lease).
            await OrphanAsync(db, new TestWork("orphan"), portal.Services.GetRequiredService<IOptions<WorkOptions>>().Value.Lease);
            // Not started before the commit.
            await Task.Yield();
            Assert.False(log.Saw("here"), "work started before its transaction committed");
            await transaction.CommitAsync();
        }
        var committed = System.Diagnostics.Stopwatch.StartNew();

        await Eventually.TrueAsync(() => Task.FromResult(log.Saw("here")), TimeSpan.FromSeconds(10), "the work started here");
        await Eventually.TrueAsync(() => Task.FromResult(log.Saw("orphan")), TimeSpan.FromSeconds(20), "a relay took the orphan over");
        Assert.True(committed.Elapsed >= TimeSpan.FromSeconds(1.5), "the orphan waited for its claim to run out");
        await Eventually.TrueAsync(async () =>
        {
            await using var db = await contexts.CreateDbContextAsync();
            return await db.Set<PortalEvent>().Where(e => e.Type == nameof(TestWork)).AllAsync(e => e.HandledAtUtc != null);
        }, TimeSpan.FromSeconds(10), "both are marked handled");
        // More relay rounds find nothing to do again: each ran once, the first on its first attempt.
        await portal.Services.GetRequiredService<EventRelay>().RunOnceAsync(CancellationToken.None);
        lock (log.Done)
        {
            Assert.Equal([("here", 1), ("orphan", 2)], log.Done);
        }
    }

    [Fact]
    public async Task Work_that_throws_is_retried_by_the_one_policy_and_ends_a_dead_letter_with_its_reason_audited_and_revivable()
    {
        var log = new TestWorkLog();
        await using var portal = WorkPortal(log);
        var outbox = portal.Services.GetRequiredService<Outbox>();
        var contexts = portal.Services.GetRequiredService<IDbContextFactory<PortalDbContext>>();
        var runner = portal.Services.GetRequiredService<WorkRunner>();
        await using (var db = await contexts.CreateDbContextAsync())
        {
            outbox.Stage(db, new TestWork("broken", Fail: true));
            outbox.Stage(db, new TestWork("later", WaitFor: TimeSpan.FromMilliseconds(300)));
            await db.SaveChangesAsync();
        }

        var dead = (await Eventually.ValueAsync(async () => (await runner.DeadLettersAsync()).SingleOrDefault(), d => d is not null,
            "the broken work given up", TimeSpan.FromSeconds(20)))!;
        await Eventually.TrueAsync(() => { lock (log.Done) { return Task.FromResult(log.Done.Count(d => d.Name == "later") == 2); } },
            TimeSpan.FromSeconds(10), "the waiting work ran again when its time came");
        lock (log.Done)
        {
            Assert.Equal([1, 2, 3], log.Done.Where(d => d.Name == "broken").Select(d => d.Attempt));
            // Waiting for its time is not an attempt: the waiting work ran twice, both times as its first attempt.
            Assert.Equal([1, 1], log.Done.Where(d => d.Name == "later").Select(d => d.Attempt));
        }
        Assert.Equal(nameof(TestWork), dead.Type);
        Assert.Contains("given up after 3 attempt(s)", dead.LastError, StringComparison.Ordinal);
        Assert.Contains("broken cannot be done", dead.LastError, StringComparison.Ordinal);
        var audit = await portal.Services.GetRequiredService<KeelPortal.Audit.AuditTrail>().QueryAsync(new KeelPortal.Audit.AuditQuery(Action: "work.dead-lettered"));
        var entry = Assert.Single(audit.Entries);
        Assert.Equal($"work/{dead.Id}", entry.Subject);
        Assert.Contains("broken cannot be done", entry.Details, StringComparison.Ordinal);

        // A person revives it: three more attempts, and it is a dead letter again (it still throws).
        Assert.True(await runner.ReviveAsync(dead.Id));
        await Eventually.TrueAsync(() => { lock (log.Done) { return Task.FromResult(log.Done.Count(d => d.Name == "broken") == 6); } },
            TimeSpan.FromSeconds(20), "revived work tried again");
        await Eventually.ValueAsync(async () => (await runner.DeadLettersAsync()).SingleOrDefault(), d => d is not null, "given up again", TimeSpan.FromSeconds(20));
    }

    [Fact]
    public async Task Administrators_see_work_given_up_with_its_reason_and_try_it_again_and_a_demoted_one_is_refused()
    {
        var log = new TestWorkLog();
        await using var portal = WorkPortal(log);
        await portal.EnsureUserAsync("root", Roles.Admin);
        await portal.EnsureUserAsync("eve", Roles.Viewer);
        var outbox = portal.Services.GetRequiredService<Outbox>();
        var runner = portal.Services.GetRequiredService<WorkRunner>();
        await using (var db = await portal.Services.GetRequiredService<IDbContextFactory<PortalDbContext>>().CreateDbContextAsync())
        {
            outbox.Stage(db, new TestWork("broken", Fail: true));
            await db.SaveChangesAsync();
        }
        var dead = (await Eventually.ValueAsync(async () => (await runner.DeadLettersAsync()).SingleOrDefault(), d => d is not null,
            "the broken work given up", TimeSpan.FromSeconds(20)))!;

        // Eve's open page still shows her as an administrator; she was demoted since: the click is refused.
        await using (var stale = ConsoleContext.Create(portal.Services, "eve", Roles.Admin))
        {
            var panel = stale.Render<KeelPortal.Overview.DeadLettersPanel>();
            panel.WaitForAssertion(() => Assert.Contains("broken cannot be done", panel.Find("[data-testid=dead-letters]").TextContent, StringComparison.Ordinal));
            await panel.Find("[data-testid=dead-letters] button").ClickAsync(new());
            Assert.Equal(dead.Id, Assert.Single(await runner.DeadLettersAsync()).Id);
        }
        // A viewer is not shown the panel.
        await using (var viewer = ConsoleContext.Create(portal.Services, "eve", Roles.Viewer))
        {
            Assert.Empty(viewer.Render<KeelPortal.Overview.DeadLettersPanel>().FindAll("[data-testid=dead-letters]"));
        }
        await using var console = ConsoleContext.Create(portal.Services, "root", Roles.Admin);
        var page = console.Render<KeelPortal.Overview.DeadLettersPanel>();
        page.WaitForAssertion(() => Assert.Contains($"TestWork #{dead.Id}", page.Find("[data-testid=dead-letters]").TextContent, StringComparison.Ordinal));

        await page.Find("[data-testid=dead-letters] button").ClickAsync(new());

        await Eventually.TrueAsync(() => { lock (log.Done) { return Task.FromResult(log.Done.Count(d => d.Name == "broken") > 3); } },
            TimeSpan.FromSeconds(20), "the revived work tried again");
        var audit = await portal.Services.GetRequiredService<KeelPortal.Audit.AuditTrail>().QueryAsync(new KeelPortal.Audit.AuditQuery(Action: "work.revived"));
        Assert.Equal(("root", $"work/{dead.Id}"), (Assert.Single(audit.Entries).Actor, audit.Entries[0].Subject));
    }

    /// <summary>Work of one lane; <paramref name="Block"/> makes its handler run until the host stops.</summary>
    public sealed record LaneWork(string Name, bool Block = false);

    private sealed class LaneWorkHandler(TestWorkLog log) : IMessageHandler<LaneWork>
    {
        public async Task<WorkResult> HandleAsync(LaneWork message, WorkContext work, CancellationToken ct)
        {
            lock (log.Done)
            {
                log.Done.Add((message.Name, work.Attempt));
            }
            if (message.Block)
            {
                await Task.Delay(Timeout.Infinite, ct);
            }
            return WorkResult.Done;
        }
    }

    [Fact]
    public async Task Stopping_gives_back_the_work_it_runs_and_the_work_queued_behind_it_without_counting_an_attempt()
    {
        var log = new TestWorkLog();
        await using var portal = new PortalFactory().With("Work:Lease", "00:05:00")
            .WithServices(s =>
            {
                s.AddSingleton(log);
                s.AddHandler<LaneWork, LaneWorkHandler>(lane: "test-lane");
            });
        var contexts = portal.Services.GetRequiredService<IDbContextFactory<PortalDbContext>>();
        var outbox = portal.Services.GetRequiredService<Outbox>();
        await using (var db = await contexts.CreateDbContextAsync())
        {
            await using var transaction = await db.Database.BeginTransactionAsync();
            outbox.Stage(db, new LaneWork("running", Block: true));
            outbox.Stage(db, new LaneWork("queued"));
            await db.SaveChangesAsync();
            await transaction.CommitAsync();
        }
        await Eventually.TrueAsync(() => Task.FromResult(log.Saw("running")), TimeSpan.FromSeconds(10), "the first work of the lane runs");

        await portal.Services.GetRequiredService<WorkRunner>().StopAsync(CancellationToken.None);

        // Both claims are free at once (not after the 5-minute lease), and neither counts as an attempt.
        await using (var db = await contexts.CreateDbContextAsync())
        {
            var rows = await db.Set<PortalEvent>().Where(e => e.Type == nameof(LaneWork)).OrderBy(e => e.Id).ToListAsync();
            Assert.All(rows, r => Assert.Null(r.ClaimedUntilUtc));
            Assert.All(rows, r => Assert.Equal(0, r.Attempts));
            Assert.All(rows, r => Assert.Null(r.HandledAtUtc));
        }
        Assert.False(log.Saw("queued"), "the queued work did not start here");
    }

    [Fact]
    public async Task A_claim_taken_over_can_neither_act_nor_finish()
    {
        var log = new TestWorkLog();
        await using var portal = WorkPortal(log);
        var contexts = portal.Services.GetRequiredService<IDbContextFactory<PortalDbContext>>();
        var outbox = portal.Services.GetRequiredService<Outbox>();
        long id;
        await using (var db = await contexts.CreateDbContextAsync())
        {
            outbox.Stage(db, new TestWork("held"));
            // Written as another replica's (no commit start here): a claim this test plays the holder of.
            await db.SaveChangesAsync();
            id = (await db.Set<PortalEvent>().SingleAsync(e => e.Type == nameof(TestWork))).Id;
        }
        await Eventually.TrueAsync(() => Task.FromResult(log.Saw("held")), TimeSpan.FromSeconds(10), "the work ran");
        // A work context of a frozen holder whose token was replaced by another replica's claim.
        await using (var db = await contexts.CreateDbContextAsync())
        {
            await db.Set<PortalEvent>().Where(e => e.Id == id).ExecuteUpdateAsync(s => s.SetProperty(e => e.HandledAtUtc, (DateTime?)null)
                .SetProperty(e => e.ClaimToken, "the-new-holder").SetProperty(e => e.ClaimedUntilUtc, DateTime.UtcNow.AddHours(1)));
            var frozen = new WorkContext(id, DateTime.UtcNow, 1, 3, "the-old-holder", async ct =>
            {
                await using var c = await contexts.CreateDbContextAsync(ct);
                return await c.Set<PortalEvent>().AnyAsync(e => e.Id == id && e.ClaimToken == "the-old-holder", ct);
            }, TimeProvider.System, TimeSpan.FromSeconds(30));
            Assert.False(await frozen.HoldsAsync(CancellationToken.None));
            Assert.False(await frozen.Held(db).AnyAsync());
            var current = new WorkContext(id, DateTime.UtcNow, 2, 3, "the-new-holder", _ => Task.FromResult(true), TimeProvider.System, TimeSpan.FromSeconds(30));
            Assert.True(await current.Held(db).AnyAsync());
        }
    }

    [Fact]
    [Trait("Database", "sqlite")] // Writes the SQLite file itself, as another process would.
    public async Task Work_committed_by_a_process_that_died_before_telling_anyone_is_done_once_and_a_dead_replicas_claim_is_taken_over()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var portal = NotificationHost.Portal().With("Data:EventPollInterval", "00:00:00.200");
        await portal.AddAsync(NotificationHost.Channel("ops", ChannelType.Webhook, receiver.Url("ops")));
        var outbox = portal.Services.GetRequiredService<Outbox>();
        var contexts = portal.Services.GetRequiredService<IDbContextFactory<PortalDbContext>>();
        var now = DateTime.UtcNow;
        long first, second;
        // What a replica commits when a proposal is made — and then the process is gone: no in-process publish, no wake.
        // The row is written through a context without the portal's interceptors, as another process would.
        _ = portal.Services;
        var foreign = new DbContextOptionsBuilder<PortalDbContext>().UseSqlite($"Data Source={Path.Combine(portal.DataDirectory, "portal.db")}").Options;
        await using (var db = new PortalDbContext(foreign))
        {
            var a = PendingApproval("deployment/shop/web", "1.1.0", now);
            var b = PendingApproval("deployment/shop/api", "2.1.0", now);
            db.AddRange(a, b);
            await db.SaveChangesAsync();
            (first, second) = (a.Id, b.Id);
            outbox.Stage(db, new ApprovalProposed(first));
            // The second was claimed by a replica that died while raising it: its claim ran out.
            outbox.Stage(db, new ApprovalProposed(second));
            await db.SaveChangesAsync();
            // Both were committed by a process that died at once: its claims ran out.
            await db.Set<PortalEvent>().Where(e => e.Type == nameof(ApprovalProposed))
                .ExecuteUpdateAsync(s => s.SetProperty(e => e.ClaimedBy, "replica-gone").SetProperty(e => e.ClaimedUntilUtc, now.AddSeconds(-1)));
        }

        var received = await receiver.WaitForAsync("ops", 2, TimeSpan.FromSeconds(20));
        await Eventually.TrueAsync(async () =>
        {
            await using var db = await contexts.CreateDbContextAsync();
            return await db.Set<PortalEvent>().Where(e => e.Work).AllAsync(e => e.HandledAtUtc != null);
        }, TimeSpan.FromSeconds(10), "both events are handled");
        // One more relay round finds nothing left to do: each was announced once.
        await portal.Services.GetRequiredService<EventRelay>().RunOnceAsync(CancellationToken.None);
        await portal.DeliveryAsync("ops", d => d.State == DeliveryState.Delivered);

        Assert.Equal(2, receiver.At("ops").Count);
        Assert.Contains(received, m => m.Body.Contains("1.1.0", StringComparison.Ordinal));
        Assert.Contains(received, m => m.Body.Contains("2.1.0", StringComparison.Ordinal));
        await using (var db = await contexts.CreateDbContextAsync())
        {
            var taken = await db.Set<PortalEvent>().Where(e => e.Type == nameof(ApprovalProposed)).ToListAsync();
            Assert.All(taken, t => Assert.Equal((2, true), (t.Attempts, t.ClaimedBy != "replica-gone")));
        }
        Assert.DoesNotContain(portal.Logs.Lines, l => l.Level >= LogLevel.Error);
    }

    [Fact]
    public async Task A_vote_on_one_instance_refreshes_the_pages_of_another_on_the_same_database()
    {
        await using var pipeline = await PipelinePortal.StartAsync(configure: p => p.With("Data:EventPollInterval", "00:00:00.200"));
        await using var other = pipeline.SecondInstance();
        var heard = new TaskCompletionSource<ApprovalChanged>(TaskCreationOptions.RunContinuationsAsynchronously);
        var all = new System.Collections.Concurrent.ConcurrentQueue<ApprovalChanged>();
        using var subscription = other.Services.GetRequiredService<EventHub>().Subscribe<ApprovalChanged>(c =>
        {
            all.Enqueue(c);
            heard.TrySetResult(c);
        });
        var contexts = pipeline.Portal.Services.GetRequiredService<IDbContextFactory<PortalDbContext>>();
        long id;
        await using (var db = await contexts.CreateDbContextAsync())
        {
            var approval = PendingApproval("deployment/shop/web", "1.1.0", DateTime.UtcNow);
            approval.VotesRequired = 2;
            db.Add(approval);
            await db.SaveChangesAsync();
            id = approval.Id;
        }

        var vote = await pipeline.Approvals.VoteAsync(id, "alice", approve: true);

        Assert.Equal(VoteOutcome.Counted, vote.Outcome);
        var changed = await heard.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal((id, ApprovalState.Pending, false), (changed.ApprovalId, changed.State, changed.StateMoved));

        // The final vote moves the state: its one event says so (no second "votes changed" one for pages to refresh on).
        Assert.Equal(VoteOutcome.Approved, (await pipeline.Approvals.VoteAsync(id, "bob", approve: true)).Outcome);
        await Eventually.TrueAsync(() => Task.FromResult(all.Any(c => c.State == ApprovalState.Approved)), TimeSpan.FromSeconds(10), "the approval's move heard");
        Assert.Equal([(ApprovalState.Pending, false), (ApprovalState.Approved, true)], all.Take(2).Select(c => (c.State, c.StateMoved)));
    }
}
