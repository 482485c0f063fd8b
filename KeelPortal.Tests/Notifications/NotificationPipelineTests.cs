using KeelPortal.Approvals;
using KeelPortal.Notifications;
using KeelPortal.Tests.TestSupport;

namespace KeelPortal.Tests.Notifications;

/// <summary>Notifications raised by the real pipeline: approvals, votes, applies and rollouts on the registry and the API test server.</summary>
[Collection(AppHosts.Name)]
public sealed class NotificationPipelineTests
{
    private static Dictionary<string, string> Keel(params (string Key, string Value)[] pairs) => pairs.ToDictionary(p => p.Key, p => p.Value);

    private static string Text(ReceivedMessage m) => m.Path switch
    {
        "/ops" => m.Json["text"]!.GetValue<string>(),
        "/team-a" => m.Json["text"]!.GetValue<string>(),
        _ => m.Json["attachments"]![0]!["content"]!["body"]![1]!["text"]!.GetValue<string>(),
    };

    [Fact]
    public async Task Keel_notify_routes_a_workload_to_its_named_channels_of_any_type_and_the_rest_to_the_default()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var pipeline = await PipelinePortal.StartAsync(configure: portal => portal
            .With("Notifications:PublicBaseUrl", NotificationHost.BaseUrl)
            .With("Work:FirstRetryDelay", "00:00:00.100"));
        await pipeline.Portal.AddAsync(NotificationHost.Channel("ops", ChannelType.Slack, receiver.Url("ops")));
        await pipeline.Portal.AddAsync(NotificationHost.Channel("team-a", ChannelType.Mattermost, receiver.Url("team-a"), isDefault: false));
        await pipeline.Portal.AddAsync(NotificationHost.Channel("teams-a", ChannelType.Teams, receiver.Url("teams-a"), isDefault: false));
        var web = pipeline.Repository("team/web");
        var api = pipeline.Repository("team/api");
        await pipeline.Pusher.PushAsync("team/web", "1.0.0");
        await pipeline.Pusher.PushAsync("team/web", "1.1.0");
        await pipeline.Pusher.PushAsync("team/api", "2.0.0");
        await pipeline.Pusher.PushAsync("team/api", "2.1.0");
        pipeline.Deploy("web", $"{web}:1.0.0", Keel(("keel.sh/policy", "minor"), ("keel.sh/trigger", "poll"), ("keel.sh/notify", "team-a, teams-a"),
            ("keel.sh/releaseNotes", "https://github.com/example/web/releases")), labels: Keel(("keel.sh/approvals", "1")));
        pipeline.Deploy("api", $"{api}:2.0.0", Keel(("keel.sh/policy", "minor"), ("keel.sh/trigger", "poll")), labels: Keel(("keel.sh/approvals", "1")));
        await pipeline.TrackedAsync("deployment/shop/web");
        await pipeline.TrackedAsync("deployment/shop/api");

        await pipeline.PollNowAsync(web);
        await pipeline.PollNowAsync(api);
        var webApproval = await pipeline.ApprovalAsync("deployment/shop/web:1.1.0", a => a.State == ApprovalState.Pending);
        await pipeline.ApprovalAsync("deployment/shop/api:2.1.0", a => a.State == ApprovalState.Pending);
        await receiver.WaitForAsync("team-a", 1);
        await receiver.WaitForAsync("teams-a", 1);
        await receiver.WaitForAsync("ops", 1);

        (await pipeline.VoteAsync("alice", "deployment/shop/web:1.1.0")).EnsureSuccessStatusCode();
        (await pipeline.VoteAsync("bob", "deployment/shop/api:2.1.0", action: "reject")).EnsureSuccessStatusCode();
        var team = await receiver.WaitForAsync("team-a", 4);
        var teams = await receiver.WaitForAsync("teams-a", 4);
        var ops = await receiver.WaitForAsync("ops", 2);

        Assert.Equal(["Approval required", "Update approved", "Update applied", "Rollout succeeded"],
            team.Select(m => m.Json["attachments"]![0]!["title"]!.GetValue<string>()));
        Assert.Equal(team.Select(Text).Select(t => t.Split('\n')[1]), teams.Select(Text));
        Assert.Contains($"[Open in KeelPortal]({NotificationHost.BaseUrl}approvals#approval-{webApproval.Id})", Text(team[0]), StringComparison.Ordinal);
        Assert.Equal("Update of deployment shop/web 1.0.0->1.1.0 approved by alice.", Text(team[1]).Split('\n')[1]);
        Assert.Equal($"Successfully updated deployment shop/web 1.0.0->1.1.0 ({web}:1.1.0). Release notes: https://github.com/example/web/releases",
            Text(team[2]).Split('\n')[1]);
        Assert.StartsWith("Rollout of deployment shop/web 1.0.0->1.1.0 succeeded", Text(team[3]).Split('\n')[1], StringComparison.Ordinal);
        Assert.Equal(2, ops.Count);
        Assert.All(ops, m => Assert.Contains("deployment shop/api", m.Json["attachments"]![0]!["fallback"]!.GetValue<string>(), StringComparison.Ordinal));
        Assert.Equal(["Approval required: ", "Update rejected: "], ops.Select(m => Text(m)[..(Text(m).IndexOf(':', StringComparison.Ordinal) + 2)]));
        Assert.Equal(1, pipeline.PatchesOf("web"));
    }

    [Fact]
    public async Task A_dead_endpoint_never_holds_up_polling_or_applying()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.Hang("dead");
        await using var pipeline = await PipelinePortal.StartAsync(configure: portal => portal
            .With("Notifications:AttemptTimeout", "00:05:00"));
        await pipeline.Portal.AddAsync(NotificationHost.Channel("dead", ChannelType.Webhook, receiver.Url("dead")));
        var repository = pipeline.Repository("team/svc");
        await pipeline.Pusher.PushAsync("team/svc", "3.0.0");
        await pipeline.Pusher.PushAsync("team/svc", "3.0.1");
        await pipeline.Pusher.PushAsync("team/svc", "3.0.2");
        pipeline.Deploy("svc", $"{repository}:3.0.0", Keel(("keel.sh/policy", "patch"), ("keel.sh/trigger", "poll")), labels: Keel(("keel.sh/approvals", "1")));
        await pipeline.TrackedAsync("deployment/shop/svc");

        await pipeline.PollNowAsync(repository);
        await pipeline.ApprovalAsync("deployment/shop/svc:3.0.2", a => a.State == ApprovalState.Pending);
        await receiver.WaitForAsync("dead", 1);
        (await pipeline.VoteAsync("carol", "deployment/shop/svc:3.0.2")).EnsureSuccessStatusCode();
        await pipeline.ApprovalAsync("deployment/shop/svc:3.0.2", a => a.State == ApprovalState.Applied);

        // The channel's first message is stuck on its way; the update went ahead all the same.
        Assert.Equal($"{repository}:3.0.2", pipeline.ImageOf("svc"));
        Assert.Single(receiver.At("dead"));
        var center = Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions.GetRequiredService<NotificationCenter>(pipeline.Portal.Services);
        var log = await center.LogAsync("dead");
        var stuck = Assert.Single(log, d => d.Attempts > 0);
        Assert.Equal((NotificationEvents.ApprovalRequired, DeliveryState.Pending, 1), (stuck.Event, stuck.State, stuck.Attempts));
        // What happened since waits its turn behind it instead of being lost.
        var waiting = await Eventually.ValueAsync(async () => await center.LogAsync("dead"), l => l.Count >= 3, "approved and applied recorded");
        Assert.Contains(waiting, d => d.Event == NotificationEvents.UpdateApplied && d.State == DeliveryState.Pending && d.Attempts == 0);
    }
}
