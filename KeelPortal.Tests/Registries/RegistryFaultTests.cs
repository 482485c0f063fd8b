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

/// <summary>What a registry (or a proxy in front of it) sends besides the answer: digests, rate-limit headers, mirrors, the budget.</summary>
public sealed class RegistryHeaderTests(AnonymousRegistry fixture) : IClassFixture<AnonymousRegistry>, IAsyncLifetime
{
    private FaultProxy proxy = null!;

    public async Task InitializeAsync()
    {
        proxy = await FaultProxy.StartAsync(fixture.Registry.BaseUri);
        await fixture.Pusher.PushAsync("headers/app", "2.0.0");
    }

    public async Task DisposeAsync() => await proxy.DisposeAsync();

    [Fact]
    public async Task Without_a_digest_header_the_digest_is_the_sha256_of_the_manifest_body()
    {
        using var direct = RegistryFixture.NewClient();
        var expected = await direct.GetDigestAsync(fixture.Image("headers/app:2.0.0"));
        proxy.StripDigestHeader = true;
        using var client = RegistryFixture.NewClient();

        var digest = await client.GetDigestAsync(ImageReference.Parse($"{proxy.Host}/headers/app:2.0.0"));

        Assert.True(digest.Succeeded, digest.Failure?.Reason);
        Assert.Equal(expected.Value, digest.Value);
        Assert.Equal(["HEAD", "GET"], proxy.Methods);
    }

    [Fact]
    public async Task With_a_digest_header_no_manifest_is_downloaded()
    {
        using var client = RegistryFixture.NewClient();

        var digest = await client.GetDigestAsync(ImageReference.Parse($"{proxy.Host}/headers/app:2.0.0"));

        Assert.True(digest.Succeeded, digest.Failure?.Reason);
        Assert.Equal(["HEAD"], proxy.Methods);
    }

    [Fact]
    public async Task Docker_hub_rate_limit_headers_are_kept_per_registry()
    {
        proxy.ExtraHeaders["RateLimit-Limit"] = "100;w=21600";
        proxy.ExtraHeaders["RateLimit-Remaining"] = "76;w=21600";
        using var client = RegistryFixture.NewClient();

        await client.ListTagsAsync(ImageReference.Parse($"{proxy.Host}/headers/app"));
        await client.ListTagsAsync(fixture.Image("headers/app"));

        var status = client.StatusOf(proxy.Host)!;
        Assert.Equal(76, status.RateLimitRemaining);
        Assert.Equal(100, status.RateLimitLimit);
        Assert.NotNull(status.RateLimitSeenAt);
        Assert.Null(client.StatusOf(fixture.Registry.Host)!.RateLimitRemaining);
    }

    [Fact]
    public async Task A_mirror_serves_the_api_of_the_registry_it_stands_in_for()
    {
        using var client = RegistryFixture.NewClient(o => o.Hosts["registry.example.com"] = new RegistrySettings { Mirror = proxy.Host });

        var tags = await client.ListTagsAsync(ImageReference.Parse("registry.example.com/headers/app"));

        Assert.True(tags.Succeeded, tags.Failure?.Reason);
        Assert.Contains("2.0.0", tags.Value!);
        Assert.Equal(1, proxy.Requests);
        Assert.Equal(1, client.StatusOf("registry.example.com")!.Requests);
    }

    [Fact]
    public async Task A_spent_request_budget_holds_requests_back_until_it_refills()
    {
        using var client = RegistryFixture.NewClient(o => o.Hosts[proxy.Host] = new RegistrySettings { RequestsPerMinute = 1 });
        var image = ImageReference.Parse($"{proxy.Host}/headers/app:2.0.0");
        using var stop = new CancellationTokenSource();

        var first = await client.GetDigestAsync(image);
        var second = client.GetDigestAsync(image, ct: stop.Token);
        await Eventually.TrueAsync(() => client.StatusOf(proxy.Host)!.WaitingForBudget == 1, TimeSpan.FromSeconds(10));

        Assert.True(first.Succeeded, first.Failure?.Reason);
        Assert.False(second.IsCompleted);
        Assert.Equal(1, proxy.Requests);
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => second);
        Assert.Equal(0, client.StatusOf(proxy.Host)!.WaitingForBudget);
        Assert.Equal(1, proxy.Requests);
    }
}
