using KeelPortal.Registries;
using KeelPortal.Tests.TestSupport;

namespace KeelPortal.Tests.Registries;

/// <summary>429s, 5xx bursts, slow answers and paged tag lists, injected by a proxy in front of the real registry.</summary>
public sealed class RegistryFaultTests(AnonymousRegistry fixture) : IClassFixture<AnonymousRegistry>, IAsyncLifetime
{
    private FaultProxy proxy = null!;

    public async Task InitializeAsync()
    {
        proxy = await FaultProxy.StartAsync(fixture.Registry.BaseUri);
        await fixture.Pusher.PushAsync("faults/app", "1.0.0");
    }

    public async Task DisposeAsync() => await proxy.DisposeAsync();

    private ImageReference ViaProxy(string repository) => ImageReference.Parse($"{proxy.Host}/{repository}");

    [Fact]
    public async Task Follows_link_pagination_to_the_last_page()
    {
        for (var i = 1; i <= 34; i++)
        {
            await fixture.Pusher.TagAsync("faults/app", "1.0.0", $"1.0.{i}");
        }
        proxy.TagPageSize = 10;
        using var client = RegistryFixture.NewClient();

        var tags = await client.ListTagsAsync(ViaProxy("faults/app"));

        Assert.True(tags.Succeeded, tags.Failure?.Reason);
        Assert.Equal(35, tags.Value!.Distinct().Count());
        Assert.Equal(4, proxy.Requests);
    }

    [Fact]
    public async Task A_short_429_is_waited_out_as_retry_after_says()
    {
        proxy.Enqueue(new Fault(429, RetryAfter: "1"));
        using var client = RegistryFixture.NewClient();

        var digest = await client.GetDigestAsync(ViaProxy("faults/app:1.0.0"));

        Assert.True(digest.Succeeded, digest.Failure?.Reason);
        Assert.Equal(2, proxy.Requests);
    }

    [Fact]
    public async Task A_long_429_is_reported_as_rate_limited_until_then_without_waiting()
    {
        proxy.Enqueue(new Fault(429, RetryAfter: "3600"));
        using var client = RegistryFixture.NewClient();

        var digest = await client.GetDigestAsync(ViaProxy("faults/app:1.0.0"));

        Assert.Equal(RegistryFailureKind.RateLimited, digest.Failure!.Kind);
        Assert.InRange(digest.Failure.RetryAfter!.Value, DateTimeOffset.UtcNow.AddMinutes(59), DateTimeOffset.UtcNow.AddMinutes(61));
        Assert.Equal(1, proxy.Requests);
        Assert.Equal(digest.Failure.RetryAfter, client.StatusOf(proxy.Host)!.RateLimitedUntil);
    }

    [Fact]
    public async Task A_burst_of_server_errors_is_retried_with_backoff()
    {
        proxy.Enqueue(new Fault(503), new Fault(502));
        using var client = RegistryFixture.NewClient();

        var tags = await client.ListTagsAsync(ViaProxy("faults/app"));

        Assert.True(tags.Succeeded, tags.Failure?.Reason);
        Assert.Equal(3, proxy.Requests);
    }

    [Fact]
    public async Task Server_errors_that_outlast_the_retries_are_a_server_error_failure()
    {
        proxy.Enqueue(new Fault(500), new Fault(500), new Fault(500), new Fault(500));
        using var client = RegistryFixture.NewClient(o => o.MaxRetries = 3);

        var tags = await client.ListTagsAsync(ViaProxy("faults/app"));

        Assert.Equal(RegistryFailureKind.ServerError, tags.Failure!.Kind);
        Assert.Equal($"{proxy.Host} answered 500 Internal Server Error", tags.Failure.Reason);
        Assert.Equal(4, proxy.Requests);
    }

    [Fact]
    public async Task A_slow_answer_is_abandoned_and_retried()
    {
        proxy.Enqueue(new Fault(Delay: TimeSpan.FromSeconds(5)));
        using var client = RegistryFixture.NewClient(o => o.Hosts[proxy.Host] = new RegistrySettings { AttemptTimeout = TimeSpan.FromMilliseconds(500) });

        var digest = await client.GetDigestAsync(ViaProxy("faults/app:1.0.0"));

        Assert.True(digest.Succeeded, digest.Failure?.Reason);
        Assert.Equal(2, proxy.Requests);
    }

    [Fact]
    public async Task A_registry_that_stays_slow_is_a_timeout_failure()
    {
        proxy.Enqueue(new Fault(Delay: TimeSpan.FromSeconds(5)), new Fault(Delay: TimeSpan.FromSeconds(5)));
        using var client = RegistryFixture.NewClient(o =>
        {
            o.MaxRetries = 1;
            o.Hosts[proxy.Host] = new RegistrySettings { AttemptTimeout = TimeSpan.FromMilliseconds(300) };
        });

        var digest = await client.GetDigestAsync(ViaProxy("faults/app:1.0.0"));

        Assert.Equal(RegistryFailureKind.Timeout, digest.Failure!.Kind);
    }

    [Fact]
    public async Task A_registry_that_hangs_does_not_hold_up_another()
    {
        proxy.Enqueue(new Fault(Delay: TimeSpan.FromMinutes(5)));
        using var client = RegistryFixture.NewClient(o =>
        {
            o.MaxRetries = 0;
            o.Hosts[proxy.Host] = new RegistrySettings { MaxConcurrency = 1, AttemptTimeout = TimeSpan.FromMinutes(5) };
        });
        using var stop = new CancellationTokenSource();

        var hanging = client.GetDigestAsync(ViaProxy("faults/app:1.0.0"), ct: stop.Token);
        var healthy = await client.GetDigestAsync(fixture.Image("faults/app:1.0.0"));

        Assert.True(healthy.Succeeded, healthy.Failure?.Reason);
        Assert.False(hanging.IsCompleted);
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => hanging);
    }
}
