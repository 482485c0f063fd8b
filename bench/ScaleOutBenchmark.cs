using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using KeelPortal.Approvals;
using KeelPortal.Tests.TestSupport;
using KeelPortal.Sandbox.Cluster;
using Microsoft.EntityFrameworkCore;

namespace KeelPortal.Bench;

/// <summary>
/// One portal process on SQLite against three on one PostgreSQL database, in the same run, each with the real
/// registry and the Kubernetes API test server: a burst of distinct webhooks spread over the replicas (answer time,
/// throughput, webhook → pending approval), then final votes one at a time on alternating replicas (vote → PATCH),
/// memory per replica, and on PostgreSQL the failover after SIGKILL of the leader.
/// </summary>
public static class ScaleOutBenchmark
{
    private const int InFlight = 32;

    /// <summary>
    /// Runs the comparison; <paramref name="which"/> is <c>sqlite</c>, <c>postgres</c> or <c>both</c> (the default), or
    /// <c>postgres1</c>: one replica on PostgreSQL (the provider alone, without two more processes on the same cores).
    /// With <paramref name="rate"/> above 0 the burst is sent at that many webhooks a second, each at its own moment
    /// whatever the answers before it (an open loop; its answer time counts from that moment), instead of as fast as
    /// <see cref="InFlight"/> requests in flight allow.
    /// </summary>
    public static async Task<int> RunAsync(int webhooks, int votes, string which = "both", int rate = 0)
    {
        if (which is "postgres1")
        {
            await RunOneAsync("1 replica, PostgreSQL", 1, postgres: true, webhooks, votes, rate);
            return 0;
        }
        if (which is "sqlite" or "both")
        {
            await RunOneAsync("1 replica, SQLite", 1, postgres: false, webhooks, votes, rate);
        }
        if (which is "postgres" or "both")
        {
            await RunOneAsync("3 replicas, PostgreSQL", 3, postgres: true, webhooks, votes, rate);
        }
        return 0;
    }

    private static async Task RunOneAsync(string title, int replicas, bool postgres, int webhooks, int votes, int rate)
    {
        Console.WriteLine($"== {title}: {webhooks} webhooks, {votes} votes");
        var settings = new Dictionary<string, string> { ["Workloads:LeaseDuration"] = "00:00:15" };
        // BENCH_PORTAL_SETTINGS="Key=value;Key=value" sets more of the replicas' settings (for comparisons).
        foreach (var pair in (Environment.GetEnvironmentVariable("BENCH_PORTAL_SETTINGS") ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries))
        {
            var (key, value) = (pair[..pair.IndexOf('=', StringComparison.Ordinal)], pair[(pair.IndexOf('=', StringComparison.Ordinal) + 1)..]);
            settings[key] = value;
            Console.WriteLine($"setting {key} = {value}");
        }
        await using var fleet = await PortalFleet.StartAsync(replicas, postgres, settings);
        var clock = TimeProvider.System;
        for (var i = 0; i < webhooks; i++)
        {
            await fleet.Pusher.PushAsync($"team/app-{i}", "1.0.0");
            fleet.Cluster.Create(KubeObjects.Workload("Deployment", "shop", $"app-{i}",
                labels: new Dictionary<string, string> { ["keel.sh/approvals"] = "1" },
                annotations: new Dictionary<string, string> { ["keel.sh/policy"] = "minor" },
                containers: [("app", $"{fleet.Repository($"app-{i}")}:1.0.0")]));
            await fleet.Pusher.TagAsync($"team/app-{i}", "1.0.0", "1.1.0");
        }
        var warmUps = fleet.Replicas.Select((r, k) => (Replica: r, Name: $"warm-up-{k}")).ToList();
        foreach (var (_, name) in warmUps)
        {
            await fleet.DeployAsync(name, approvals: 1);
        }
        await WaitAsync(async () => await fleet.CountAsync("SELECT count(*) FROM \"Workloads\" WHERE \"IsTracked\"") == webhooks + warmUps.Count, TimeSpan.FromMinutes(2));
        Console.WriteLine("warming up"); // A profiler attached now (dotnet-trace) sees the burst from its start.
        // The burst's own clients, one per replica. The warm-up's webhooks go through them too, so the burst measures
        // the portal's answers, not this client's first request (its connection, its JSON contract for the body).
        var clients = fleet.Replicas.Select(r =>
        {
            var client = new HttpClient { BaseAddress = r.Url };
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", PipelinePortal.WebhookSecret);
            return client;
        }).ToList();
        async Task WebhookAsync(int replica, string repository)
        {
            using var answer = await clients[replica].PostAsJsonAsync("v1/webhooks/native", new { name = repository, tag = "1.1.0" });
            answer.EnsureSuccessStatusCode();
        }
        // Warm-up: every replica answers and plans a webhook and applies an update after a vote it counted, before
        // anything is measured (its first ones pay for compiling queries and opening connections).
        foreach (var ((replica, name), k) in warmUps.Select((w, k) => (w, k)))
        {
            await fleet.Pusher.PushAsync($"team/{name}", "1.1.0");
            await WebhookAsync(k, fleet.Repository(name));
            await fleet.VoteAsync(replica, "alice", name);
            await fleet.ApprovalAsync(name, a => a.State == ApprovalState.Applied);
        }
        // The burst starts on a quiet set-up: the warm-up's rollout followed to its end and its notifications delivered.
        await WaitAsync(async () => await fleet.CountAsync("SELECT count(*) FROM \"Rollouts\" WHERE \"State\" = 'InProgress'") == 0, TimeSpan.FromMinutes(1));
        await fleet.SettledAsync();

        // The burst: every webhook in flight at once (up to InFlight), spread over the replicas.
        var sent = new DateTime[webhooks];
        var answered = new ConcurrentBag<double>();
        var answeredAt = new double[webhooks];
        using var gate = new SemaphoreSlim(rate > 0 ? webhooks : InFlight);
        Console.WriteLine(rate > 0 ? $"sending {webhooks} webhooks at {rate} a second" : $"sending {webhooks} webhooks, {InFlight} at a time");
        var burst = Stopwatch.StartNew();
        var origin = Stopwatch.GetTimestamp();
        await Task.WhenAll(Enumerable.Range(0, webhooks).Select(async i =>
        {
            // Paced: webhook i is due at i / rate seconds into the burst, and its answer time counts from then.
            var due = origin + (rate > 0 ? (long)(Stopwatch.Frequency * (double)i / rate) : 0);
            if (rate > 0 && Stopwatch.GetElapsedTime(Stopwatch.GetTimestamp(), due) is { TotalMilliseconds: > 0 } wait)
            {
                await Task.Delay(wait);
            }
            await gate.WaitAsync();
            try
            {
                sent[i] = clock.GetUtcNow().UtcDateTime;
                var start = rate > 0 ? due : Stopwatch.GetTimestamp();
                await WebhookAsync(i % clients.Count, fleet.Repository($"app-{i}"));
                answered.Add(answeredAt[i] = Stopwatch.GetElapsedTime(start).TotalMilliseconds);
            }
            finally
            {
                gate.Release();
            }
        }));
        var burstTime = burst.Elapsed;
        var burstEnded = clock.GetUtcNow().UtcDateTime;
        await WaitAsync(async () => await fleet.CountAsync("SELECT count(*) FROM \"Approvals\" WHERE \"State\" = 'Pending'") == webhooks, TimeSpan.FromMinutes(5));
        var pendingAll = burst.Elapsed;
        List<(string WorkloadId, DateTime CreatedAtUtc, string Identifier)> created;
        await using (var db = fleet.Context())
        {
            created = (await db.Set<Approval>().AsNoTracking().Where(a => !a.WorkloadId.StartsWith("deployment/shop/warm-up-"))
                .Select(a => new { a.WorkloadId, a.CreatedAtUtc, a.Identifier }).ToListAsync())
                .Select(a => (a.WorkloadId, a.CreatedAtUtc, a.Identifier)).ToList();
        }
        var toPending = created.Select(a => (a.CreatedAtUtc - sent[int.Parse(a.WorkloadId.Split('-')[^1], CultureInfo.InvariantCulture)]).TotalMilliseconds).ToList();

        // Final votes, one at a time, each on the next replica; the time until its PATCH reaches the API server.
        var patched = new ConcurrentDictionary<string, long>(StringComparer.Ordinal);
        fleet.Cluster.BeforePatch = (_, _, name) => patched.TryAdd(name, Stopwatch.GetTimestamp());
        var toPatch = new List<double>();
        var voters = fleet.Replicas.Select(r =>
        {
            var client = new HttpClient { BaseAddress = r.Url };
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", fleet.Tokens["alice"]);
            return client;
        }).ToList();
        for (var i = 0; i < Math.Min(votes, webhooks); i++)
        {
            var start = Stopwatch.GetTimestamp();
            using var answer = await voters[i % voters.Count].PostAsJsonAsync("v1/approvals", new { identifier = $"deployment/shop/app-{i}:1.1.0", action = "approve" });
            answer.EnsureSuccessStatusCode();
            await WaitAsync(() => Task.FromResult(patched.ContainsKey($"app-{i}")), TimeSpan.FromSeconds(30));
            toPatch.Add(Stopwatch.GetElapsedTime(start, patched[$"app-{i}"]).TotalMilliseconds);
        }

        Percentiles.Report("webhook answered (HTTP round trip, in the burst)", [.. answered]);
        // Where in the burst the slow answers were: its first tenth (the burst not yet recognised, the pool of threads
        // and connections still growing) against the rest.
        Percentiles.Report("  of which the first tenth sent", answeredAt[..(webhooks / 10)].ToList());
        Percentiles.Report("  of which the rest", answeredAt[(webhooks / 10)..].ToList());
        // BENCH_BURST_DETAIL=1: where the burst's time went — the proposals written while it lasted (planning that started
        // before the burst was recognised), each tenth of it, each replica with its log lines about webhooks.
        if (Environment.GetEnvironmentVariable("BENCH_BURST_DETAIL") is "1")
        {
            var burstStarted = sent.Min();
            Console.WriteLine($"    planned during the burst: {created.Count(a => a.CreatedAtUtc <= burstEnded)}; by 200 ms of the burst: " +
                string.Join(' ', Enumerable.Range(0, (int)Math.Ceiling((burstEnded - burstStarted).TotalMilliseconds / 200))
                    .Select(k => created.Count(a => (int)((a.CreatedAtUtc - burstStarted).TotalMilliseconds / 200) == k))));
            for (var tenth = 0; tenth < 10; tenth++)
            {
                Percentiles.Report($"    tenth {tenth + 1}", answeredAt[(webhooks * tenth / 10)..(webhooks * (tenth + 1) / 10)].ToList());
            }
            for (var r = 0; r < fleet.Replicas.Count; r++)
            {
                Percentiles.Report($"    {fleet.Replicas[r].Name}", answeredAt.Where((_, i) => i % fleet.Replicas.Count == r).ToList());
                foreach (var line in fleet.Replicas[r].Output.Split('\n').Where(l => l.Contains("faster", StringComparison.Ordinal) || l.Contains("webhook", StringComparison.OrdinalIgnoreCase)).Take(10))
                {
                    Console.WriteLine($"      {line}");
                }
            }
        }
        Console.WriteLine($"burst of {webhooks}: answered in {burstTime.TotalSeconds:0.00} s = {webhooks / burstTime.TotalSeconds:0} requests/s; all pending after {pendingAll.TotalSeconds:0.00} s");
        Percentiles.Report("webhook -> pending approval stored (in the burst)", toPending);
        Percentiles.Report("final vote -> PATCH sent (one at a time)", toPatch);
        foreach (var replica in fleet.Replicas)
        {
            Console.WriteLine($"{replica.Name}: resident {Memory(replica.Id, "VmRSS")} MB, peak {Memory(replica.Id, "VmHWM")} MB");
        }
        if (postgres && replicas > 1)
        {
            var leader = fleet.Replicas.Single(r => r.Name == fleet.LeaseHolder());
            await leader.KillAsync();
            var killed = Stopwatch.StartNew();
            await WaitAsync(() => Task.FromResult(fleet.LeaseHolder() is { } holder && holder != leader.Name), TimeSpan.FromSeconds(60));
            var takeover = killed.Elapsed;
            fleet.Cluster.Create(KubeObjects.Workload("Deployment", "shop", "after-failover",
                annotations: new Dictionary<string, string> { ["keel.sh/policy"] = "minor" }, containers: [("app", "registry.example.com/shop/after:1.0.0")]));
            await WaitAsync(async () => await fleet.CountAsync("SELECT count(*) FROM \"Workloads\" WHERE \"Id\" = 'deployment/shop/after-failover'") == 1, TimeSpan.FromSeconds(60));
            Console.WriteLine($"leader killed (SIGKILL): another replica holds the lease after {takeover.TotalSeconds:0.0} s, the catalog caught up after {killed.Elapsed.TotalSeconds:0.0} s (lease 15 s)");
        }
        foreach (var client in clients.Concat(voters))
        {
            client.Dispose();
        }
    }

    private static string Memory(int pid, string field)
    {
        var line = File.ReadLines($"/proc/{pid}/status").First(l => l.StartsWith(field + ":", StringComparison.Ordinal));
        return (long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024).ToString(CultureInfo.InvariantCulture);
    }

    private static async Task WaitAsync(Func<Task<bool>> condition, TimeSpan timeout)
    {
        var deadline = Stopwatch.GetTimestamp() + (long)(Stopwatch.Frequency * timeout.TotalSeconds);
        while (!await condition())
        {
            if (Stopwatch.GetTimestamp() > deadline)
            {
                throw new TimeoutException($"not there within {timeout}");
            }
            await Task.Delay(5);
        }
    }
}
