using System.Net.Http.Json;
using KeelPortal.Approvals;
using KeelPortal.Notifications;
using KeelPortal.Tests.Notifications;
using KeelPortal.Tests.TestSupport;

namespace KeelPortal.Tests.Telemetry;

/// <summary>
/// Log lines carry what they belong to (logging scopes, shown by the JSON console format): an apply's its approval, a
/// webhook's planning its outbox event, a job's its job id.
/// </summary>
[Collection(AppHosts.Name)]
public sealed class LogScopeTests
{
    [Fact]
    public async Task An_applys_lines_carry_its_approval_a_webhooks_planning_its_event_and_a_deliverys_lines_its_work()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        await using var pipeline = await PipelinePortal.StartAsync(configure: p => p.With("Notifications:PublicBaseUrl", NotificationHost.BaseUrl));
        await pipeline.Portal.AddAsync(NotificationHost.Channel("ops", ChannelType.Slack, receiver.Url("ops")));
        var repository = pipeline.Repository("team/logs");
        await pipeline.Pusher.PushAsync("team/logs", "1.0.0");
        pipeline.Deploy("logs", $"{repository}:1.0.0", new Dictionary<string, string> { ["keel.sh/policy"] = "all", ["keel.sh/trigger"] = "poll" });
        await pipeline.TrackedAsync("deployment/shop/logs");
        await pipeline.Pusher.PushAsync("team/logs", "1.1.0");
        await pipeline.PollNowAsync(repository);
        var applied = await pipeline.ApprovalAsync("deployment/shop/logs:1.1.0", a => a.State == ApprovalState.Applied);
        await receiver.WaitForAsync("ops", 1);
        using var webhook = pipeline.WebhookClient();
        (await webhook.PostAsJsonAsync("v1/webhooks/native", new { name = pipeline.Repository("team/nobody"), tag = "2.0.0" })).EnsureSuccessStatusCode();
        await Eventually.TrueAsync(() => pipeline.Portal.Logs.AllText.Contains("but no tracked workload uses", StringComparison.Ordinal), TimeSpan.FromSeconds(20), "the webhook was planned");

        var update = Assert.Single(pipeline.Portal.Logs.ScopedLines, l => l.Message.StartsWith("Updated deployment/shop/logs", StringComparison.Ordinal));
        Assert.Equal(applied.Id, update.Scope["ApprovalId"]);
        var planned = pipeline.Portal.Logs.ScopedLines.First(l => l.Message.Contains("but no tracked workload uses", StringComparison.Ordinal));
        Assert.IsType<long>(planned.Scope["EventId"]);
        Assert.Equal(nameof(KeelPortal.Triggers.WebhookReceived), planned.Scope["Work"]);
        static bool Delivery(string message) => message.StartsWith("Notification", StringComparison.Ordinal) && message.Contains(" delivered to channel ops", StringComparison.Ordinal);
        await Eventually.TrueAsync(() => Task.FromResult(pipeline.Portal.Logs.ScopedLines.Any(l => Delivery(l.Message))), TimeSpan.FromSeconds(20), "a delivery logged");
        var delivered = pipeline.Portal.Logs.ScopedLines.First(l => Delivery(l.Message));
        Assert.IsType<long>(delivered.Scope["EventId"]);
        Assert.Equal(nameof(DeliveryDue), delivered.Scope["Work"]);
        Assert.Equal(1, delivered.Scope["Attempt"]);
    }
}
