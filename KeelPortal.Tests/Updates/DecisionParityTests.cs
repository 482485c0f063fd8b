using KeelPortal.Approvals;
using KeelPortal.Tests.TestSupport;
using KeelPortal.Updates;
using KeelPortal.Workloads;
using Microsoft.Extensions.DependencyInjection;

namespace KeelPortal.Tests.Updates;

/// <summary>
/// Polling and webhooks decide alike: over the same cases, a poll (every tag at once) and webhooks (one tag at a time,
/// as a registry pushes them) end with the same pending version, the best eligible one not declined for the workload.
/// Real registry, real API server, the planner's two entry points.
/// </summary>
[Collection(AppHosts.Name)]
public sealed class DecisionParityTests
{
    public sealed record ParityCase(string Name, string Policy, string Current, string[] Tags, string[] Declined, string? Expected);

    private static readonly ParityCase[] Cases =
    [
        new("declined-major-hides-nothing", "all", "1.0.0", ["1.0.0", "1.1.0", "1.1.11", "2.0.0"], ["2.0.0"], "1.1.11"),
        new("two-declined", "all", "1.0.0", ["1.0.0", "1.1.0", "1.1.11", "2.0.0"], ["2.0.0", "1.1.11"], "1.1.0"),
        new("minor-declined", "minor", "1.0.0", ["1.0.0", "1.0.5", "1.1.0", "2.0.0"], ["1.1.0"], "1.0.5"),
        new("patch-all-declined", "patch", "1.0.0", ["1.0.0", "1.0.1", "1.0.2"], ["1.0.1", "1.0.2"], null),
        new("nothing-declined", "all", "1.0.0", ["1.0.0", "1.2.0", "2.0.0"], [], "2.0.0"),
        new("glob-declined", "glob:build-*", "build-1", ["build-1", "build-2", "build-3"], ["build-3"], "build-2"),
    ];

    [Fact]
    public async Task A_poll_and_webhooks_propose_the_best_eligible_version_not_declined()
    {
        await using var pipeline = await PipelinePortal.StartAsync();
        var planner = pipeline.Portal.Services.GetRequiredService<UpdatePlanner>();
        var outcomes = new List<string>();

        foreach (var c in Cases)
        {
            foreach (var path in new[] { "poll", "webhook" })
            {
                var name = $"{c.Name}-{path}";
                var repository = pipeline.Repository($"parity/{name}");
                foreach (var tag in c.Tags)
                {
                    await pipeline.Pusher.PushAsync($"parity/{name}", tag);
                }
                pipeline.Deploy(name, $"{repository}:{c.Current}", new Dictionary<string, string> { ["keel.sh/policy"] = c.Policy },
                    labels: new Dictionary<string, string> { ["keel.sh/approvals"] = "1" });
                await pipeline.TrackedAsync($"deployment/shop/{name}");
                foreach (var declined in c.Declined)
                {
                    await DeclineAsync(pipeline.Approvals, $"deployment/shop/{name}", repository, c.Current, declined);
                }

                if (path == "poll")
                {
                    await planner.PollAsync(repository);
                }
                else
                {
                    foreach (var tag in c.Tags)
                    {
                        await planner.PlanEventAsync(repository, tag, null, "parity webhook");
                    }
                }

                var pending = (await pipeline.Approvals.ForWorkloadAsync($"deployment/shop/{name}")).SingleOrDefault(a => a.State == ApprovalState.Pending);
                outcomes.Add($"{c.Name} {path}: {pending?.NewVersion ?? "none"}");
                if (path == "poll")
                {
                    // The workload page's "why not" report names the same version and marks every declined one.
                    var workload = (await pipeline.Portal.Services.GetRequiredService<WorkloadStore>().GetAsync($"deployment/shop/{name}"))!;
                    var report = Assert.Single(await pipeline.Portal.Services.GetRequiredService<CandidateReport>().ExplainAsync(workload), r => r.Container == "app");
                    outcomes.Add($"{c.Name} report: {report.Chosen ?? "none"}");
                    Assert.Equal(c.Declined.Order(StringComparer.Ordinal), report.Candidates.Where(l => l.Declined).Select(l => l.Tag).Order(StringComparer.Ordinal));
                }
            }
        }

        Assert.Equal(Cases.SelectMany(c => new[]
        {
            $"{c.Name} poll: {c.Expected ?? "none"}", $"{c.Name} report: {c.Expected ?? "none"}", $"{c.Name} webhook: {c.Expected ?? "none"}",
        }), outcomes);

        // Polls that keep reaching the same conclusion do not add to the audit trail.
        var polled = pipeline.Repository("parity/nothing-declined-poll");
        var decisionsBefore = (await pipeline.AuditActionsAsync("deployment/shop/nothing-declined-poll")).Count(a => a == "decision");
        for (var i = 0; i < 5; i++)
        {
            await planner.PollAsync(polled);
        }
        var decisionsAfter = (await pipeline.AuditActionsAsync("deployment/shop/nothing-declined-poll")).Count(a => a == "decision");
        Assert.True(decisionsAfter - decisionsBefore <= 1, $"{decisionsAfter - decisionsBefore} decisions recorded by 5 identical polls");
    }

    /// <summary>A version someone rejected for this workload before.</summary>
    private static async Task DeclineAsync(ApprovalBook book, string workload, string repository, string current, string version)
    {
        var proposed = await book.ProposeAsync(new Proposal(workload, repository, current, version, null,
            [new KeelPortal.Workloads.ImageUpdate("app", $"{repository}:{version}")], 1, TimeSpan.FromHours(1), "eligible"), _ => true);
        var rejected = await book.VoteAsync(proposed.ApprovalId!.Value, "alice", approve: false, comment: "not this one");
        Assert.Equal(VoteOutcome.Rejected, rejected.Outcome);
    }
}
