using System.Net;
using System.Net.Http.Json;
using KeelPortal.Approvals;
using KeelPortal.Tests.TestSupport;
using KeelPortal.Updates;
using Microsoft.Extensions.DependencyInjection;

namespace KeelPortal.Tests.Updates;

/// <summary>
/// Holds and skips through the API on the real pipeline (registry, API test server): a hold supersedes the pending
/// approval and stops proposals until released; a skipped version is never proposed and the best one left is; bad
/// input and a Viewer are refused with a reason and change nothing.
/// </summary>
[Collection(AppHosts.Name)]
public sealed class HoldsTests
{
    private const string Workload = "deployment/shop/shop";

    private static Dictionary<string, string> Keel(params (string Key, string Value)[] pairs) => pairs.ToDictionary(p => p.Key, p => p.Value);

    [Fact]
    public async Task A_held_workload_gets_no_proposals_until_released_and_a_skipped_version_is_never_proposed()
    {
        await using var pipeline = await PipelinePortal.StartAsync();
        var repository = pipeline.Repository("team/shop");
        var planner = pipeline.Portal.Services.GetRequiredService<UpdatePlanner>();
        await pipeline.Pusher.PushAsync("team/shop", "1.0.0");
        await pipeline.Pusher.PushAsync("team/shop", "1.1.0");
        pipeline.Deploy("shop", $"{repository}:1.0.0", Keel(("keel.sh/policy", "minor")), labels: Keel(("keel.sh/approvals", "1")));
        await pipeline.TrackedAsync(Workload);
        Assert.Equal(1, await planner.PollAsync(repository));
        using var alice = pipeline.ApiClient("alice");

        var held = await alice.PostAsJsonAsync("v1/holds", new { workload = Workload, reason = "database migration", until = (DateTimeOffset?)null });

        Assert.Equal(HttpStatusCode.OK, held.StatusCode);
        var superseded = await pipeline.Approvals.FindAsync($"{Workload}:1.1.0");
        Assert.Equal(ApprovalState.Superseded, superseded!.State);
        Assert.Equal("the workload was held by alice: database migration", superseded.Reason);
        await pipeline.Pusher.PushAsync("team/shop", "1.2.0");
        Assert.Equal(0, await planner.PollAsync(repository));
        var board = await pipeline.Portal.Services.GetRequiredService<WorkloadBoard>().QueryAsync(new KeelPortal.Workloads.WorkloadQuery());
        Assert.Equal((WorkloadStatus.Held, "held by alice until released: database migration"), (board.Rows.Single().Status, board.Rows.Single().Detail));
        using (var list = await alice.GetAsync("v1/holds"))
        {
            Assert.Contains("database migration", await list.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        Assert.Equal(HttpStatusCode.OK, (await alice.DeleteAsync($"v1/holds?workload={Workload}")).StatusCode);
        Assert.Equal(HttpStatusCode.Conflict, (await alice.DeleteAsync($"v1/holds?workload={Workload}")).StatusCode);
        Assert.Equal(1, await planner.PollAsync(repository));
        Assert.Equal(ApprovalState.Pending, (await pipeline.Approvals.FindAsync($"{Workload}:1.2.0"))!.State);

        // Skipping the pending version supersedes it; the best version left is proposed instead, and 1.2.0 never again.
        var skipped = await alice.PostAsJsonAsync("v1/skips", new { workload = Workload, version = "1.2.0", reason = "breaks the checkout" });
        Assert.Equal(HttpStatusCode.OK, skipped.StatusCode);
        Assert.Equal(ApprovalState.Superseded, (await pipeline.Approvals.FindAsync($"{Workload}:1.2.0"))!.State);
        Assert.Equal(1, await planner.PollAsync(repository));
        Assert.Equal(ApprovalState.Pending, (await pipeline.Approvals.ForWorkloadAsync(Workload)).OrderByDescending(a => a.Id).First(a => a.NewVersion == "1.1.0").State);
        Assert.Equal(HttpStatusCode.Conflict, (await alice.PostAsJsonAsync("v1/skips", new { workload = Workload, version = "1.2.0", reason = "again" })).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await alice.DeleteAsync($"v1/skips?workload={Workload}&version=1.2.0")).StatusCode);

        var trail = await pipeline.AuditActionsAsync(Workload);
        Assert.Contains("workload.hold", trail);
        Assert.Contains("workload.release", trail);
        Assert.Contains("version.skip", trail);
        Assert.Contains("version.unskip", trail);
    }

    [Fact]
    public async Task Bad_holds_and_skips_and_a_viewer_are_refused_with_a_reason_and_change_nothing()
    {
        await using var pipeline = await PipelinePortal.StartAsync();
        var repository = pipeline.Repository("team/shop");
        await pipeline.Pusher.PushAsync("team/shop", "1.0.0");
        pipeline.Deploy("shop", $"{repository}:1.0.0", Keel(("keel.sh/policy", "minor")));
        await pipeline.TrackedAsync(Workload);
        using var alice = pipeline.ApiClient("alice");
        using var victor = pipeline.ApiClient("victor");

        Assert.Equal(HttpStatusCode.Forbidden, (await victor.PostAsJsonAsync("v1/holds", new { workload = Workload, reason = "mine" })).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await victor.PostAsJsonAsync("v1/skips", new { workload = Workload, version = "1.1.0", reason = "mine" })).StatusCode);
        await AssertProblemAsync(await alice.PostAsJsonAsync("v1/holds", new { workload = Workload, reason = " " }), 422, "a reason is required");
        await AssertProblemAsync(await alice.PostAsJsonAsync("v1/holds", new { workload = Workload, reason = "x", until = DateTimeOffset.UtcNow.AddHours(-1) }), 422, "has passed");
        await AssertProblemAsync(await alice.PostAsJsonAsync("v1/holds", new { workload = "deployment/shop/nope", reason = "x" }), 404, "no workload");
        await AssertProblemAsync(await alice.PostAsJsonAsync("v1/holds", new { reason = "x" }), 400, "workload");
        await AssertProblemAsync(await alice.PostAsJsonAsync("v1/holds", new { workload = Workload, reason = new string('x', 501) }), 422, "longer than 500");
        await AssertProblemAsync(await alice.PostAsJsonAsync("v1/skips", new { workload = Workload, reason = "x" }), 422, "name the version");

        Assert.Empty(await pipeline.Portal.Services.GetRequiredService<Holds>().AllActiveAsync());
        Assert.Empty(await pipeline.Portal.Services.GetRequiredService<Holds>().SkipsAsync(Workload));
    }

    private static async Task AssertProblemAsync(HttpResponseMessage response, int status, string detail)
    {
        Assert.Equal(status, (int)response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Contains(detail, await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }
}
