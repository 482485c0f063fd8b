using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using KeelPortal.Audit;
using KeelPortal.Data;
using KeelPortal.Tests.Policies;
using KeelPortal.Tests.TestSupport;
using KeelPortal.Triggers;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace KeelPortal.Tests.Triggers;

/// <summary>Keel's webhook endpoints over HTTP: secrets, bodies, problem details, audit and the hand-off to planning.</summary>
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

    /// <summary>The outbox rows that carry a webhook's planning (one per webhook that brought anything new).</summary>
    private int WebhookRows()
    {
        using var db = portal.Services.GetRequiredService<IDbContextFactory<PortalDbContext>>().CreateDbContext();
        return db.Set<PortalEvent>().Count(e => e.Type == nameof(WebhookReceived));
    }

    [Theory]
    [MemberData(nameof(Bodies))]
    public async Task Every_keel_body_is_accepted_audited_and_handed_to_planning(VectorCase vector)
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
            TimeSpan.FromSeconds(15), "every event was planned");
        Assert.Equal(1, WebhookRows());
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
        Assert.Equal(0, WebhookRows());
        var trail = await portal.Services.GetRequiredService<AuditTrail>().QueryAsync(new AuditQuery());
        Assert.Empty(trail.Entries);
    }

    public static TheoryData<string, string, string> HostileBodies => new()
    {
        { "native", """{"name":"registry.example.com/shop/web;rm -rf /","tag":"1.0.0"}""", "name:" },
        { "native", """{"name":"registry.example.com/shop/web","tag":"1.0.0\nINJECTED log line"}""", "tag:" },
        { "native", """{"name":"registry.example.com/shop/web","tag":"$(reboot)"}""", "tag:" },
        { "native", """{"name":"registry.example.com/shop/web","tag":"-rf"}""", "tag:" },
        { "native", """{"name":"registry.example.com/shop/web","tag":"1.0.0","digest":"sha256:junk"}""", "digest:" },
        { "native", """{"name":"registry.example.com/shop/web","tag":"1.0.0","digest":"sha256:0123456789abcdef0123456789abcdef"}""", "digest:" },
        { "native", """{"name":"../../etc/passwd","tag":"1.0.0"}""", "name:" },
        { "native", """{"name":"registry.example.com/shop/we\u0007b","tag":"1.0.0"}""", "name:" },
        { "native", """{"name":"registry.example.com/shop/a..b","tag":"1.0.0"}""", "name:" },
        { "native", """{"name":"registry.example.com/shop/web:1.0","tag":"1.0.0"}""", "name:" },
        { "native", $$"""{"name":"registry.example.com/{{new string('a', 300)}}","tag":"1.0.0"}""", "name:" },
        { "native", $$"""{"name":"registry.example.com/shop/web","tag":"{{new string('1', 129)}}"}""", "tag:" },
        { "native", """[{"name":"registry.example.com/shop/web","tag":"1.0.0"}]""", "JSON object" },
        { "native", """{"name":"registry.example.com/shop/web","tag":1}""", "tag:" },
        { "registry", """{"events":[{"action":"push","target":{"repository":"shop/web","tag":"1.0.0"},"request":{"host":"evil host:99999"}}]}""", "events[0].request.host" },
        { "azure", """{"target":{"repository":"web","tag":"v1"},"request":{"host":"$(id).azurecr.io"}}""", "request.host" },
        { "harbor", """{"type":"PUSH_ARTIFACT","event_data":{"resources":[{"resource_url":"harbor.example.com/a/b:1.0","digest":"md5:x"}]}}""", "event_data.resources[0].digest" },
    };

    [Theory]
    [MemberData(nameof(HostileBodies))]
    public async Task Hostile_names_tags_digests_and_hosts_are_refused_naming_the_field_and_nothing_is_recorded(string provider, string body, string field)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/v1/webhooks/{provider}") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Secret);

        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Contains(field, problem.RootElement.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(0, WebhookRows());
        Assert.Empty((await portal.Services.GetRequiredService<AuditTrail>().QueryAsync(new AuditQuery())).Entries);
        Assert.DoesNotContain(portal.Logs.Lines, l => l.Message.Contains('\u0007') || l.Message.Contains("\nINJECTED", StringComparison.Ordinal));
        Assert.Contains(portal.Logs.Lines, l => l.Message.StartsWith($"A {provider} webhook from", StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("native", "{\"name\":\"registry.example.com/shop/web\",\"tag\":\"1.0.\xff\"}", "tag: the value is not valid UTF-8")]
    [InlineData("native", "{\"name\":\"registry.example.com/sh\xc3\x28op\",\"tag\":\"1.0.0\"}", "name: the value is not valid UTF-8")]
    [InlineData("dockerhub", "{\"repository\":{\"repo_name\":\"shop/web\"},\"push_data\":{\"tag\":\"\xed\xa0\x80\"}}", "push_data.tag: the value is not valid UTF-8")]
    public async Task A_value_that_is_not_utf8_is_a_400_naming_its_field_and_nothing_is_recorded(string provider, string latin1Body, string detail)
    {
        // Each character of the body stands for one byte, so the bytes that are not UTF-8 reach the portal as they are.
        using var content = new ByteArrayContent(Encoding.Latin1.GetBytes(latin1Body));
        content.Headers.ContentType = new MediaTypeHeaderValue("application/json");
        using var request = new HttpRequestMessage(HttpMethod.Post, $"/v1/webhooks/{provider}") { Content = content };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Secret);

        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(detail, problem.RootElement.GetProperty("detail").GetString());
        Assert.Equal(0, WebhookRows());
        Assert.Empty((await portal.Services.GetRequiredService<AuditTrail>().QueryAsync(new AuditQuery())).Entries);
    }

    [Fact]
    public async Task A_body_over_the_limit_is_refused_by_what_is_read_chunked_included()
    {
        // 10 MiB of valid JSON (whitespace inside an object), sent chunked, without a Content-Length.
        var bytes = Encoding.UTF8.GetBytes("{\"name\":\"registry.example.com/shop/web\",\"tag\":\"1.0.0\"" + new string(' ', 10 << 20) + "}");
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/webhooks/native") { Content = new LengthlessContent(bytes) };
        request.Headers.TransferEncodingChunked = true;
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Secret);

        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);
        Assert.Equal(0, WebhookRows());
        Assert.Empty((await portal.Services.GetRequiredService<AuditTrail>().QueryAsync(new AuditQuery())).Entries);
    }

    [Theory]
    [InlineData("text/plain")]
    [InlineData("application/x-www-form-urlencoded")]
    [InlineData(null)]
    public async Task A_json_body_is_accepted_whatever_its_content_type_says(string? contentType)
    {
        var content = new ByteArrayContent(Encoding.UTF8.GetBytes("""{"name":"registry.example.com/shop/web","tag":"1.0.0"}"""));
        if (contentType is not null)
        {
            content.Headers.ContentType = new MediaTypeHeaderValue(contentType);
        }
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/webhooks/native") { Content = content };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Secret);

        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(1, WebhookRows());
    }

    [Fact]
    public async Task An_untagged_github_package_version_is_acknowledged_and_ignored_with_a_note()
    {
        const string body = """{"action":"published","package":{"name":"web","namespace":"acme","package_type":"CONTAINER","package_version":{"container_metadata":{"tag":{"name":"","digest":"sha256:7d387d387d387d387d387d387d387d387d387d387d387d387d387d387d387d38"}}}}}""";
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/webhooks/github") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Add("X-GitHub-Event", "package");
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Secret);

        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        using var answer = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Equal(0, answer.RootElement.GetProperty("accepted").GetInt32());
        Assert.Contains("untagged", answer.RootElement.GetProperty("note").GetString(), StringComparison.Ordinal);
        Assert.Equal(0, WebhookRows());
    }

    [Fact]
    public async Task Distinct_webhooks_arriving_together_are_each_committed_before_their_answer()
    {
        var answers = await Task.WhenAll(Enumerable.Range(0, 40).Select(async i =>
        {
            using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/webhooks/native")
            {
                Content = new StringContent($$"""{"name":"registry.example.com/shop/web-{{i}}","tag":"1.0.0"}""", Encoding.UTF8, "application/json"),
            };
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Secret);
            using var response = await client.SendAsync(request);
            // Answered means stored: its audit entry and its outbox row are there the moment the answer is.
            return (response.StatusCode, Rows: WebhookRows());
        }));

        Assert.All(answers, a => Assert.Equal(HttpStatusCode.OK, a.StatusCode));
        Assert.All(answers, a => Assert.True(a.Rows >= 1));
        Assert.Equal(40, WebhookRows());
        var trail = await portal.Services.GetRequiredService<AuditTrail>().QueryAsync(new AuditQuery(Action: "webhook.received", PageSize: 100));
        Assert.Equal(40, trail.Total);
        Assert.Equal(40, trail.Entries.Select(e => e.Details).Distinct().Count());
    }

    [Fact]
    public async Task A_webhook_naming_hundreds_of_tags_is_taken_with_its_audit_details_cut_to_the_column()
    {
        var events = string.Join(",", Enumerable.Range(0, 150).Select(i =>
            $$$"""{"action":"push","target":{"repository":"shop/service-number-{{{i:000}}}-with-a-long-name","tag":"1.0.{{{i}}}"},"request":{"host":"registry.example.com"}}"""));
        using var request = new HttpRequestMessage(HttpMethod.Post, "/v1/webhooks/registry") { Content = new StringContent($$"""{"events":[{{events}}]}""", Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", Secret);

        using var response = await client.SendAsync(request);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var received = Assert.Single((await portal.Services.GetRequiredService<AuditTrail>().QueryAsync(new AuditQuery(Action: "webhook.received"))).Entries);
        Assert.Equal(AuditTrail.MaxDetails, received.Details!.Length);
        Assert.EndsWith("…", received.Details, StringComparison.Ordinal);
        Assert.Equal(1, WebhookRows());
        await Eventually.TrueAsync(() => portal.Logs.Lines.Count(l => l.Message.Contains("but no tracked workload uses", StringComparison.Ordinal)) == 150,
            TimeSpan.FromSeconds(30), "every event was planned");
    }

    [Fact]
    public async Task A_webhook_arriving_while_the_portal_stops_gets_503_and_is_not_recorded()
    {
        var vectors = ((IEnumerable<object[]>)WebhookVectors.Cases("cases")).Select(c => (VectorCase)c[0]).ToList();
        // One webhook is taken first, so the inbox's writer is surely running when it is stopped (a background
        // service stopped before it ever ran counts as failed, and that stops the whole host).
        using (var taken = await client.SendAsync(Post(vectors[0])))
        {
            Assert.Equal(HttpStatusCode.OK, taken.StatusCode);
        }
        var rows = WebhookRows();
        await portal.Services.GetRequiredService<WebhookInbox>().StopAsync(CancellationToken.None);

        using var response = await client.SendAsync(Post(vectors[1]));

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        using var problem = JsonDocument.Parse(await response.Content.ReadAsStringAsync());
        Assert.Contains("send it again", problem.RootElement.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(rows, WebhookRows());
        Assert.Single((await portal.Services.GetRequiredService<AuditTrail>().QueryAsync(new AuditQuery(PageSize: 500))).Entries, e => e.Action == "webhook.received");
    }

    [Fact]
    public async Task Identical_events_in_a_burst_are_planned_once()
    {
        var vector = (VectorCase)((IEnumerable<object[]>)WebhookVectors.Cases("cases")).First()[0];

        var answers = await Task.WhenAll(Enumerable.Range(0, 8).Select(async _ =>
        {
            using var response = await client.SendAsync(Post(vector));
            return response.StatusCode;
        }));

        Assert.All(answers, a => Assert.Equal(HttpStatusCode.OK, a));
        Assert.Equal(1, WebhookRows());
    }

    [Fact]
    public async Task A_webhook_that_could_not_be_stored_is_taken_when_it_is_sent_again()
    {
        var vector = (VectorCase)((IEnumerable<object[]>)WebhookVectors.Cases("cases")).First()[0];
        var contexts = portal.Services.GetRequiredService<IDbContextFactory<PortalDbContext>>();
        await using (var db = await contexts.CreateDbContextAsync())
        {
            // The database refuses the outbox row, as a full disk or a lost connection would.
            await db.Database.ExecuteSqlRawAsync(
                "CREATE TRIGGER refuse_events BEFORE INSERT ON PortalEvents BEGIN SELECT RAISE(ABORT, 'the disk is full'); END");
        }

        using var failed = await client.SendAsync(Post(vector));
        await using (var db = await contexts.CreateDbContextAsync())
        {
            await db.Database.ExecuteSqlRawAsync("DROP TRIGGER refuse_events");
        }
        // The sender (a registry retrying its notification) sends the same events again at once.
        using var again = await client.SendAsync(Post(vector));

        Assert.Equal(HttpStatusCode.InternalServerError, failed.StatusCode);
        Assert.Contains(portal.Logs.Lines, l => l.Message.StartsWith("Writing a received webhook failed", StringComparison.Ordinal));
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        using var answer = JsonDocument.Parse(await again.Content.ReadAsStringAsync());
        Assert.True(answer.RootElement.GetProperty("queued").GetInt32() > 0, answer.RootElement.ToString());
        Assert.Equal(1, WebhookRows());
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

    /// <summary>A body whose length is not announced, as a chunked upload sends it.</summary>
    private sealed class LengthlessContent(byte[] bytes) : HttpContent
    {
        protected override Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context) => stream.WriteAsync(bytes).AsTask();

        protected override bool TryComputeLength(out long length)
        {
            length = 0;
            return false;
        }
    }
}
