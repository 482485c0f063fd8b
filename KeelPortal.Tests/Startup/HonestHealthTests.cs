using System.Net;
using System.Text.Json;
using KeelPortal.Registries;
using KeelPortal.Tests.Registries;
using KeelPortal.Tests.TestSupport;
using KeelPortal.Sandbox.Cluster;
using KeelPortal.Workloads;
using Microsoft.Extensions.DependencyInjection;

namespace KeelPortal.Tests.Startup;

/// <summary>What the portal says about the cluster, registries and its job server is what it last saw, with since when.</summary>
[Collection(AppHosts.Name)]
public sealed class HonestHealthTests(AnonymousRegistry registry) : IClassFixture<AnonymousRegistry>
{
    private static async Task<JsonElement> ReadyChecksAsync(HttpClient client, HttpStatusCode expected)
    {
        using var ready = await client.GetAsync("/readyz");
        Assert.Equal(expected, ready.StatusCode);
        using var json = JsonDocument.Parse(await ready.Content.ReadAsStringAsync());
        return json.RootElement.GetProperty("checks").Clone();
    }

    [Fact]
    public async Task An_api_server_answering_503_makes_the_overview_say_degraded_since_when_and_it_recovers()
    {
        await using var cluster = await ClusterPortal.StartAsync(s => s.Create(KubeObjects.Workload("Deployment", "shop", "web",
            annotations: new Dictionary<string, string> { ["keel.sh/policy"] = "all" })));
        var connection = cluster.Portal.Services.GetRequiredService<ClusterConnection>();
        using var client = await cluster.Portal.SignedInClientAsync();

        cluster.Server.Fail("GET", "deployments", 503, count: 30);
        cluster.Server.Store.EndWatches();
        await Eventually.TrueAsync(() => connection.Status.State == ClusterState.Degraded, TimeSpan.FromSeconds(10), "degraded reported");
        var overview = await client.GetStringAsync("/");
        var checks = await ReadyChecksAsync(client, HttpStatusCode.OK);

        Assert.Contains("Degraded since", overview, StringComparison.Ordinal);
        Assert.Contains("503", connection.Status.Message, StringComparison.Ordinal);
        Assert.Equal("Degraded", checks.GetProperty("cluster").GetProperty("status").GetString());
        await Eventually.TrueAsync(() => connection.Status.State == ClusterState.Connected, TimeSpan.FromSeconds(30), "recovered when the faults ran out");
    }

    [Fact]
    public async Task A_registry_refusing_connections_shows_its_failures_and_a_later_answer_clears_them()
    {
        await registry.Pusher.PushAsync("health/app", "1.0.0");
        var client = RegistryFixture.NewClient();
        var closed = ImageReference.Parse("127.0.0.1:1/health/app");

        await client.ListTagsAsync(closed);
        await client.ListTagsAsync(closed);
        await client.ListTagsAsync(registry.Image("health/app"));

        var down = client.StatusOf("127.0.0.1:1")!;
        var up = client.StatusOf(registry.Registry.Host)!;
        Assert.True(down.IsFailing);
        Assert.Equal(2, down.ConsecutiveFailures);
        Assert.NotNull(down.LastError);
        Assert.Null(down.LastSuccessAt);
        Assert.False(up.IsFailing);
        Assert.NotNull(up.LastSuccessAt);
    }

    [Fact]
    public async Task Readiness_reports_every_part_and_fails_only_when_this_instances_job_server_stops_beating()
    {
        // The job server's heartbeat is written on the real clock; the check reads the portal's clock, moved past it here
        // as if the server had stopped beating three minutes ago.
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var portal = new PortalFactory().WithServices(s => s.AddSingleton<TimeProvider>(clock));
        using var client = portal.CreateClient();

        var alive = await ReadyChecksAsync(client, HttpStatusCode.OK);
        clock.Advance(TimeSpan.FromMinutes(3));
        var dead = await ReadyChecksAsync(client, HttpStatusCode.ServiceUnavailable);

        Assert.Equal(["cluster", "database", "draining", "jobs", "pubsub", "registries"], alive.EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal));
        Assert.Equal("Healthy", alive.GetProperty("jobs").GetProperty("status").GetString());
        Assert.Equal("Unhealthy", dead.GetProperty("jobs").GetProperty("status").GetString());
        Assert.Contains("has not reported since", dead.GetProperty("jobs").GetProperty("description").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_stopping_replica_answers_not_ready_while_it_keeps_serving_for_the_drain_delay()
    {
        var portal = new PortalFactory().With("Health:DrainDelay", "00:00:03");
        portal.UseKestrel(0);
        portal.StartServer();
        using var client = new HttpClient { BaseAddress = new Uri(Loopback.Address(portal.Services)) };
        var before = await client.GetStringAsync("/readyz");

        var stopping = Task.Run(() => portal.DisposeAsync().AsTask());
        string? during = null;
        await Eventually.TrueAsync(async () =>
        {
            var ready = await client.GetAsync("/readyz");
            during = await ready.Content.ReadAsStringAsync();
            return ready.StatusCode == System.Net.HttpStatusCode.ServiceUnavailable && during.Contains("this replica is shutting down", StringComparison.Ordinal);
        }, TimeSpan.FromSeconds(3), "readiness fails while draining");
        var alive = await client.GetAsync("/healthz");
        await stopping;

        Assert.DoesNotContain("shutting down", before, StringComparison.Ordinal);
        Assert.Equal(System.Net.HttpStatusCode.OK, alive.StatusCode);
    }
}
