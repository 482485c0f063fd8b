using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using KeelPortal.Approvals;
using KeelPortal.Data;
using KeelPortal.Tests.TestSupport;
using KeelPortal.Triggers;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace KeelPortal.Tests.Updates;

/// <summary>Exactly-once applies across instances and restarts, webhooks as hints, digest following, and Keel's API.</summary>
[Collection(AppHosts.Name)]
public sealed class PipelineResilienceTests
{
    private static Dictionary<string, string> Keel(params (string Key, string Value)[] pairs) => pairs.ToDictionary(p => p.Key, p => p.Value);

    private static Task<Approval> PendingAsync(PipelinePortal pipeline, string name, int votes) => pipeline.PendingAsync(name, votes);

    [Fact]
    public async Task Two_instances_on_one_database_racing_the_final_vote_apply_once()
    {
        await using var pipeline = await PipelinePortal.StartAsync();
        var pending = await PendingAsync(pipeline, "race", votes: 2);
        await using var second = pipeline.SecondInstance();
        await pipeline.Approvals.VoteAsync(pending.Id, "alice", approve: true);

        var votes = await Task.WhenAll(
            pipeline.Approvals.VoteAsync(pending.Id, "bob", approve: true),
            second.Services.GetRequiredService<ApprovalBook>().VoteAsync(pending.Id, "carol", approve: true));
        await pipeline.ApprovalAsync(pending.Identifier, a => a.State == ApprovalState.Applied);
        await Eventually.TrueAsync(async () => (await pipeline.AuditActionsAsync(pending.Identifier)).Contains("rollout.succeeded"), TimeSpan.FromSeconds(20));

        Assert.Equal(1, votes.Count(v => v.Outcome == VoteOutcome.Approved));
        Assert.Equal(1, pipeline.PatchesOf("race"));
        Assert.Single(await pipeline.AuditActionsAsync(pending.Identifier), a => a == "apply.started");
    }

    [Fact]
    [Trait("Database", "sqlite")] // Reads the SQLite file itself.
    public async Task An_approval_left_approved_or_half_applied_by_a_stopped_instance_is_applied_after_the_restart()
    {
        var data = Directory.CreateTempSubdirectory("keelportal-restart-").FullName;
        try
        {
            await using var pipeline = await PipelinePortal.StartAsync(sharedDataDirectory: data);
            var approved = await PendingAsync(pipeline, "restart", votes: 1);
            var halfway = await PendingAsync(pipeline, "halfway", votes: 1);
            await pipeline.Portal.DisposeAsync();

            // As a crash leaves them: one approved whose apply never started, one claimed by an apply that died mid-way —
            // each with its apply work committed and claimed by the process that died (its lease has run out since).
            await using (var db = new PortalDbContext(new DbContextOptionsBuilder<PortalDbContext>().UseSqlite($"Data Source={Path.Combine(data, "portal.db")}").Options))
            {
                var now = DateTime.UtcNow;
                await db.Set<Approval>().Where(a => a.Id == approved.Id)
                    .ExecuteUpdateAsync(s => s.SetProperty(a => a.State, ApprovalState.Approved));
                await db.Set<Approval>().Where(a => a.Id == halfway.Id).ExecuteUpdateAsync(s => s
                    .SetProperty(a => a.State, ApprovalState.Applying).SetProperty(a => a.ClaimToken, "died-halfway").SetProperty(a => a.ClaimedAtUtc, now.AddMinutes(-1)));
                foreach (var (id, token) in new[] { (approved.Id, "died-before"), (halfway.Id, "died-halfway") })
                {
                    db.Add(new PortalEvent
                    {
                        Type = nameof(ApprovalApproved), Payload = $"{{\"approvalId\":{id}}}", OccurredAtUtc = now.AddMinutes(-1), Work = true,
                        ClaimedBy = "replica-gone", ClaimToken = token, ClaimedUntilUtc = now.AddSeconds(-1), Attempts = 1,
                    });
                }
                await db.SaveChangesAsync();
            }
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            await using var restarted = pipeline.SecondInstance();
            var book = restarted.Services.GetRequiredService<ApprovalBook>();
            await Eventually.TrueAsync(async () => (await book.GetAsync(approved.Id))!.State == ApprovalState.Applied
                && (await book.GetAsync(halfway.Id))!.State == ApprovalState.Applied, TimeSpan.FromSeconds(20), "applied after restart");

            Assert.Equal(1, pipeline.PatchesOf("restart"));
            Assert.Equal(1, pipeline.PatchesOf("halfway"));
            Assert.Equal(pipeline.Repository("team/restart") + ":1.1.0", pipeline.ImageOf("restart"));
        }
        finally
        {
            Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
            Directory.Delete(data, recursive: true);
        }
    }

    [Fact]
    public async Task A_webhook_for_a_tag_the_registry_does_not_have_plans_nothing()
    {
        await using var pipeline = await PipelinePortal.StartAsync();
        var repository = pipeline.Repository("team/hint");
        await pipeline.Pusher.PushAsync("team/hint", "1.0.0");
        pipeline.Deploy("hint", $"{repository}:1.0.0", Keel(("keel.sh/policy", "all")));
        await pipeline.TrackedAsync("deployment/shop/hint");
        using var client = pipeline.WebhookClient();

        using var response = await client.PostAsJsonAsync("v1/webhooks/native", new { name = repository, tag = "9.9.9" });
        await Eventually.TrueAsync(async () => (await pipeline.AuditActionsAsync($"{repository}:9.9.9")).Contains("webhook.unconfirmed"), TimeSpan.FromSeconds(15));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Null(await pipeline.Approvals.FindAsync("deployment/shop/hint:9.9.9"));
        Assert.Equal(0, pipeline.PatchesOf("hint"));
    }

    [Fact]
    public async Task A_webhook_that_arrives_before_the_registry_has_written_its_tag_is_planned_once_the_tag_is_there()
    {
        await using var pipeline = await PipelinePortal.StartAsync();
        var repository = pipeline.Repository("team/early");
        await pipeline.Pusher.PushAsync("team/early", "1.0.0");
        pipeline.Deploy("early", $"{repository}:1.0.0", Keel(("keel.sh/policy", "patch")));
        await pipeline.TrackedAsync("deployment/shop/early");
        var asked = 0;
        pipeline.Registry.LogLine += line =>
        {
            if (line.Contains("HEAD", StringComparison.Ordinal) && line.Contains("/v2/team/early/manifests/1.0.1", StringComparison.Ordinal))
            {
                Interlocked.Increment(ref asked);
            }
        };
        // Distribution stores the manifest, notifies, and only then writes the tag: the notification comes first.
        var digest = await pipeline.Pusher.PushUntaggedAsync("team/early");
        using var client = pipeline.WebhookClient();

        using var response = await client.PostAsJsonAsync("v1/webhooks/native", new { name = repository, tag = "1.0.1", digest });
        await Eventually.TrueAsync(() => Volatile.Read(ref asked) >= 1, TimeSpan.FromSeconds(15), "the portal asked the registry for the tag");
        await pipeline.Pusher.TagAsync("team/early", digest, "1.0.1");
        var applied = await pipeline.ApprovalAsync("deployment/shop/early:1.0.1", a => a.State == ApprovalState.Applied, TimeSpan.FromSeconds(30));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(digest, applied.Digest);
        Assert.Equal($"{repository}:1.0.1", pipeline.ImageOf("early"));
        Assert.DoesNotContain("webhook.unconfirmed", await pipeline.AuditActionsAsync($"{repository}:1.0.1"));
    }

    [Fact]
    public async Task A_webhook_is_planned_at_once_by_the_replica_that_answered_it_under_its_claim()
    {
        await using var pipeline = await PipelinePortal.StartAsync();
        var repository = pipeline.Repository("team/prompt");
        await pipeline.Pusher.PushAsync("team/prompt", "1.0.0");
        pipeline.Deploy("prompt", $"{repository}:1.0.0", Keel(("keel.sh/policy", "all")), labels: Keel(("keel.sh/approvals", "1")));
        await pipeline.TrackedAsync("deployment/shop/prompt");
        await pipeline.Pusher.PushAsync("team/prompt", "1.0.1");
        using var client = pipeline.WebhookClient();

        (await client.PostAsJsonAsync("v1/webhooks/native", new { name = repository, tag = "1.0.1" })).EnsureSuccessStatusCode();
        await pipeline.ApprovalAsync("deployment/shop/prompt:1.0.1", a => a.State == ApprovalState.Pending);

        // The outbox row was claimed by this replica when it was written and marked handled by its planning run: no
        // relay took it over, so the event was planned once.
        var row = await Eventually.ValueAsync(async () => (await WebhookRowsAsync(pipeline)).SingleOrDefault(), r => r?.HandledAtUtc is not null,
            "the webhook's outbox row handled", TimeSpan.FromSeconds(10));
        Assert.Equal(Outbox.Replica, row!.ClaimedBy);
        Assert.Equal(1, row.Attempts);
        Assert.Single(await pipeline.AuditActionsAsync($"{repository}:1.0.1"), a => a == "tag.detected");
    }

    [Fact]
    public async Task In_a_burst_every_webhook_is_answered_before_any_is_planned_and_all_are_planned_after_it()
    {
        // Ten webhooks within 5 s are a burst here; planning waits for it to pass (at most 50 s).
        await using var pipeline = await PipelinePortal.StartAsync(configure: p => p.With("Triggers:WebhookBurstRate", "2").With("Triggers:WebhookBurstDelay", "00:00:50"));
        var names = Enumerable.Range(1, 12).Select(i => $"burst-{i}").ToList();
        foreach (var name in names)
        {
            await pipeline.Pusher.PushAsync($"team/{name}", "1.0.0");
            pipeline.Deploy(name, $"{pipeline.Repository($"team/{name}")}:1.0.0", Keel(("keel.sh/policy", "all")), labels: Keel(("keel.sh/approvals", "1")));
            await pipeline.TrackedAsync($"deployment/shop/{name}");
            await pipeline.Pusher.PushAsync($"team/{name}", "1.0.1");
        }
        using var client = pipeline.WebhookClient();
        var sending = System.Diagnostics.Stopwatch.StartNew();
        // The burst begins: ten webhooks (one new event, nine repeats of it) — the rate is only known after a few.
        foreach (var warmUp in await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => client.PostAsJsonAsync("v1/webhooks/native", new { name = pipeline.Repository("team/elsewhere"), tag = "1.0.0" }))))
        {
            warmUp.EnsureSuccessStatusCode();
        }

        var answers = await Task.WhenAll(names.Select(n => client.PostAsJsonAsync("v1/webhooks/native", new { name = pipeline.Repository($"team/{n}"), tag = "1.0.1" })));
        var answeredIn = sending.Elapsed;
        var plannedDuringBurst = await PlannedAsync(pipeline);

        Assert.All(answers, a => Assert.Equal(HttpStatusCode.OK, a.StatusCode));
        Assert.True(answeredIn < TimeSpan.FromSeconds(4), $"answered in {answeredIn}"); // Else the burst was over before the look below.
        Assert.Equal(0, plannedDuringBurst);
        foreach (var name in names)
        {
            await pipeline.ApprovalAsync($"deployment/shop/{name}:1.0.1", a => a.State == ApprovalState.Pending);
        }
        Assert.Equal(names.Count, await PlannedAsync(pipeline));
        Assert.All(await WebhookRowsAsync(pipeline), r => Assert.Equal(1, r.Attempts)); // Planned here, under the claim.
        Assert.Single(pipeline.Portal.Logs.Lines, l => l.Message.Contains("Webhooks arrived faster than 2 a second", StringComparison.Ordinal));
    }

    private static async Task<int> PlannedAsync(PipelinePortal pipeline)
    {
        await using var db = await pipeline.Portal.Services.GetRequiredService<IDbContextFactory<PortalDbContext>>().CreateDbContextAsync();
        return await db.Set<KeelPortal.Audit.AuditEntry>().CountAsync(a => a.Action == "tag.detected" && a.Subject.Contains("/team/burst-"));
    }

    [Fact]
    public async Task A_webhook_whose_planning_never_happened_is_planned_by_the_relay_when_its_claim_runs_out()
    {
        await using var pipeline = await PipelinePortal.StartAsync(configure: p => p.With("Work:Lease", "00:00:01"));
        await using var other = pipeline.SecondInstance(p => p.With("Work:Lease", "00:00:01"));
        var repository = pipeline.Repository("team/fallback");
        await pipeline.Pusher.PushAsync("team/fallback", "1.0.0");
        pipeline.Deploy("fallback", $"{repository}:1.0.0", Keel(("keel.sh/policy", "all")), labels: Keel(("keel.sh/approvals", "1")));
        await pipeline.TrackedAsync("deployment/shop/fallback");
        await pipeline.Pusher.PushAsync("team/fallback", "1.0.1");
        // As when the process stops right after answering: the webhook is stored, but nothing here plans it.
        await pipeline.Portal.Services.GetRequiredService<WorkRunner>().StopAsync(CancellationToken.None);
        _ = other.Services;
        using var client = pipeline.WebhookClient();

        (await client.PostAsJsonAsync("v1/webhooks/native", new { name = repository, tag = "1.0.1" })).EnsureSuccessStatusCode();
        var pending = await pipeline.ApprovalAsync("deployment/shop/fallback:1.0.1", a => a.State == ApprovalState.Pending);

        Assert.Equal("1.0.0", pending.CurrentVersion);
        var row = await Eventually.ValueAsync(async () => (await WebhookRowsAsync(pipeline)).SingleOrDefault(), r => r?.HandledAtUtc is not null,
            "the webhook's outbox row handled", TimeSpan.FromSeconds(10));
        Assert.Equal(2, row!.Attempts); // The answering replica's claim, then the other replica's relay's.
    }

    private static async Task<List<PortalEvent>> WebhookRowsAsync(PipelinePortal pipeline)
    {
        await using var db = await pipeline.Portal.Services.GetRequiredService<IDbContextFactory<PortalDbContext>>().CreateDbContextAsync();
        return await db.Set<PortalEvent>().AsNoTracking().Where(e => e.Type == nameof(WebhookReceived)).ToListAsync();
    }

    [Fact]
    public async Task Force_with_match_tag_follows_the_tags_digest_and_pins_it()
    {
        await using var pipeline = await PipelinePortal.StartAsync();
        var repository = pipeline.Repository("team/edge");
        await pipeline.Pusher.PushAsync("team/edge", "latest", new TestImage(Labels: new Dictionary<string, string> { ["build"] = "1" }));
        pipeline.Deploy("edge", $"{repository}:latest", Keel(("keel.sh/policy", "force"), ("keel.sh/matchTag", "true"), ("keel.sh/trigger", "poll")));
        await pipeline.TrackedAsync("deployment/shop/edge");

        var digest = await pipeline.Pusher.PushAsync("team/edge", "latest", new TestImage(Labels: new Dictionary<string, string> { ["build"] = "2" }));
        await pipeline.PollNowAsync(repository);
        var applied = await pipeline.ApprovalAsync("deployment/shop/edge:latest", a => a.State == ApprovalState.Applied);

        Assert.Equal(digest, applied.Digest);
        Assert.Equal($"{repository}:latest@{digest}", pipeline.ImageOf("edge"));
        Assert.Equal(digest, pipeline.Cluster.Get("Deployment", "shop", "edge")!["metadata"]!["annotations"]!["keel.sh/digest"]!.GetValue<string>());
    }

    [Fact]
    public async Task Force_with_match_tag_and_keels_restart_keeps_the_tag_rolls_the_pods_and_proposes_the_digest_once()
    {
        await using var pipeline = await PipelinePortal.StartAsync();
        var repository = pipeline.Repository("team/keelway");
        await pipeline.Pusher.PushAsync("team/keelway", "latest", new TestImage(Labels: new Dictionary<string, string> { ["build"] = "1" }));
        pipeline.Deploy("keelway", $"{repository}:latest", Keel(("keel.sh/policy", "force"), ("keel.sh/matchTag", "true"), ("keel.sh/trigger", "poll"),
            ("keel.sh/forceUpdate", "restart")));
        await pipeline.TrackedAsync("deployment/shop/keelway");
        var before = pipeline.Cluster.Get("Deployment", "shop", "keelway")!["spec"]!["template"]!["metadata"]!["annotations"]?["keel.sh/update-time"]?.GetValue<string>();

        var digest = await pipeline.Pusher.PushAsync("team/keelway", "latest", new TestImage(Labels: new Dictionary<string, string> { ["build"] = "2" }));
        await pipeline.PollNowAsync(repository);
        var applied = await pipeline.ApprovalAsync("deployment/shop/keelway:latest", a => a.State == ApprovalState.Applied);
        await Eventually.TrueAsync(async () => (await pipeline.Workloads.GetAsync("deployment/shop/keelway"))?.DeployedDigest == digest,
            TimeSpan.FromSeconds(15), "the written digest read back");
        await pipeline.PollNowAsync(repository);

        // As Keel: the image stays repo:tag (nothing for a GitOps tool to report as drift), the pods are rolled through
        // keel.sh/update-time and the digest written is remembered, so the next poll proposes nothing more.
        var deployment = pipeline.Cluster.Get("Deployment", "shop", "keelway")!;
        Assert.Equal(digest, applied.Digest);
        Assert.Equal($"{repository}:latest", pipeline.ImageOf("keelway"));
        Assert.Equal(digest, deployment["metadata"]!["annotations"]!["keel.sh/digest"]!.GetValue<string>());
        Assert.NotEqual(before, deployment["spec"]!["template"]!["metadata"]!["annotations"]!["keel.sh/update-time"]!.GetValue<string>());
        Assert.Single(await pipeline.Approvals.ForWorkloadAsync("deployment/shop/keelway"));
    }

    [Fact]
    public async Task Keels_restart_as_the_global_setting_refuses_a_container_that_would_keep_its_cached_image_and_says_why()
    {
        await using var pipeline = await PipelinePortal.StartAsync(configure: p => p.With("Workloads:ForceUpdate", "restart"));
        var repository = pipeline.Repository("team/cached");
        await pipeline.Pusher.PushAsync("team/cached", "stable", new TestImage(Labels: new Dictionary<string, string> { ["build"] = "1" }));
        pipeline.Deploy("cached", $"{repository}:stable", Keel(("keel.sh/policy", "force"), ("keel.sh/matchTag", "true"), ("keel.sh/trigger", "poll")));
        await pipeline.TrackedAsync("deployment/shop/cached");

        await pipeline.Pusher.PushAsync("team/cached", "stable", new TestImage(Labels: new Dictionary<string, string> { ["build"] = "2" }));
        await pipeline.PollNowAsync(repository);

        var checks = pipeline.Portal.Services.GetRequiredService<KeelPortal.Updates.WorkloadChecks>();
        await Eventually.TrueAsync(async () => (await checks.ForWorkloadAsync("deployment/shop/cached")).Any(c => c.Error?.Contains("imagePullPolicy: Always", StringComparison.Ordinal) == true),
            TimeSpan.FromSeconds(15), "the reason shown on the workload");
        var error = (await checks.ForWorkloadAsync("deployment/shop/cached")).Select(c => c.Error).First(e => e is not null)!;
        Assert.Contains("container app (it is IfNotPresent)", error, StringComparison.Ordinal);
        Assert.Empty(await pipeline.Approvals.ForWorkloadAsync("deployment/shop/cached"));
        Assert.Equal($"{repository}:stable", pipeline.ImageOf("cached"));
    }

    [Fact]
    public async Task Keels_api_lists_votes_as_the_caller_and_refuses_what_it_should()
    {
        await using var pipeline = await PipelinePortal.StartAsync();
        var pending = await PendingAsync(pipeline, "api", votes: 3);
        using var anonymous = new HttpClient { BaseAddress = pipeline.Url };
        using var alice = pipeline.ApiClient("alice");

        using var unauthenticated = await anonymous.GetAsync("v1/approvals");
        using var viewer = pipeline.ApiClient("victor");
        using var viewerList = await viewer.GetAsync("v1/approvals");
        var viewerVote = await pipeline.VoteAsync("victor", pending.Identifier);
        var first = await pipeline.VoteAsync("alice", pending.Identifier, claimedVoter: "bob");
        var again = await pipeline.VoteAsync("alice", pending.Identifier);
        var unknown = await pipeline.VoteAsync("bob", "deployment/shop/nope:1.0.0");
        using var list = JsonDocument.Parse(await alice.GetStringAsync("v1/approvals"));
        using var resources = JsonDocument.Parse(await alice.GetStringAsync("v1/resources"));
        using var tracked = JsonDocument.Parse(await alice.GetStringAsync("v1/tracked"));
        using var approverPut = await alice.PutAsJsonAsync("v1/approvals", new { identifier = "deployment/shop/api", provider = "kubernetes", votesRequired = 1 });
        var stillPending = await pipeline.Approvals.GetAsync(pending.Id);
        using var root = pipeline.ApiClient("root");
        using var put = await root.PutAsJsonAsync("v1/approvals", new { identifier = "deployment/shop/api", provider = "kubernetes", votesRequired = 1 });
        await pipeline.ApprovalAsync(pending.Identifier, a => a.State == ApprovalState.Applied);

        Assert.Equal(HttpStatusCode.Unauthorized, unauthenticated.StatusCode);
        Assert.Equal(HttpStatusCode.OK, viewerList.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, viewerVote.StatusCode);
        Assert.Equal(HttpStatusCode.OK, first.StatusCode);
        // As Keel: a repeat vote answers 200 with the approval unchanged; KeelPortal says why it was not counted.
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.Contains("already voted", await again.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NotFound, unknown.StatusCode);
        var approval = list.RootElement.EnumerateArray().Single(a => a.GetProperty("identifier").GetString() == pending.Identifier);
        Assert.Equal(["alice"], approval.GetProperty("voters").EnumerateObject().Select(v => v.Name));
        Assert.Equal((3, 1, "1.0.0", "1.1.0"), (approval.GetProperty("votesRequired").GetInt32(), approval.GetProperty("votesReceived").GetInt32(),
            approval.GetProperty("currentVersion").GetString(), approval.GetProperty("newVersion").GetString()));
        Assert.Equal(HttpStatusCode.Forbidden, approverPut.StatusCode);
        Assert.Equal((ApprovalState.Pending, 3), (stillPending!.State, stillPending.VotesRequired));
        Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        Assert.Contains(resources.RootElement.EnumerateArray(), r => r.GetProperty("identifier").GetString() == "deployment/shop/api");
        Assert.Contains(tracked.RootElement.EnumerateArray(), t => t.GetProperty("trigger").GetString() == "poll"
            && t.GetProperty("image").GetString() == pipeline.Repository("team/api") + ":1.0.0");
    }
}
