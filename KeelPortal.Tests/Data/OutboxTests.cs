using KeelPortal.Approvals;
using KeelPortal.Data;
using KeelPortal.Notifications;
using KeelPortal.Tests.Notifications;
using KeelPortal.Tests.TestSupport;
using KeelPortal.Workloads;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

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

    /// <summary>A piece of work only this test's handler acts on.</summary>
    public sealed record TestWork(string Name);

    private sealed class TestWorkLog : IEventWork
    {
        public List<string> Done { get; } = [];

        public Task HandleAsync(object message, DateTime occurredAtUtc, CancellationToken ct)
        {
            if (message is TestWork work)
            {
                lock (Done)
                {
                    Done.Add(work.Name);
                }
            }
            return Task.CompletedTask;
        }
    }

    [Fact]
    public async Task Work_written_already_claimed_starts_here_after_the_commit_and_if_this_replica_never_starts_it_a_relay_does()
    {
        var log = new TestWorkLog();
        await using var portal = new PortalFactory()
            .With("Data:EventPollInterval", "00:00:00.200").With("Data:EventClaimLease", "00:00:02")
            .WithServices(s =>
            {
                s.Configure<OutboxTypes>(t => t.Add<TestWork>(_ => true));
                s.AddSingleton<IEventWork>(log);
            });
        var relay = portal.Services.GetRequiredService<EventRelay>();
        var contexts = portal.Services.GetRequiredService<IDbContextFactory<PortalDbContext>>();
        PortalEvent here, orphan;
        await using (var db = await contexts.CreateDbContextAsync())
        {
            await using var transaction = await db.Database.BeginTransactionAsync();
            here = relay.StageHere(db, new TestWork("here"));
            // Committed by a replica that died before starting it.
            orphan = relay.StageHere(db, new TestWork("orphan"));
            await db.SaveChangesAsync();
            await transaction.CommitAsync();
        }
        var committed = System.Diagnostics.Stopwatch.StartNew();
        relay.RunHere(here);

        await Eventually.TrueAsync(() => { lock (log.Done) { return log.Done.Contains("here"); } }, TimeSpan.FromSeconds(10), "the work started here");
        await Eventually.TrueAsync(() => { lock (log.Done) { return log.Done.Contains("orphan"); } }, TimeSpan.FromSeconds(20), "a relay took the orphan over");
        Assert.True(committed.Elapsed >= TimeSpan.FromSeconds(1.5), "the orphan waited for its claim to run out");
        await Eventually.TrueAsync(async () =>
        {
            await using var db = await contexts.CreateDbContextAsync();
            return await db.Set<PortalEvent>().Where(e => e.Id == here.Id || e.Id == orphan.Id).AllAsync(e => e.HandledAtUtc != null);
        }, TimeSpan.FromSeconds(10), "both are marked handled");
        // More relay rounds find nothing to do again: each ran once, the first on its first attempt.
        await relay.RunOnceAsync(CancellationToken.None);
        lock (log.Done)
        {
            Assert.Equal(["here", "orphan"], log.Done);
        }
        await using (var db = await contexts.CreateDbContextAsync())
        {
            Assert.Equal(1, (await db.Set<PortalEvent>().SingleAsync(e => e.Id == here.Id)).Attempts);
            Assert.Equal(2, (await db.Set<PortalEvent>().SingleAsync(e => e.Id == orphan.Id)).Attempts);
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
            await db.Set<PortalEvent>().Where(e => e.Payload.Contains(second.ToString(System.Globalization.CultureInfo.InvariantCulture)))
                .ExecuteUpdateAsync(s => s.SetProperty(e => e.ClaimedBy, "replica-gone").SetProperty(e => e.ClaimedUntilUtc, now.AddSeconds(-1)).SetProperty(e => e.Attempts, 1));
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
            var taken = await db.Set<PortalEvent>().SingleAsync(e => e.Work && e.Attempts == 2);
            Assert.NotEqual("replica-gone", taken.ClaimedBy);
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
