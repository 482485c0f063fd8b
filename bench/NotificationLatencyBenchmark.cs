using System.Diagnostics;
using KeelPortal.Notifications;
using KeelPortal.Tests.TestSupport;
using Microsoft.Extensions.DependencyInjection;

namespace KeelPortal.Bench;

/// <summary>
/// A portal with default notification settings and one channel of every kind on a loopback receiver: the time from an
/// event being raised to its message arriving at all five, first with every receiver answering, then with a sixth,
/// default channel whose receiver never answers.
/// </summary>
public static class NotificationLatencyBenchmark
{
    private static readonly (string Path, ChannelType Type)[] Live =
        [("slack", ChannelType.Slack), ("mattermost", ChannelType.Mattermost), ("teams", ChannelType.Teams), ("discord", ChannelType.Discord), ("webhook", ChannelType.Webhook)];

    public static async Task<int> RunAsync(int events)
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.Hang("dead");
        using var portal = new PortalFactory();
        var directory = portal.Services.GetRequiredService<ChannelDirectory>();
        var center = portal.Services.GetRequiredService<NotificationCenter>();
        foreach (var (path, type) in Live)
        {
            await SaveAsync(directory, path, type, receiver.Url(path));
        }

        await MeasureAsync("all receivers answering", center, receiver, events, 0);
        await SaveAsync(directory, "dead", ChannelType.Webhook, receiver.Url("dead"));
        await MeasureAsync("with a dead default channel", center, receiver, events, events);
        return 0;
    }

    private static async Task MeasureAsync(string what, NotificationCenter center, WebhookReceiver receiver, int events, int offset)
    {
        var first = new List<double>();
        var all = new List<double>();
        for (var i = 1; i <= events; i++)
        {
            var start = Stopwatch.GetTimestamp();
            var raised = await center.RaiseAsync($"bench:{offset + i}", Event(offset + i), []);
            if (raised < Live.Length)
            {
                throw new InvalidOperationException($"event {i} was routed to {raised} channels");
            }
            var deadline = Stopwatch.GetTimestamp() + Stopwatch.Frequency * 60;
            while (Live.Any(l => receiver.At(l.Path).Count < offset + i))
            {
                if (Stopwatch.GetTimestamp() > deadline)
                {
                    throw new TimeoutException($"event {i} did not reach every receiver within 60 s");
                }
                await Task.Delay(1);
            }
            var arrivals = Live.Select(l => receiver.At(l.Path)[offset + i - 1].At).ToList();
            first.Add(Stopwatch.GetElapsedTime(start, arrivals.Min()).TotalMilliseconds);
            all.Add(Stopwatch.GetElapsedTime(start, arrivals.Max()).TotalMilliseconds);
        }
        Percentiles.Report($"{what}: event raised -> first of 5 receivers", first);
        Percentiles.Report($"{what}: event raised -> all 5 receivers", all);
    }

    private static async Task SaveAsync(ChannelDirectory directory, string name, ChannelType type, Uri url)
    {
        var result = await directory.SaveAsync(new ChannelInput(null, name, type, url.AbsoluteUri, null, null, null,
            NotificationEvents.All, NotificationLevel.Info, true, true), "bench");
        if (!result.Succeeded)
        {
            throw new InvalidOperationException(result.Error);
        }
    }

    private static Notification Event(int i) => new(NotificationEvents.UpdateApplied, NotificationLevel.Success,
        NotificationText.Applied("deployment", "shop", "web", $"1.0.{i - 1}", $"1.0.{i}", [$"registry.example.com/app:1.0.{i}"], null),
        "deployment", "shop", "web", $"1.0.{i - 1}", $"1.0.{i}", null, null, null, "workloads/deployment/shop/web", TimeProvider.System.GetUtcNow().UtcDateTime);
}
