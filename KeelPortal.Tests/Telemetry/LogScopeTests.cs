using System.Net.Http.Json;
using KeelPortal.Approvals;
using KeelPortal.Jobs;
using KeelPortal.Tests.TestSupport;
using Microsoft.Extensions.DependencyInjection;

namespace KeelPortal.Tests.Telemetry;

/// <summary>Log lines carry the approval and the job they belong to (logging scopes, shown by the JSON console format).</summary>
[Collection(AppHosts.Name)]
public sealed class LogScopeTests
{
    [Fact]
    public async Task An_applys_lines_carry_its_approval_id_and_a_jobs_lines_its_job_id()
    {
        await using var pipeline = await PipelinePortal.StartAsync(configure: p => p.With("Triggers:WebhookFallbackDelay", "00:00:01"));
        var repository = pipeline.Repository("team/logs");
        await pipeline.Pusher.PushAsync("team/logs", "1.0.0");
        pipeline.Deploy("logs", $"{repository}:1.0.0", new Dictionary<string, string> { ["keel.sh/policy"] = "all", ["keel.sh/trigger"] = "poll" });
        await pipeline.TrackedAsync("deployment/shop/logs");
        await pipeline.Pusher.PushAsync("team/logs", "1.1.0");
        await pipeline.PollNowAsync(repository);
        var applied = await pipeline.ApprovalAsync("deployment/shop/logs:1.1.0", a => a.State == ApprovalState.Applied);

        // Without the prompt run, the webhook's stand-in job plans it on the job server.
        await pipeline.Portal.Services.GetRequiredService<PromptRunner>().StopAsync(CancellationToken.None);
        using var webhook = pipeline.WebhookClient();
        (await webhook.PostAsJsonAsync("v1/webhooks/native", new { name = pipeline.Repository("team/nobody"), tag = "2.0.0" })).EnsureSuccessStatusCode();
        await Eventually.TrueAsync(() => pipeline.Portal.Logs.AllText.Contains("but no tracked workload uses", StringComparison.Ordinal), TimeSpan.FromSeconds(20), "the stand-in job ran");

        var update = Assert.Single(pipeline.Portal.Logs.ScopedLines, l => l.Message.StartsWith("Updated deployment/shop/logs", StringComparison.Ordinal));
        Assert.Equal(applied.Id, update.Scope["ApprovalId"]);
        var planned = pipeline.Portal.Logs.ScopedLines.First(l => l.Message.Contains("but no tracked workload uses", StringComparison.Ordinal));
        Assert.False(string.IsNullOrEmpty(planned.Scope.GetValueOrDefault("HangfireJobId") as string), string.Join(", ", planned.Scope.Keys));
        Assert.Equal("WebhookJob.RunAsync", planned.Scope["Job"]);
    }
}
