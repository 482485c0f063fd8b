using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using KeelPortal.Approvals;
using KeelPortal.Tests.TestSupport;
using Microsoft.Extensions.DependencyInjection;

namespace KeelPortal.Tests.Api;

/// <summary>
/// Keel's HTTP API as Keel's clients see it: every endpoint Keel serves answers with the fields and JSON kinds of a
/// recorded Keel answer (<c>keel-answers.json</c>), with Keel's status codes, and its writes change the workload as
/// Keel's do, audited under the caller's name.
/// </summary>
[Collection(AppHosts.Name)]
public sealed class KeelApiContractTests
{
    private static readonly JsonObject Recorded = JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "Api", "keel-answers.json")))!.AsObject();

    [Fact]
    public async Task Every_endpoint_answers_with_the_fields_and_kinds_of_keels_answer_and_writes_as_keel_does()
    {
        await using var pipeline = await PipelinePortal.StartAsync();
        var pending = await pipeline.PendingAsync("web", votes: 2);
        pipeline.Deploy("plain", pipeline.Repository("team/plain") + ":2.0.0", new Dictionary<string, string>());
        await Eventually.TrueAsync(() => Task.FromResult(pipeline.Portal.Services.GetRequiredService<KeelPortal.Workloads.WorkloadCatalog>().Find("deployment/shop/plain") is not null),
            TimeSpan.FromSeconds(15), "the untracked deployment seen");
        using var alice = pipeline.ApiClient("alice");
        using var root = pipeline.ApiClient("root");
        using var anonymous = new HttpClient { BaseAddress = pipeline.Url };

        var answers = new Dictionary<string, JsonNode?>
        {
            ["GET /v1/approvals"] = await JsonAsync(alice.GetAsync("v1/approvals")),
            ["POST /v1/approvals"] = await JsonAsync(alice.PostAsJsonAsync("v1/approvals", new { identifier = pending.Identifier, action = "approve", voter = "mallory" })),
        };
        var repeat = await JsonAsync(alice.PostAsJsonAsync("v1/approvals", new { identifier = pending.Identifier }));
        answers["PUT /v1/approvals"] = await JsonAsync(root.PutAsJsonAsync("v1/approvals", new { identifier = "deployment/shop/web", provider = "kubernetes", votesRequired = 3 }));
        answers["GET /v1/resources"] = await JsonAsync(alice.GetAsync("v1/resources"));
        var untracked = await JsonAsync(alice.GetAsync("v1/resources?tracked=false"));
        answers["GET /v1/tracked"] = await JsonAsync(alice.GetAsync("v1/tracked"));
        answers["PUT /v1/tracked"] = await JsonAsync(root.PutAsJsonAsync("v1/tracked", new { provider = "kubernetes", identifier = "deployment/shop/plain", trigger = "poll", schedule = "5m" }));
        answers["PUT /v1/policies"] = await JsonAsync(root.PutAsJsonAsync("v1/policies", new { identifier = "deployment/shop/plain", provider = "kubernetes", policy = "patch" }));
        await Eventually.TrueAsync(async () => (await pipeline.Workloads.GetAsync("deployment/shop/plain"))?.Policy == "patch",
            TimeSpan.FromSeconds(15), "the policy written through the API read back");
        var nowTracked = (await pipeline.Workloads.GetAsync("deployment/shop/plain"))!;
        answers["GET /v1/audit"] = await JsonAsync(root.GetAsync("v1/audit?limit=10&offset=0&filter=approval"));
        var everything = await JsonAsync(root.GetAsync("v1/audit?limit=2&offset=1"));
        answers["GET /v1/stats"] = await JsonAsync(root.GetAsync("v1/stats"));
        answers["GET /version"] = await JsonAsync(anonymous.GetAsync("version"));

        foreach (var (endpoint, answer) in answers)
        {
            AssertShape(endpoint, Recorded[endpoint], answer);
        }
        // The voter is the caller, whatever the body says; a repeat vote changes nothing and says why.
        var voted = answers["POST /v1/approvals"]!;
        Assert.Equal(["alice"], voted["voters"]!.AsObject().Select(v => v.Key));
        Assert.Equal((1, 1), (voted["votesReceived"]!.GetValue<int>(), repeat!["votesReceived"]!.GetValue<int>()));
        Assert.Contains("already voted", repeat["voteNotCounted"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal((pipeline.Registry.Host, "team/web", "1.1.0"), (
            voted["event"]!["repository"]!["host"]!.GetValue<string>(), voted["event"]!["repository"]!["name"]!.GetValue<string>(),
            voted["event"]!["repository"]!["tag"]!.GetValue<string>()));
        // PUT /v1/approvals changes the pending approval and the workload's own key (here a label, where Keel reads it first).
        Assert.Equal(3, (await pipeline.Approvals.GetAsync(pending.Id))!.VotesRequired);
        Assert.Equal("3", pipeline.Cluster.Get("Deployment", "shop", "web")!["metadata"]!["labels"]!["keel.sh/approvals"]!.GetValue<string>());
        // Every workload is listed; the untracked one says so, with Keel's name for no policy, and the filter finds it.
        var plain = answers["GET /v1/resources"]!.AsArray().Single(r => r!["identifier"]!.GetValue<string>() == "deployment/shop/plain")!;
        Assert.Equal((KeelApi.NilPolicy, false), (plain["policy"]!.GetValue<string>(), plain["tracked"]!.GetValue<bool>()));
        Assert.Equal(["deployment/shop/plain"], untracked!.AsArray().Select(r => r!["identifier"]!.GetValue<string>()));
        // PUT /v1/tracked and /v1/policies write Keel's keys; the workload is tracked from then on, and the change is audited as the caller's.
        var annotations = pipeline.Cluster.Get("Deployment", "shop", "plain")!["metadata"]!["annotations"]!;
        Assert.Equal(("poll", "@every 5m", "patch"), (annotations["keel.sh/trigger"]!.GetValue<string>(),
            annotations["keel.sh/pollSchedule"]!.GetValue<string>(), annotations["keel.sh/policy"]!.GetValue<string>()));
        Assert.Equal(("patch", KeelPortal.Workloads.TriggerKind.Poll), (nowTracked.Policy, nowTracked.Trigger));
        var settings = await pipeline.Portal.Services.GetRequiredService<KeelPortal.Audit.AuditTrail>()
            .QueryAsync(new KeelPortal.Audit.AuditQuery(Action: "workload.settings", Subject: "deployment/shop/plain"));
        Assert.Equal(["root", "root"], settings.Entries.Select(e => e.Actor));
        // The audit page holds only approval entries, Keel's vote among them; today's statistics count the vote.
        var audit = answers["GET /v1/audit"]!["data"]!.AsArray();
        Assert.All(audit, e => Assert.Equal("approval", e!["resourceKind"]!.GetValue<string>()));
        Assert.Contains(audit, e => e!["action"]!.GetValue<string>() == "approved" && e["username"]!.GetValue<string>() == "alice");
        // Without a filter every entry counts and the page is the one asked for.
        Assert.Equal((2, 2, 1), (everything!["data"]!.AsArray().Count, everything["limit"]!.GetValue<int>(), everything["offset"]!.GetValue<int>()));
        Assert.True(everything["total"]!.GetValue<int>() > answers["GET /v1/audit"]!["total"]!.GetValue<int>());
        // The vote's day (as Keel writes dates: 2026-1-7) counts it, whichever day the statistics were asked on.
        var votedAt = audit.First(e => e!["action"]!.GetValue<string>() == "approved")!["createdAt"]!.GetValue<DateTime>().ToUniversalTime();
        var stats = answers["GET /v1/stats"]!.AsArray();
        Assert.Equal(31, stats.Count);
        var day = stats.Single(d => d!["date"]!.GetValue<string>() == $"{votedAt.Year}-{votedAt.Month}-{votedAt.Day}")!;
        Assert.Equal(1, day["approved"]!.GetValue<int>());
        Assert.Equal(1, stats.Sum(d => d!["approved"]!.GetValue<int>()));
    }

    [Fact]
    public async Task Keels_status_codes_answer_what_keel_refuses_and_the_body_says_why()
    {
        await using var pipeline = await PipelinePortal.StartAsync();
        var pending = await pipeline.PendingAsync("api", votes: 2);
        using var alice = pipeline.ApiClient("alice");
        using var root = pipeline.ApiClient("root");
        using var anonymous = new HttpClient { BaseAddress = pipeline.Url };
        var put = (HttpClient c, string path, object body) => c.PutAsJsonAsync(path, body);

        var cases = new (string What, Task<HttpResponseMessage> Call, HttpStatusCode Expected, string? Says)[]
        {
            ("no credentials", anonymous.GetAsync("v1/approvals"), HttpStatusCode.Unauthorized, null),
            ("an empty identifier", alice.PostAsJsonAsync("v1/approvals", new { action = "approve" }), HttpStatusCode.NotFound, "identifier cannot be empty"),
            ("a body that is not JSON", alice.PostAsync("v1/approvals", new StringContent("{not json", Encoding.UTF8, "application/json")), HttpStatusCode.BadRequest, null),
            ("an unknown approval", alice.PostAsJsonAsync("v1/approvals", new { identifier = "deployment/shop/nope:1.0.0" }), HttpStatusCode.NotFound, "not found"),
            ("an unknown action", alice.PostAsJsonAsync("v1/approvals", new { identifier = pending.Identifier, action = "approv" }), HttpStatusCode.BadRequest, "is not approve"),
            ("more than 100 votes", put(root, "v1/approvals", new { identifier = "deployment/shop/api", provider = "kubernetes", votesRequired = 101 }), HttpStatusCode.BadRequest, "between 0 and 100"),
            ("a provider other than kubernetes", put(root, "v1/approvals", new { identifier = "deployment/shop/api", provider = "helm", votesRequired = 1 }), HttpStatusCode.BadRequest, "unsupported provider"),
            ("votes for an unknown resource", put(root, "v1/approvals", new { identifier = "deployment/shop/nope", provider = "kubernetes", votesRequired = 1 }), HttpStatusCode.NotFound, "not found"),
            ("votes changed by an approver", put(alice, "v1/approvals", new { identifier = "deployment/shop/api", provider = "kubernetes", votesRequired = 1 }), HttpStatusCode.Forbidden, null),
            ("an unknown trigger", put(root, "v1/tracked", new { provider = "kubernetes", identifier = "deployment/shop/api", trigger = "push" }), HttpStatusCode.BadRequest, "unknown trigger type"),
            ("a schedule that is not one", put(root, "v1/tracked", new { provider = "kubernetes", identifier = "deployment/shop/api", trigger = "poll", schedule = "soon" }), HttpStatusCode.BadRequest, "keel.sh/pollSchedule"),
            ("tracking an unknown resource", put(root, "v1/tracked", new { provider = "kubernetes", identifier = "deployment/shop/nope", trigger = "poll" }), HttpStatusCode.NotFound, "not found"),
            ("tracking changed by an approver", put(alice, "v1/tracked", new { provider = "kubernetes", identifier = "deployment/shop/api", trigger = "poll" }), HttpStatusCode.Forbidden, null),
            ("a policy without identifier", put(root, "v1/policies", new { policy = "major" }), HttpStatusCode.BadRequest, "identifier cannot be empty"),
            ("a policy that is not one", put(root, "v1/policies", new { identifier = "deployment/shop/api", policy = "regexp:(" }), HttpStatusCode.BadRequest, null),
            ("a policy for an unknown resource", put(root, "v1/policies", new { identifier = "deployment/shop/nope", policy = "major" }), HttpStatusCode.NotFound, "not found"),
            ("a policy changed by an approver", put(alice, "v1/policies", new { identifier = "deployment/shop/api", policy = "major" }), HttpStatusCode.Forbidden, null),
            ("the audit read by an approver", alice.GetAsync("v1/audit"), HttpStatusCode.Forbidden, null),
        };
        foreach (var (what, call, expected, says) in cases)
        {
            using var response = await call;
            var body = await response.Content.ReadAsStringAsync();
            Assert.True(expected == response.StatusCode, $"{what}: {(int)response.StatusCode} {body}");
            if (says is not null)
            {
                Assert.Contains(says, body, StringComparison.Ordinal);
            }
        }
        var api = pipeline.Cluster.Get("Deployment", "shop", "api")!["metadata"]!;
        Assert.Equal("minor", api["annotations"]!["keel.sh/policy"]!.GetValue<string>());
        Assert.Equal("2", api["labels"]!["keel.sh/approvals"]!.GetValue<string>());
        Assert.Empty((await pipeline.Approvals.GetAsync(pending.Id))!.Votes);

        // Keel answers a delete with JSON null; the approval leaves the pending list as rejected and archived.
        using var deleted = await root.PostAsJsonAsync("v1/approvals", new { identifier = pending.Identifier, action = "delete" });
        Assert.Equal((HttpStatusCode.OK, "null"), (deleted.StatusCode, await deleted.Content.ReadAsStringAsync()));
        Assert.Equal((ApprovalState.Rejected, true), ((await pipeline.Approvals.GetAsync(pending.Id))!.State, (await pipeline.Approvals.GetAsync(pending.Id))!.Archived));
    }

    [Fact]
    public async Task A_replica_that_does_not_watch_the_cluster_lists_and_changes_workloads_through_the_api_server()
    {
        await using var pipeline = await PipelinePortal.StartAsync(configure: p => p.With("Workloads:LeaderElection", "on").With("Workloads:LeaseNamespace", "keel").With("Workloads:ReplicaName", "first"),
            chartValues: ["replicas=2", "database.provider=postgres", "database.existingSecret=db"]);
        pipeline.Deploy("plain", pipeline.Repository("team/plain") + ":2.0.0", new Dictionary<string, string>());
        await using var follower = pipeline.SecondInstance(p => p.With("Workloads:LeaderElection", "on").With("Workloads:LeaseNamespace", "keel").With("Workloads:ReplicaName", "second"));
        Assert.False(follower.Services.GetRequiredService<KeelPortal.Workloads.WorkloadWatcher>().Current);
        using var root = follower.CreateClient();
        root.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Basic",
            Convert.ToBase64String(Encoding.UTF8.GetBytes($"root:{SignIn.Password}")));

        var listed = await JsonAsync(root.GetAsync("/v1/resources?tracked=false"));
        await JsonAsync(root.PutAsJsonAsync("/v1/policies", new { identifier = "deployment/shop/plain", policy = "major" }));

        Assert.Contains(listed!.AsArray(), r => r!["identifier"]!.GetValue<string>() == "deployment/shop/plain");
        Assert.Equal("major", pipeline.Cluster.Get("Deployment", "shop", "plain")!["metadata"]!["annotations"]!["keel.sh/policy"]!.GetValue<string>());
    }

    private static async Task<JsonNode?> JsonAsync(Task<HttpResponseMessage> call)
    {
        using var response = await call;
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{response.RequestMessage?.Method} {response.RequestMessage?.RequestUri}: {(int)response.StatusCode} {body}");
        return JsonNode.Parse(body);
    }

    /// <summary>Every field of Keel's answer is in ours with the same JSON kind (Keel's null: any kind); lists compare their first items.</summary>
    private static void AssertShape(string path, JsonNode? keel, JsonNode? ours)
    {
        if (keel is null)
        {
            return;
        }
        Assert.True(ours is not null, $"{path}: missing (Keel answers {keel.GetValueKind()})");
        var (keelKind, ourKind) = (Kind(keel), Kind(ours!));
        Assert.True(keelKind == ourKind, $"{path}: Keel answers {keelKind}, KeelPortal {ourKind}");
        switch (keel)
        {
            case JsonObject keelObject when path.EndsWith(".voters", StringComparison.Ordinal) || path.EndsWith(".labels", StringComparison.Ordinal)
                || path.EndsWith(".annotations", StringComparison.Ordinal) || path.EndsWith(".metadata", StringComparison.Ordinal):
                // A map: its keys are data, not fields; its values keep Keel's kind.
                foreach (var (_, value) in ours!.AsObject())
                {
                    Assert.Equal(Kind(keelObject.First().Value!), Kind(value!));
                }
                break;
            case JsonObject keelObject:
                foreach (var (name, value) in keelObject.Where(p => p.Key != "_about"))
                {
                    Assert.True(ours!.AsObject().ContainsKey(name), $"{path}.{name}: Keel answers it, KeelPortal does not");
                    AssertShape($"{path}.{name}", value, ours[name]);
                }
                break;
            case JsonArray { Count: > 0 } keelArray when ours!.AsArray().Count > 0:
                foreach (var item in ours.AsArray())
                {
                    AssertShape(path + "[]", keelArray[0], item);
                }
                break;
        }
    }

    private static string Kind(JsonNode node) => node.GetValueKind() switch
    {
        JsonValueKind.True or JsonValueKind.False => "boolean",
        var kind => kind.ToString().ToLowerInvariant(),
    };
}
