using System.Net.Http.Json;
using KeelPortal.Approvals;
using KeelPortal.Tests.TestSupport;

namespace KeelPortal.Tests.Telemetry;

/// <summary>One change, one trace: webhook, plan, apply and rollout exported over OTLP with parent links and the approval id.</summary>
[Collection(AppHosts.Name)]
public sealed class TraceTests
{
    [Fact]
    public async Task A_change_from_webhook_to_rollout_is_one_trace_exported_over_otlp()
    {
        await using var collector = await OtlpCollector.StartAsync();
        await using var pipeline = await PipelinePortal.StartAsync(configure: p => p
            .With("OTEL_EXPORTER_OTLP_ENDPOINT", collector.Url)
            .With("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
            .With("OTEL_BSP_SCHEDULE_DELAY", "100"));
        var repository = pipeline.Repository("team/traced");
        await pipeline.Pusher.PushAsync("team/traced", "1.0.0");
        pipeline.Deploy("traced", $"{repository}:1.0.0", new Dictionary<string, string> { ["keel.sh/policy"] = "all" },
            new Dictionary<string, string> { ["keel.sh/approvals"] = "1" });
        await pipeline.TrackedAsync("deployment/shop/traced");
        await pipeline.Pusher.PushAsync("team/traced", "1.1.0");
        using var webhook = pipeline.WebhookClient();
        (await webhook.PostAsJsonAsync("v1/webhooks/native", new { name = repository, tag = "1.1.0" })).EnsureSuccessStatusCode();
        var pending = await pipeline.ApprovalAsync("deployment/shop/traced:1.1.0", a => a.State == ApprovalState.Pending);
        (await pipeline.VoteAsync("alice", "deployment/shop/traced:1.1.0")).EnsureSuccessStatusCode();
        await pipeline.ApprovalAsync("deployment/shop/traced:1.1.0", a => a.State == ApprovalState.Applied);

        // Spans are exported as they end, in batches: wait until every part of the change has arrived (the plan's span
        // may end after the rollout's when planning goes on after the proposal).
        ReceivedSpan? rollout = null;
        List<ReceivedSpan> trace = [];
        await Eventually.TrueAsync(() =>
        {
            rollout = collector.Spans.FirstOrDefault(s => s.Name == "keelportal.rollout" && s.Attributes.GetValueOrDefault("keelportal.workload") == "deployment/shop/traced");
            trace = rollout is null ? [] : [.. collector.Spans.Where(s => s.TraceId == rollout.TraceId)];
            return trace.Any(s => s.Name == "keelportal.plan") && trace.Any(s => s.Name == "keelportal.apply")
                && trace.Any(s => s.Name.Contains("/v1/webhooks/", StringComparison.Ordinal));
        }, TimeSpan.FromSeconds(30), $"the change's spans exported ({string.Join(", ", collector.Spans.Select(s => s.Name).Distinct())})");
        var request = Assert.Single(trace, s => s.Name.Contains("/v1/webhooks/", StringComparison.Ordinal));
        var plan = Assert.Single(trace, s => s.Name == "keelportal.plan");
        var apply = Assert.Single(trace, s => s.Name == "keelportal.apply");

        Assert.Equal(request.SpanId, plan.ParentSpanId);
        Assert.Equal(plan.SpanId, apply.ParentSpanId);
        Assert.Equal(apply.SpanId, rollout!.ParentSpanId);
        Assert.Equal(pending.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), apply.Attributes["keelportal.approval.id"]);
        Assert.Equal(pending.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), rollout.Attributes["keelportal.approval.id"]);
        Assert.Contains(trace, s => s.Name.StartsWith("PATCH", StringComparison.Ordinal) && s.ParentSpanId == apply.SpanId);
    }
}
