using System.Net.Http.Json;
using System.Text.Json.Nodes;
using KeelPortal.Approvals;
using KeelPortal.Data;
using KeelPortal.Tests.TestSupport;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace KeelPortal.Tests.Updates;

/// <summary>
/// Two webhooks for one workload sent back to back — an older and a newer eligible version — in both orders and at
/// once: the workload ends on the newest, and no PATCH ever moves it back (every apply decides again against what the
/// object runs when it is written).
/// </summary>
[Collection(AppHosts.Name)]
public sealed class UpdateOrderTests
{
    private enum Order { OlderFirst, NewerFirst, AtOnce }

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    public async Task Back_to_back_webhooks_end_on_the_newest_version_and_never_patch_backwards(int approvals)
    {
        await using var pipeline = await PipelinePortal.StartAsync();
        var repository = pipeline.Repository("team/order");
        await pipeline.Pusher.PushAsync("team/order", "1.0.0");
        var labels = approvals > 0 ? new Dictionary<string, string> { ["keel.sh/approvals"] = $"{approvals}" } : null;
        pipeline.Deploy("web", $"{repository}:1.0.0", new Dictionary<string, string> { ["keel.sh/policy"] = "minor" }, labels);
        await pipeline.TrackedAsync("deployment/shop/web");
        using var webhooks = pipeline.WebhookClient();

        Order[] rounds = [Order.OlderFirst, Order.NewerFirst, Order.AtOnce, Order.OlderFirst, Order.NewerFirst, Order.AtOnce];
        for (var r = 0; r < rounds.Length; r++)
        {
            var (older, newer) = ($"1.{r}.1", $"1.{r + 1}.0");
            await pipeline.Pusher.TagAsync("team/order", "1.0.0", older);
            await pipeline.Pusher.TagAsync("team/order", "1.0.0", newer);
            Task<HttpResponseMessage> Send(string tag) => webhooks.PostAsJsonAsync("v1/webhooks/native", new { name = repository, tag });
            switch (rounds[r])
            {
                case Order.OlderFirst:
                    (await Send(older)).EnsureSuccessStatusCode();
                    (await Send(newer)).EnsureSuccessStatusCode();
                    break;
                case Order.NewerFirst:
                    (await Send(newer)).EnsureSuccessStatusCode();
                    (await Send(older)).EnsureSuccessStatusCode();
                    break;
                default:
                    foreach (var answer in await Task.WhenAll(Send(older), Send(newer)))
                    {
                        answer.EnsureSuccessStatusCode();
                    }
                    break;
            }
            await SettleAsync(pipeline, approvals > 0, $"round {r} ({rounds[r]}): {older} and {newer}");
            Assert.True(pipeline.ImageOf("web") == $"{repository}:{newer}",
                $"round {r} ({rounds[r]}) ended on {pipeline.ImageOf("web")}, not {newer}; patches:\n{string.Join('\n', Causes(pipeline))}");
        }

        var causes = Causes(pipeline);
        Assert.All(causes, c => Assert.True(Version.Parse(c.To) > Version.Parse(c.From), $"a PATCH moved the workload back: {c.From} -> {c.To}"));
        // Each round is one step forward at most twice (older then newer, when the older was applied before the newer was planned).
        Assert.InRange(causes.Count, rounds.Length, 2 * rounds.Length);
    }

    /// <summary>
    /// An approval that reached the workload after a newer version was written is superseded at the write, with the reason,
    /// and nothing is patched — shown directly: 1.1.0 is applied while 1.0.1 is approved and waiting.
    /// </summary>
    [Fact]
    public async Task An_approved_older_version_meeting_a_newer_one_at_the_write_is_superseded_without_a_patch()
    {
        await using var pipeline = await PipelinePortal.StartAsync();
        var repository = pipeline.Repository("team/late");
        await pipeline.Pusher.PushAsync("team/late", "1.0.0");
        await pipeline.Pusher.TagAsync("team/late", "1.0.0", "1.0.1");
        pipeline.Deploy("late", $"{repository}:1.0.0", new Dictionary<string, string> { ["keel.sh/policy"] = "minor" },
            new Dictionary<string, string> { ["keel.sh/approvals"] = "1" });
        await pipeline.TrackedAsync("deployment/shop/late");
        using var webhooks = pipeline.WebhookClient();
        (await webhooks.PostAsJsonAsync("v1/webhooks/native", new { name = repository, tag = "1.0.1" })).EnsureSuccessStatusCode();
        var pending = await pipeline.ApprovalAsync("deployment/shop/late:1.0.1", a => a.State == ApprovalState.Pending);

        // Someone else moves the workload on (kubectl, another tool) before the vote arrives.
        pipeline.Cluster.Modify("Deployment", "shop", "late", o => o["spec"]!["template"]!["spec"]!["containers"]![0]!["image"] = $"{repository}:1.1.0");
        pipeline.Cluster.ClearRequests();
        (await pipeline.VoteAsync("alice", pending.Identifier)).EnsureSuccessStatusCode();
        var ended = await pipeline.ApprovalAsync(pending.Identifier, a => a.State is not (ApprovalState.Pending or ApprovalState.Approved or ApprovalState.Applying));

        Assert.Equal(ApprovalState.Superseded, ended.State);
        Assert.Contains("runs 1.1.0 now and 1.0.1 is no longer an update of it", ended.Reason, StringComparison.Ordinal);
        Assert.Equal(0, pipeline.PatchesOf("late"));
        Assert.Equal($"{repository}:1.1.0", pipeline.ImageOf("late"));
        Assert.Equal(["approval.created", "approval.voted", "approval.approved", "apply.started", "apply.superseded"],
            await pipeline.AuditActionsAsync("deployment/shop/late:1.0.1"));
    }

    /// <summary>Every webhook planned and every apply ended; with approvals, each pending one is voted through meanwhile.</summary>
    private static async Task SettleAsync(PipelinePortal pipeline, bool vote, string what)
    {
        var contexts = pipeline.Portal.Services.GetRequiredService<IDbContextFactory<PortalDbContext>>();
        await Eventually.TrueAsync(async () =>
        {
            var open = (await pipeline.Approvals.ForWorkloadAsync("deployment/shop/web"))
                .Where(a => a.State is ApprovalState.Pending or ApprovalState.Approved or ApprovalState.Applying).ToList();
            foreach (var pending in open.Where(a => vote && a.State == ApprovalState.Pending))
            {
                await pipeline.VoteAsync("alice", pending.Identifier);
            }
            await using var db = await contexts.CreateDbContextAsync();
            return open.Count == 0 && !await db.Set<PortalEvent>().AnyAsync(e => e.Work && e.HandledAtUtc == null);
        }, TimeSpan.FromSeconds(30), $"{what} settled");
    }

    /// <summary>Every PATCH of the workload as the change-cause it wrote: <c>keel automated update, version A -> B</c>.</summary>
    private static List<(string From, string To)> Causes(PipelinePortal pipeline) =>
        pipeline.Cluster.Requests.Where(r => r.Method == "PATCH" && r.Path.Split('?')[0].EndsWith("/deployments/web", StringComparison.Ordinal))
            .Select(r => JsonNode.Parse(r.Body)!["metadata"]!["annotations"]!["kubernetes.io/change-cause"]!.GetValue<string>())
            .Select(c => c["keel automated update, version ".Length..].Split(" -> "))
            .Select(p => (p[0], p[1])).ToList();
}
