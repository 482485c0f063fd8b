using System.Diagnostics;
using System.Net.Http.Json;
using KeelPortal.Access;
using KeelPortal.Approvals;
using KeelPortal.Tests.TestSupport;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace KeelPortal.Bench;

/// <summary>
/// On the real registry, the Kubernetes API test server and a portal with default settings: the time from a webhook
/// to its pending approval in the database, and from the final vote to the PATCH reaching the API server.
/// </summary>
public static class PipelineLatencyBenchmark
{
    public static async Task<int> RunAsync(int runs)
    {
        await using var pipeline = await PipelinePortal.StartAsync();
        var repository = pipeline.Repository("bench/app");
        if (TestDatabase.OnPostgres)
        {
            Console.WriteLine("database: PostgreSQL (KEELPORTAL_TEST_DATABASE=postgres)");
        }
        else
        {
            await using var db = await pipeline.Portal.Services.GetRequiredService<IDbContextFactory<KeelPortal.Data.PortalDbContext>>().CreateDbContextAsync();
            var connection = db.Database.GetDbConnection();
            await connection.OpenAsync();
            await using var command = connection.CreateCommand();
            command.CommandText = "PRAGMA journal_mode";
            Console.WriteLine($"database: SQLite, journal mode {await command.ExecuteScalarAsync()}");
        }
        await pipeline.Pusher.PushAsync("bench/app", "1.0.0");
        pipeline.Deploy("app", $"{repository}:1.0.0",
            new Dictionary<string, string> { ["keel.sh/policy"] = "all" }, new Dictionary<string, string> { ["keel.sh/approvals"] = "1" });
        await pipeline.TrackedAsync("deployment/shop/app");
        using var webhook = pipeline.WebhookClient();
        // The vote carries an API token, the API's own credential; Keel's HTTP Basic costs one password hash check
        // (PBKDF2) per request on top, measured apart below.
        var token = (await pipeline.Portal.Services.GetRequiredService<AccountService>().CreateTokenAsync("alice", "bench", "root")).Token!;
        using var voter = new HttpClient { BaseAddress = pipeline.Url };
        voter.DefaultRequestHeaders.Authorization = new("Bearer", token);
        using var basic = pipeline.ApiClient("alice");
        var patched = new TaskCompletionSource<long>();
        pipeline.Cluster.BeforePatch = (_, _, _) => patched.TrySetResult(Stopwatch.GetTimestamp());

        var spans = new System.Collections.Concurrent.ConcurrentQueue<(string Name, double Ms)>();
        // BENCH_SPANS=timeline prints, for the last run, every span that started between the final vote and its PATCH.
        var timeline = new System.Collections.Concurrent.ConcurrentQueue<(string Name, DateTime Start, double Ms)>();
        using var listener = new ActivityListener
        {
            ShouldListenTo = _ => Environment.GetEnvironmentVariable("BENCH_SPANS") is "1" or "statements" or "timeline",
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllDataAndRecorded,
            ActivityStopped = a =>
            {
                var statement = (a.GetTagItem("db.query.text") ?? a.GetTagItem("db.statement")) as string;
                if (Environment.GetEnvironmentVariable("BENCH_SPANS") == "timeline")
                {
                    timeline.Enqueue((a.OperationName + " " + (statement ?? a.DisplayName), a.StartTimeUtc, a.Duration.TotalMilliseconds));
                    return;
                }
                // BENCH_SPANS=statements names database spans by their statement (its first BENCH_STATEMENT_CHARS, 70, characters).
                var chars = int.Parse(Environment.GetEnvironmentVariable("BENCH_STATEMENT_CHARS") ?? "70", System.Globalization.CultureInfo.InvariantCulture);
                spans.Enqueue((a.OperationName + " " + (Environment.GetEnvironmentVariable("BENCH_SPANS") == "statements" && statement is not null
                    ? statement[..Math.Min(chars, statement.Length)].ReplaceLineEndings(" ") : a.DisplayName), a.Duration.TotalMilliseconds));
            },
        };
        ActivitySource.AddActivityListener(listener);
        var proposed = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var proposals = pipeline.Portal.Services.GetRequiredService<KeelPortal.Data.EventHub>()
            .Subscribe<ApprovalProposed>(_ => proposed.TrySetResult(Stopwatch.GetTimestamp()));
        var answer = new List<double>();
        var toPending = new List<double>();
        var toPatch = new List<double>();
        var voteAnswer = new List<double>();
        var basicAnswer = new List<double>();
        for (var i = 1; i <= runs; i++)
        {
            var tag = $"1.0.{i}";
            await pipeline.Pusher.TagAsync("bench/app", "1.0.0", tag);
            var identifier = $"deployment/shop/app:{tag}";

            var hookAt = DateTime.UtcNow;
            timeline.Clear();
            var start = Stopwatch.GetTimestamp();
            (await webhook.PostAsJsonAsync("v1/webhooks/native", new { name = repository, tag })).EnsureSuccessStatusCode();
            answer.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            // The moment the committed proposal reaches the portal's event hub (what open pages react to), without
            // polling the database: a poll every few milliseconds would take the CPU the pipeline is measured on.
            var proposedAt = await proposed.Task.WaitAsync(TimeSpan.FromSeconds(30));
            proposed = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
            toPending.Add(Stopwatch.GetElapsedTime(start, proposedAt).TotalMilliseconds);
            if (i == runs)
            {
                PrintTimeline(timeline, hookAt, hookAt + Stopwatch.GetElapsedTime(start, proposedAt), "the proposal reached the event hub");
            }
            Trace.Assert((await pipeline.Approvals.FindAsync(identifier))?.State == ApprovalState.Pending);

            patched = new TaskCompletionSource<long>();
            var voteAt = DateTime.UtcNow;
            timeline.Clear();
            start = Stopwatch.GetTimestamp();
            (await voter.PostAsJsonAsync("v1/approvals", new { identifier, action = "approve" })).EnsureSuccessStatusCode();
            voteAnswer.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            var at = await patched.Task.WaitAsync(TimeSpan.FromSeconds(30));
            toPatch.Add(Stopwatch.GetElapsedTime(start, at).TotalMilliseconds);
            if (i == runs)
            {
                PrintTimeline(timeline, voteAt, voteAt + Stopwatch.GetElapsedTime(start, at), "the PATCH reached the API server");
            }
            await WaitAsync(async () => (await pipeline.Approvals.FindAsync(identifier))?.State == ApprovalState.Applied);

            start = Stopwatch.GetTimestamp();
            (await basic.GetAsync("v1/approvals")).EnsureSuccessStatusCode();
            basicAnswer.Add(Stopwatch.GetElapsedTime(start).TotalMilliseconds);
        }
        foreach (var group in spans.GroupBy(x => x.Name).OrderByDescending(g => g.Sum(x => x.Ms)))
        {
            Percentiles.Report($"span {group.Key}", group.Select(x => x.Ms).ToList());
        }
        Percentiles.Report("webhook answered (HTTP round trip)", answer);
        Percentiles.Report("webhook -> pending approval stored", toPending);
        Percentiles.Report("final vote answered (HTTP round trip)", voteAnswer);
        Percentiles.Report("final vote -> PATCH sent", toPatch);
        Percentiles.Report("GET /v1/approvals with HTTP Basic (for comparison)", basicAnswer);
        return 0;
    }

    /// <summary>With BENCH_SPANS=timeline: every span that started between <paramref name="from"/> and <paramref name="to"/>, in order.</summary>
    private static void PrintTimeline(IEnumerable<(string Name, DateTime Start, double Ms)> timeline, DateTime from, DateTime to, string end)
    {
        if (Environment.GetEnvironmentVariable("BENCH_SPANS") != "timeline")
        {
            return;
        }
        foreach (var (name, spanStart, ms) in timeline.Where(t => t.Start >= from && t.Start <= to).OrderBy(t => t.Start))
        {
            var text = name.ReplaceLineEndings(" ");
            Console.WriteLine($"{(spanStart - from).TotalMilliseconds,7:0.0} +{ms,6:0.0} ms  {text[..Math.Min(140, text.Length)]}");
        }
        Console.WriteLine($"{(to - from).TotalMilliseconds,7:0.0}          {end}");
    }

    private static async Task WaitAsync(Func<Task<bool>> condition)
    {
        var deadline = Stopwatch.GetTimestamp() + Stopwatch.Frequency * 30;
        while (!await condition())
        {
            if (Stopwatch.GetTimestamp() > deadline)
            {
                throw new TimeoutException("the pipeline did not get there within 30 s");
            }
            await Task.Delay(2);
        }
    }
}
