using KeelPortal.Approvals;
using KeelPortal.Audit;
using KeelPortal.Tests.TestSupport;
using KeelPortal.Triggers;
using Microsoft.Extensions.DependencyInjection;

namespace KeelPortal.Tests.Triggers;

/// <summary>
/// Keel's Google Pub/Sub trigger with Keel's settings (<c>PUBSUB</c>, <c>PROJECT_ID</c>, <c>CLUSTER_NAME</c>): the topic and
/// this cluster's subscription are created, a pushed tag becomes a pending approval, and a message whose stream breaks
/// before it is acknowledged is delivered again and planned once.
/// </summary>
[Collection(AppHosts.Name)]
public sealed class PubSubTriggerTests
{
    private static async Task<PipelinePortal> PipelineAsync(PubSubImitation pubSub)
    {
        var pipeline = await PipelinePortal.StartAsync(configure: p => p
            .With("PUBSUB", "1").With("PROJECT_ID", "shop-project").With("CLUSTER_NAME", "prod").With("PUBSUB_EMULATOR_HOST", pubSub.Host));
        var settings = pipeline.Portal.Services.GetRequiredService<Microsoft.Extensions.Options.IOptions<TriggersOptions>>().Value;
        Assert.Equal("keel-prod-shop-project-gcr", settings.PubSub.SubscriptionId);
        return pipeline;
    }

    /// <summary>The pipeline with Keel's Pub/Sub settings, a tracked Deployment on 1.0.0 (one approval), subscribed.</summary>
    private static async Task<PipelinePortal> SubscribedAsync(PubSubImitation pubSub)
    {
        var pipeline = await PipelineAsync(pubSub);
        pipeline.Deploy("web", $"{pipeline.Repository("shop-project/web")}:1.0.0", new Dictionary<string, string> { ["keel.sh/policy"] = "minor" },
            labels: new Dictionary<string, string> { ["keel.sh/approvals"] = "1" });
        await pipeline.TrackedAsync("deployment/shop/web");
        var trigger = pipeline.Portal.Services.GetRequiredService<PubSubTrigger>();
        await Eventually.TrueAsync(() => Task.FromResult(trigger.Status.State == PubSubState.Subscribed), TimeSpan.FromSeconds(20), "subscribed");
        return pipeline;
    }

    /// <summary>What the registry publishes for a pushed tag (the test registry stands in for gcr.io).</summary>
    private static string Insert(PipelinePortal pipeline, string digest) =>
        $$"""{"action":"INSERT","digest":"{{pipeline.Repository("shop-project/web")}}@{{digest}}","tag":"{{pipeline.Repository("shop-project/web")}}:1.1.0"}""";

    [Fact]
    public async Task A_pushed_tag_on_the_gcr_topic_becomes_a_pending_approval_and_is_acknowledged_once()
    {
        await using var pubSub = await PubSubImitation.StartAsync();
        await using var pipeline = await SubscribedAsync(pubSub);
        var digest = await pipeline.Pusher.PushAsync("shop-project/web", "1.1.0");

        var id = pubSub.Publish("projects/shop-project/topics/gcr", Insert(pipeline, digest));

        await pipeline.ApprovalAsync("deployment/shop/web:1.1.0", a => a.State == ApprovalState.Pending);
        Assert.Contains("projects/shop-project/topics/gcr", pubSub.Topics);
        Assert.Contains("projects/shop-project/subscriptions/keel-prod-shop-project-gcr", pubSub.Subscriptions);
        await Eventually.TrueAsync(() => Task.FromResult(pubSub.Acks.GetValueOrDefault(id) == 1), TimeSpan.FromSeconds(20), "acknowledged");
        Assert.Equal(1, pubSub.Deliveries[id]);
    }

    [Fact]
    public async Task A_message_whose_stream_breaks_before_its_acknowledgement_is_delivered_again_and_planned_once()
    {
        await using var pubSub = await PubSubImitation.StartAsync();
        await using var pipeline = await SubscribedAsync(pubSub);
        var digest = await pipeline.Pusher.PushAsync("shop-project/web", "1.1.0");
        pubSub.BreakAfterNextDelivery = true;

        var id = pubSub.Publish("projects/shop-project/topics/gcr", Insert(pipeline, digest));

        await Eventually.TrueAsync(() => Task.FromResult(pubSub.Acks.GetValueOrDefault(id) == 1), TimeSpan.FromSeconds(60), "acknowledged after the redelivery");
        Assert.Equal(2, pubSub.Deliveries[id]);
        await pipeline.ApprovalAsync("deployment/shop/web:1.1.0", a => a.State == ApprovalState.Pending);
        var created = (await pipeline.Portal.Services.GetRequiredService<AuditTrail>().QueryAsync(new AuditQuery(Action: AuditActions.ApprovalCreated.Name))).Entries;
        Assert.Single(created);
    }

    [Fact]
    public async Task An_unreachable_pub_sub_is_reported_on_readyz_and_tried_again_without_failing_readiness()
    {
        await using var portal = new PortalFactory().With("PUBSUB", "1").With("PROJECT_ID", "shop-project").With("PUBSUB_EMULATOR_HOST", "127.0.0.1:1");
        using var client = portal.CreateClient();
        var trigger = portal.Services.GetRequiredService<PubSubTrigger>();

        await Eventually.TrueAsync(() => Task.FromResult(trigger.Status.State == PubSubState.Failing), TimeSpan.FromSeconds(30), "the subscription reported failing");
        using var ready = await client.GetAsync("/readyz");
        var body = await ready.Content.ReadAsStringAsync();

        Assert.Equal(System.Net.HttpStatusCode.OK, ready.StatusCode);
        using var json = System.Text.Json.JsonDocument.Parse(body);
        var pubsub = json.RootElement.EnumerateObject().Select(p => p.Value).SelectMany(v => v.ValueKind == System.Text.Json.JsonValueKind.Object ? v.EnumerateObject() : Enumerable.Empty<System.Text.Json.JsonProperty>())
            .First(p => p.Name == "pubsub").Value.ToString();
        Assert.Contains("Degraded", pubsub, StringComparison.Ordinal);
        Assert.Contains("failing since", pubsub, StringComparison.Ordinal);
        Assert.Contains(portal.Logs.Lines, l => l.Message.Contains("Pub/Sub subscription keel-unknown-shop-project-gcr failing", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("""{"action":"INSERT","tag":"gcr.io/p/web:1.2.3","digest":"gcr.io/p/web@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}""", null, 1)]
    [InlineData("""{"action":"DELETE","tag":"gcr.io/p/web:1.2.3"}""", null, 0)]
    [InlineData("""{"action":"INSERT","digest":"gcr.io/p/web@sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"}""", null, 0)]
    [InlineData("""{"action":"INSERT","tag":"gcr.io/p/web:$(reboot)"}""", "tag:", 0)]
    [InlineData("""{"action":"INSERT","tag":"gcr.io/p/web"}""", "names no tag", 0)]
    [InlineData("""["INSERT"]""", "JSON object", 0)]
    [InlineData("not json", "not JSON", 0)]
    public void A_message_is_read_by_the_webhooks_grammar(string body, string? error, int events)
    {
        var parsed = WebhookPayloads.PubSub(System.Text.Encoding.UTF8.GetBytes(body));

        Assert.Equal(events, parsed.Events.Count);
        if (error is null)
        {
            Assert.Null(parsed.Error);
        }
        else
        {
            Assert.Contains(error, parsed.Error, StringComparison.Ordinal);
        }
    }
}
