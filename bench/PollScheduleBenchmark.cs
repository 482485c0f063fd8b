using System.Collections.Concurrent;
using System.Globalization;
using System.Text.RegularExpressions;
using KeelPortal.Approvals;
using KeelPortal.Tests.TestSupport;

namespace KeelPortal.Bench;

/// <summary>
/// Polling as the registry sees it. N repositories, each tracked by a workload polled
/// <c>@every 10s</c> whose update is already pending (steady state), on the real registry, the API test server and a
/// portal with its real job server. For M minutes every request the registry serves is
/// counted from its own log: requests per polled repository per cycle (target 1.00), cycles missed (target 0) and how
/// late each poll starts after its slot. With <c>ecr</c> the repositories live on a private ECR host read with the cloud's
/// credentials (the AWS imitation signs and issues, an htpasswd registry accepts the issued token): the token requests
/// are counted too (target: one for the whole run, the token being kept).
/// </summary>
public static partial class PollScheduleBenchmark
{
    private const int IntervalSeconds = 10;

    public static async Task<int> RunAsync(int repositories, double minutes, bool ecr = false)
    {
        const string ecrHost = "123456789012.dkr.ecr.us-east-1.amazonaws.com";
        await using var aws = ecr ? await AwsImitation.StartAsync() : null;
        await using var cloud = aws is null ? null : await CloudRegistry.StartAsync("AWS", aws.EcrPassword, "bench/seed");
        await using var pipeline = await PipelinePortal.StartAsync(configure: cloud is null ? null : p => cloud.Serve(p, ecrHost)
            .With("Registries:Aws:EcrEndpoint", aws!.Url.ToString()).With("AWS_REGION", AwsImitation.Region)
            .With("AWS_ACCESS_KEY_ID", AwsImitation.AccessKey).With("AWS_SECRET_ACCESS_KEY", AwsImitation.SecretKey));
        var registry = cloud?.Registry ?? pipeline.Registry;
        var pusher = cloud?.Pusher ?? pipeline.Pusher;
        var served = new ConcurrentQueue<(DateTime At, string Uri)>();
        registry.LogLine += line =>
        {
            if (Served().Match(line) is { Success: true } m)
            {
                served.Enqueue((DateTime.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture, DateTimeStyles.AdjustToUniversal), UriOf().Match(line).Groups[1].Value));
            }
        };
        for (var i = 0; i < repositories; i++)
        {
            var name = $"bench/poll{i}";
            await pusher.PushAsync(name, "1.0.0");
            await pusher.PushAsync(name, "1.1.0");
            pipeline.Deploy($"poll{i}", $"{(cloud is null ? pipeline.Repository(name) : $"{ecrHost}/{name}")}:1.0.0",
                new Dictionary<string, string> { ["keel.sh/policy"] = "all", ["keel.sh/trigger"] = "poll", ["keel.sh/pollSchedule"] = $"@every {IntervalSeconds}s" },
                new Dictionary<string, string> { ["keel.sh/approvals"] = "1" });
        }
        for (var i = 0; i < repositories; i++)
        {
            await pipeline.ApprovalAsync($"deployment/shop/poll{i}:1.1.0", a => a.State == ApprovalState.Pending, TimeSpan.FromMinutes(2));
        }
        // Steady state from the next slot on: every version is decided.
        var start = NextSlot(DateTime.UtcNow.AddSeconds(IntervalSeconds));
        var tokensBefore = aws?.TokensIssued ?? 0;
        var end = start.AddMinutes(minutes);
        await Task.Delay(end - DateTime.UtcNow + TimeSpan.FromSeconds(2));

        var window = served.Where(s => s.At >= start && s.At < end && s.Uri.StartsWith("/v2/bench/poll", StringComparison.Ordinal)).ToList();
        var slots = (int)((end - start).TotalSeconds / IntervalSeconds);
        var perRepository = Enumerable.Range(0, repositories).Select(i =>
        {
            var mine = window.Where(s => s.Uri.StartsWith($"/v2/bench/poll{i}/", StringComparison.Ordinal)).ToList();
            var lists = mine.Where(s => s.Uri.Contains("/tags/list", StringComparison.Ordinal)).ToList();
            return (Requests: mine.Count, Polled: lists.Select(s => Slot(s.At)).Distinct().Count(),
                Late: lists.Select(s => (s.At - SlotStart(s.At)).TotalSeconds).ToList());
        }).ToList();
        var requests = perRepository.Sum(r => r.Requests);
        var polled = perRepository.Sum(r => r.Polled);
        Console.WriteLine($"{repositories} repositories polled @every {IntervalSeconds}s for {minutes} min ({slots} slots each), counted at the registry:");
        Console.WriteLine($"  requests per repository per cycle: {(double)requests / polled:0.00} ({requests} requests, {polled} polls)");
        Console.WriteLine($"  cycles missed: {repositories * slots - polled} of {repositories * slots}");
        if (aws is not null)
        {
            Console.WriteLine($"  ECR GetAuthorizationToken requests: {aws.TokensIssued} in all, {aws.TokensIssued - tokensBefore} during the measured window; refusals: {aws.Refusals.Count}");
        }
        Percentiles.Report("poll start after its slot (s -> reported as ms)", perRepository.SelectMany(r => r.Late).Select(s => s * 1000).ToList());
        return 0;
    }

    private static long Slot(DateTime at) => (at - DateTime.UnixEpoch).Ticks / TimeSpan.FromSeconds(IntervalSeconds).Ticks;

    private static DateTime SlotStart(DateTime at) => DateTime.UnixEpoch.AddTicks(Slot(at) * TimeSpan.FromSeconds(IntervalSeconds).Ticks);

    private static DateTime NextSlot(DateTime at) => SlotStart(at).AddSeconds(IntervalSeconds);

    [GeneratedRegex("^time=\"([^\"]+)\".*msg=\"response completed")]
    private static partial Regex Served();

    [GeneratedRegex("http\\.request\\.uri=\"?([^\"\\s]+)")]
    private static partial Regex UriOf();
}
