using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Hangfire;
using KeelPortal.Audit;
using KeelPortal.Tests.Policies;
using KeelPortal.Tests.TestSupport;
using KeelPortal.Triggers;
using Microsoft.Extensions.DependencyInjection;

namespace KeelPortal.Tests.Triggers;

/// <summary>Keel's webhook endpoints over HTTP: secrets, bodies, problem details, audit and the job hand-off.</summary>
[Collection(AppHosts.Name)]
public sealed class WebhookEndpointTests : IAsyncLifetime
{
    private const string Secret = "s3cret-webhook";
    private PortalFactory portal = null!;
    private HttpClient client = null!;

    public static TheoryData<VectorCase> Bodies => WebhookVectors.Cases("cases");

    public static TheoryData<VectorCase> BadInputs => WebhookVectors.Cases("bad_inputs");

    public Task InitializeAsync()
    {
        portal = new PortalFactory().With("Triggers:WebhookSecret", Secret);
        client = portal.CreateClient();
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        client.Dispose();
        await portal.DisposeAsync();
    }

    private static HttpRequestMessage Post(VectorCase vector, string? bearer = Secret, string? query = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, vector.Json["endpoint"]!.GetValue<string>() + query)
        {
            Content = new StringContent(WebhookVectors.Body(vector), Encoding.UTF8, "application/json"),
        };
        if (WebhookVectors.Header(vector, "X-GitHub-Event") is { } github)
        {
            request.Headers.Add("X-GitHub-Event", github);
        }
        if (bearer is not null)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", bearer);
        }
        return request;
    }

    /// <summary>Distinct webhook jobs in any state (a job moving between states can show in two lists at once).</summary>
    private int WebhookJobs()
    {
        var monitoring = portal.Services.GetRequiredService<JobStorage>().GetMonitoringApi();
        var ids = new HashSet<string>(StringComparer.Ordinal);
        ids.UnionWith(monitoring.EnqueuedJobs("default", 0, 1000).Where(j => j.Value.Job?.Type == typeof(WebhookJob)).Select(j => j.Key));
        ids.UnionWith(monitoring.ProcessingJobs(0, 1000).Where(j => j.Value.Job?.Type == typeof(WebhookJob)).Select(j => j.Key));
        ids.UnionWith(monitoring.SucceededJobs(0, 1000).Where(j => j.Value.Job?.Type == typeof(WebhookJob)).Select(j => j.Key));
        ids.UnionWith(monitoring.FailedJobs(0, 1000).Where(j => j.Value.Job?.Type == typeof(WebhookJob)).Select(j => j.Key));
        return ids.Count;
    }

    [Theory]
    [MemberData(nameof(Bodies))]
    public async Task Every_keel_body_is_accepted_audited_and_handed_to_a_job(VectorCase vector)
    {
        var expected = vector.Json["expect"]!.AsArray();

        using var response = await client.SendAsync(Post(vector));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(expected.Count, body.RootElement.GetProperty("accepted").GetInt32());
        var trail = await portal.Services.GetRequiredService<AuditTrail>().QueryAsync(new AuditQuery());
        var received = Assert.Single(trail.Entries, e => e.Action == "webhook.received");
        Assert.Contains(expected[0]!["repository"]!.GetValue<string>() + ":" + expected[0]!["tag"]!.GetValue<string>(), received.Details, StringComparison.Ordinal);
        await Eventually.TrueAsync(() => portal.Logs.Lines.Count(l => l.Message.Contains("but no tracked workload uses", StringComparison.Ordinal)) == expected.Count,
            TimeSpan.FromSeconds(15), "the webhook job planned every event");
        Assert.Equal(1, WebhookJobs());
    }

    [Theory]
    [MemberData(nameof(BadInputs))]
    public async Task A_bad_body_gets_400_with_a_reason_and_queues_nothing(VectorCase vector)
    {
        using var response = await client.SendAsync(Post(vector));

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.False(string.IsNullOrWhiteSpace(problem.RootElement.GetProperty("detail").GetString()));
        Assert.Equal(0, WebhookJobs());
        var trail = await portal.Services.GetRequiredService<AuditTrail>().QueryAsync(new AuditQuery());
        Assert.Equal(["webhook.rejected"], trail.Entries.Select(e => e.Action));
    }

    [Fact]
    public async Task A_missing_or_wrong_secret_gets_401_and_the_token_query_parameter_works()
    {
        var vector = (VectorCase)((IEnumerable<object[]>)WebhookVectors.Cases("cases")).First()[0];

        using var missing = await client.SendAsync(Post(vector, bearer: null));
        using var wrong = await client.SendAsync(Post(vector, bearer: "guess"));
        using var query = await client.SendAsync(Post(vector, bearer: null, query: "?token=" + Secret));

        Assert.Equal(HttpStatusCode.Unauthorized, missing.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, wrong.StatusCode);
        Assert.Contains("Authorization: Bearer", await wrong.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, query.StatusCode);
        Assert.DoesNotContain(Secret, portal.Logs.AllText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_a_configured_secret_webhooks_are_closed_and_say_how_to_open_them()
    {
        await using var open = new PortalFactory();
        using var openClient = open.CreateClient();
        var vector = (VectorCase)((IEnumerable<object[]>)WebhookVectors.Cases("cases")).First()[0];

        using var response = await openClient.SendAsync(Post(vector, bearer: "anything"));

        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Contains("set Triggers:WebhookSecret", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_unknown_provider_is_404_with_the_list_of_endpoints()
    {
        using var response = await client.PostAsync("/v1/webhooks/gitlab", new StringContent("{}"));

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains("native, dockerhub, quay, azure, github, harbor, jfrog, registry", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }
}
