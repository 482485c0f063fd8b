using KeelPortal.Triggers;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Time.Testing;

namespace KeelPortal.Tests.Triggers;

public sealed class WebhookTrafficTests
{
    private static (WebhookTraffic Traffic, FakeTimeProvider Clock) Create(int rate = 50, double delaySeconds = 10)
    {
        var clock = new FakeTimeProvider();
        var options = Options.Create(new TriggersOptions { WebhookBurstRate = rate, WebhookBurstDelay = TimeSpan.FromSeconds(delaySeconds) });
        return (new WebhookTraffic(options, clock), clock);
    }

    private static void Arrive(WebhookTraffic traffic, FakeTimeProvider clock, int count, TimeSpan apart)
    {
        for (var i = 0; i < count; i++)
        {
            traffic.Arrived();
            clock.Advance(apart);
        }
    }

    [Fact]
    public void A_burst_is_ten_webhooks_faster_than_the_rate_and_ends_when_they_slow_down()
    {
        var (traffic, clock) = Create(rate: 50); // 10 within 200 ms

        Arrive(traffic, clock, 9, TimeSpan.FromMilliseconds(5));
        Assert.False(traffic.InBurst); // Nine are not yet a burst.
        Arrive(traffic, clock, 1, TimeSpan.FromMilliseconds(5));
        Assert.True(traffic.InBurst);

        clock.Advance(TimeSpan.FromMilliseconds(200));
        Assert.False(traffic.InBurst);
        // A steady trickle under the rate (one every 25 ms is 40 per second) never is one.
        Arrive(traffic, clock, 40, TimeSpan.FromMilliseconds(25));
        Assert.False(traffic.InBurst);
        Arrive(traffic, clock, 30, TimeSpan.FromMilliseconds(10));
        Assert.True(traffic.InBurst);
    }

    [Fact]
    public void A_rate_of_zero_turns_it_off()
    {
        var (traffic, clock) = Create(rate: 0);

        Arrive(traffic, clock, 100, TimeSpan.Zero);

        Assert.False(traffic.InBurst);
    }

    [Fact]
    public async Task Planning_waits_for_the_burst_to_pass_but_never_longer_than_the_delay()
    {
        var (traffic, clock) = Create(rate: 50, delaySeconds: 2);
        var quiet = traffic.WaitForLullAsync(clock.GetUtcNow().UtcDateTime, CancellationToken.None);
        Assert.True(quiet.IsCompletedSuccessfully); // No burst: at once.
        Assert.False(await quiet);

        Arrive(traffic, clock, 10, TimeSpan.FromMilliseconds(1));
        var arrived = clock.GetUtcNow().UtcDateTime;
        var afterBurst = traffic.WaitForLullAsync(arrived, CancellationToken.None);
        Assert.False(afterBurst.IsCompleted);
        clock.Advance(TimeSpan.FromMilliseconds(300)); // The arrivals stopped: the burst is over.
        Assert.True(await afterBurst.WaitAsync(TimeSpan.FromSeconds(10)));

        // Webhooks that keep coming do not hold planning back past the delay (2 s here)...
        Arrive(traffic, clock, 10, TimeSpan.FromMilliseconds(1));
        var first = clock.GetUtcNow().UtcDateTime;
        var capped = traffic.WaitForLullAsync(first, CancellationToken.None);
        await KeepArrivingAsync(traffic, clock, TimeSpan.FromMilliseconds(1900));
        Assert.False(capped.IsCompleted);
        await KeepArrivingAsync(traffic, clock, TimeSpan.FromMilliseconds(200));
        await capped.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.True(traffic.InBurst);
    }

    /// <summary>A webhook every 10 ms for <paramref name="span"/>, letting the waiter look after each.</summary>
    private static async Task KeepArrivingAsync(WebhookTraffic traffic, FakeTimeProvider clock, TimeSpan span)
    {
        for (var elapsed = TimeSpan.Zero; elapsed < span; elapsed += TimeSpan.FromMilliseconds(10))
        {
            Arrive(traffic, clock, 1, TimeSpan.FromMilliseconds(10));
            await Task.Delay(1);
        }
    }
}
