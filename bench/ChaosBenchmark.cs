using System.Collections.Concurrent;
using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.RegularExpressions;
using KeelPortal.Approvals;
using KeelPortal.Data;
using KeelPortal.Tests.TestSupport;
using KeelPortal.Sandbox.Cluster;
using Microsoft.EntityFrameworkCore;

namespace KeelPortal.Bench;

/// <summary>
/// Work that must happen once, under load and faults: three replicas on PostgreSQL and one portal on SQLite, each with
/// the real registry (behind a proxy that can fail), the Kubernetes API test server and a notification receiver.
/// Webhooks, votes, rollbacks, change windows and deliveries keep flowing while a seeded schedule kills replicas
/// (SIGKILL), freezes the replica doing an apply or a delivery for twice the lease (SIGSTOP, then SIGCONT), makes the
/// API server answer 503, 410 and slow PATCHes, the registry 5xx and 429, and hangs the receiver. At the end it counts,
/// from the API server's and the receiver's own records, what happened more or less than once.
/// </summary>
public static class ChaosBenchmark
{
    public static async Task<int> RunAsync(double minutes, int seed, string which)
    {
        var clean = true;
        if (which is "postgres" or "both")
        {
            clean &= await RunOneAsync("3 replicas, PostgreSQL", 3, postgres: true, TimeSpan.FromMinutes(minutes), seed);
        }
        if (which is "sqlite" or "both")
        {
            clean &= await RunOneAsync("1 portal, SQLite", 1, postgres: false, TimeSpan.FromMinutes(minutes), seed);
        }
        return clean ? 0 : 1;
    }

    private static async Task<bool> RunOneAsync(string title, int replicas, bool postgres, TimeSpan duration, int seed)
    {
        Console.WriteLine($"== chaos, {title}: {duration.TotalMinutes:0.#} minutes, seed {seed}");
        var started = DateTime.UtcNow;
        var (settings, windows) = ChaosRun.WindowSettings(started, duration);
        settings["Notifications:AttemptTimeout"] = "00:00:10";
        settings["Logging:Console:IncludeScopes"] = "true"; // Each line of a piece of work names it (EventId), for tracing.
        await using var fleet = await PortalFleet.StartAsync(replicas, postgres, settings);
        await using var registry = await RegistryFaults.StartAsync(fleet.Registry.Host);
        var run = new ChaosRun(fleet, registry, windows, seed);
        await run.DeployAsync();
        using var stop = new CancellationTokenSource(duration);
        var traffic = run.TrafficAsync(stop.Token);
        var faults = run.FaultsAsync(stop.Token);
        await Task.WhenAll(traffic, faults);
        await run.RecoverAsync();
        var clean = await new ChaosReport(run).PrintAsync();
        if (!clean)
        {
            // For tracing what the report found: the logs of the replicas running at the end (a killed one's went with it).
            foreach (var replica in fleet.Replicas)
            {
                var path = Path.Combine(Path.GetTempPath(), $"keelportal-chaos-{seed}-{replica.Name}.log");
                await File.WriteAllTextAsync(path, replica.Output);
                Console.WriteLine($"log of {replica.Name}: {path}");
            }
        }
        return clean;
    }
}

/// <summary>One chaos run's driver: the workloads, the traffic, the faults, and what was sent and answered.</summary>
internal sealed class ChaosRun(PortalFleet fleet, RegistryFaults registry, IReadOnlyList<string> windows, int seed)
{
    public const int Workloads = 12;
    public static readonly TimeSpan Lease = TimeSpan.FromSeconds(5);

    private readonly Random traffic = new(seed);
    private readonly Random faults = new(seed + 1);
    private readonly ConcurrentDictionary<string, int> minor = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, DateTime> heldSince = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte> down = new(StringComparer.Ordinal);
    private readonly DateTime origin = DateTime.UtcNow;

    /// <summary>The run's start as a Stopwatch timestamp (the receiver's clock), for placing its records among the faults.</summary>
    public long Origin { get; } = System.Diagnostics.Stopwatch.GetTimestamp();

    /// <summary>When each fault was injected, seconds into the run.</summary>
    public ConcurrentQueue<(double At, string Line)> Faults { get; } = new();

    public PortalFleet Fleet => fleet;

    public RegistryFaults Registry => registry;

    /// <summary>Webhooks sent: the workload, the tag's minor number, whether a replica took it, whether the workload was held, and when.</summary>
    public ConcurrentBag<(string Workload, int Minor, bool Accepted, bool Held, DateTime At)> Webhooks { get; } = [];

    /// <summary>When a rollback (which holds its workload once applied) was asked for.</summary>
    public ConcurrentBag<(string Workload, DateTime At)> HoldsAsked { get; } = [];

    /// <summary>Votes a replica answered 2xx: these must all be stored.</summary>
    public ConcurrentBag<(long ApprovalId, string Voter)> VotesCounted { get; } = [];

    public ConcurrentQueue<(string Kind, string Line)> FaultLog { get; } = new();

    public int Rollbacks;
    public int VotesSent;

    /// <summary>
    /// Named windows that open for two minutes in every four (UTC), over the run: workloads that name them wait for the
    /// next opening after their approval.
    /// </summary>
    public static (Dictionary<string, string> Settings, List<string> Names) WindowSettings(DateTime start, TimeSpan duration)
    {
        var settings = new Dictionary<string, string>(StringComparer.Ordinal);
        var names = new List<string>();
        var first = new DateTime(start.Year, start.Month, start.Day, start.Hour, start.Minute, 0, DateTimeKind.Utc);
        for (var k = 0; k * 4 <= duration.TotalMinutes + 8; k++)
        {
            var opens = first.AddMinutes(4 * k + 1);
            settings[$"Delivery:Windows:{k}:Name"] = $"chaos-{k}";
            settings[$"Delivery:Windows:{k}:Days"] = "Mon-Sun";
            settings[$"Delivery:Windows:{k}:Hours"] = $"{opens:HH:mm}-{opens.AddMinutes(2):HH:mm}";
            settings[$"Delivery:Windows:{k}:TimeZone"] = "UTC";
            settings[$"Delivery:Windows:{k}:Scope"] = "named";
            names.Add($"chaos-{k}");
        }
        return (settings, names);
    }

    public static string Name(int i) => $"chaos-{i}";

    public string Image(string name, int minorVersion) => $"{registry.Host}/team/{name}:1.{minorVersion}.0";

    /// <summary>
    /// Twelve Deployments: a third need no votes, the rest one; a quarter apply only inside the named windows.
    /// </summary>
    public async Task DeployAsync()
    {
        for (var i = 0; i < Workloads; i++)
        {
            var name = Name(i);
            await fleet.Pusher.PushAsync($"team/{name}", "1.0.0");
            var annotations = new Dictionary<string, string> { ["keel.sh/policy"] = "minor" };
            if (i % 4 == 1)
            {
                annotations["keel.sh/windows"] = string.Join(',', windows);
            }
            fleet.Cluster.Create(KubeObjects.Workload("Deployment", "shop", name,
                labels: new Dictionary<string, string> { ["keel.sh/approvals"] = i % 3 == 0 ? "0" : "1" },
                annotations: annotations, containers: [("app", Image(name, 0))]));
            minor[name] = 0;
        }
        await Eventually.TrueAsync(async () => await fleet.CountAsync("SELECT count(*) FROM \"Workloads\" WHERE \"IsTracked\"") == Workloads,
            TimeSpan.FromMinutes(1), "every chaos workload tracked");
    }

    public async Task TrafficAsync(CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            var roll = traffic.NextDouble();
            try
            {
                await (roll switch
                {
                    < 0.45 => WebhookAsync(ct),
                    < 0.85 => VoteAsync(ct),
                    < 0.93 => RollbackAsync(ct),
                    _ => ReleaseAsync(ct),
                });
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            await Pause(TimeSpan.FromMilliseconds(200 + traffic.Next(600)), ct);
        }
    }

    private async Task WebhookAsync(CancellationToken ct)
    {
        var name = Name(traffic.Next(Workloads));
        var next = minor.AddOrUpdate(name, 1, (_, m) => m + 1);
        // Each tag its own image (its own digest).
        await fleet.Pusher.PushAsync($"team/{name}", $"1.{next}.0", new TestImage(Created: DateTimeOffset.UnixEpoch.AddDays(next)));
        var held = heldSince.ContainsKey(name);
        var answer = await SendAsync(client => client.PostAsJsonAsync("v1/webhooks/native", new { name = $"{registry.Host}/team/{name}", tag = $"1.{next}.0" }, ct),
            PipelinePortal.WebhookSecret, ct);
        Webhooks.Add((name, next, answer is { IsSuccessStatusCode: true }, held, DateTime.UtcNow));
        answer?.Dispose();
    }

    private async Task VoteAsync(CancellationToken ct)
    {
        List<Approval> pending;
        await using (var db = fleet.Context())
        {
            pending = await db.Set<Approval>().AsNoTracking().Include(a => a.Votes).Where(a => a.State == ApprovalState.Pending).ToListAsync(ct);
        }
        if (pending.Count == 0)
        {
            return;
        }
        var approval = pending[traffic.Next(pending.Count)];
        var voter = approval.Votes.Any(v => v.Voter == "alice") ? "bob" : "alice";
        Interlocked.Increment(ref VotesSent);
        using var answer = await SendAsync(client => client.PostAsJsonAsync("v1/approvals", new { id = approval.Id.ToString(CultureInfo.InvariantCulture), action = "approve" }, ct),
            fleet.Tokens[voter], ct);
        // As Keel, a vote that did not count (a repeat, or the approval closed meanwhile) still answers 200: its body says so.
        if (answer is { IsSuccessStatusCode: true } && !(await answer.Content.ReadAsStringAsync(ct)).Contains("\"voteNotCounted\"", StringComparison.Ordinal))
        {
            VotesCounted.Add((approval.Id, voter));
        }
    }

    private async Task RollbackAsync(CancellationToken ct)
    {
        var name = Name(traffic.Next(Workloads));
        if (heldSince.ContainsKey(name))
        {
            return;
        }
        var workload = $"deployment/shop/{name}";
        using var targets = await SendAsync(client => client.GetAsync($"v1/rollbacks?workload={workload}", ct), fleet.Tokens["alice"], ct);
        if (targets is not { IsSuccessStatusCode: true }
            || await targets.Content.ReadFromJsonAsync<List<RollbackTargetView>>(ct) is not { Count: > 0 } versions)
        {
            return;
        }
        var version = versions[traffic.Next(versions.Count)].Version;
        // Held from the moment it is asked for: webhooks from now on are not expected to propose anything.
        heldSince[name] = DateTime.UtcNow;
        HoldsAsked.Add((name, DateTime.UtcNow));
        using var answer = await SendAsync(client => client.PostAsJsonAsync("v1/rollbacks", new { workload, version, reason = "chaos drill" }, ct), fleet.Tokens["alice"], ct);
        if (answer is { IsSuccessStatusCode: true })
        {
            Interlocked.Increment(ref Rollbacks);
        }
    }

    private async Task ReleaseAsync(CancellationToken ct)
    {
        var held = heldSince.Keys.ToList();
        if (held.Count == 0)
        {
            return;
        }
        var name = held[traffic.Next(held.Count)];
        // A rollback still waiting for votes or its apply is left to finish first.
        await using (var db = fleet.Context())
        {
            if (await db.Set<Approval>().AnyAsync(a => a.WorkloadId == $"deployment/shop/{name}" && a.RollbackBy != null
                && (a.State == ApprovalState.Pending || a.State == ApprovalState.Approved || a.State == ApprovalState.Applying), ct))
            {
                return;
            }
        }
        using var answer = await SendAsync(client => client.DeleteAsync($"v1/holds?workload=deployment/shop/{name}", ct), fleet.Tokens["alice"], ct);
        if (answer is { IsSuccessStatusCode: true } || answer is { StatusCode: System.Net.HttpStatusCode.Conflict })
        {
            // Webhooks sent shortly after may still be planned against the hold; they stay excluded for a lease's time.
            await Pause(Lease, ct);
            heldSince.TryRemove(name, out _);
        }
    }

    /// <summary>Sends to a replica that is up (as a load balancer would), trying the others when one does not answer in 5 s.</summary>
    private async Task<HttpResponseMessage?> SendAsync(Func<HttpClient, Task<HttpResponseMessage>> send, string token, CancellationToken ct)
    {
        var order = fleet.Replicas.Where(r => !down.ContainsKey(r.Name)).OrderBy(_ => traffic.Next()).ToList();
        foreach (var replica in order)
        {
            using var client = new HttpClient { BaseAddress = replica.Url, Timeout = TimeSpan.FromSeconds(5) };
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
            try
            {
                var answer = await send(client);
                if ((int)answer.StatusCode < 500)
                {
                    return answer;
                }
                answer.Dispose();
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException && !ct.IsCancellationRequested)
            {
                // Not answering (killed or frozen a moment ago): the next one.
            }
        }
        return null;
    }

    public async Task FaultsAsync(CancellationToken ct)
    {
        string[] kinds = ["kill", "freeze-apply", "freeze-delivery", "api-503", "api-410", "api-slow", "registry-5xx", "registry-429", "hang-receiver"];
        while (!ct.IsCancellationRequested)
        {
            await Pause(TimeSpan.FromSeconds(10 + faults.Next(15)), ct);
            if (ct.IsCancellationRequested)
            {
                return;
            }
            var kind = kinds[faults.Next(kinds.Length)];
            try
            {
                Log(kind, await InjectAsync(kind));
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                Log(kind, $"could not be injected: {e.Message.Split('\n')[0]}");
            }
        }
    }

    private async Task<string> InjectAsync(string kind)
    {
        switch (kind)
        {
            case "kill":
                var victim = fleet.Replicas[faults.Next(fleet.Replicas.Count)];
                down[victim.Name] = 1;
                await victim.KillAsync();
                await Task.Delay(TimeSpan.FromSeconds(3 + faults.Next(10)));
                await fleet.RestartAsync(victim);
                down.TryRemove(victim.Name, out _);
                return $"{victim.Name} SIGKILLed, started again";
            case "freeze-apply":
                fleet.Cluster.Slow("PATCH", "deployments", TimeSpan.FromSeconds(1.5));
                if (!await WhenAsync(() => Task.FromResult(fleet.Cluster.Requests.Any(r => r.Method == "PATCH" && r.Status == 0)), TimeSpan.FromSeconds(30)))
                {
                    return "no apply came within 30 s";
                }
                return await FreezeAsync(await ClaimerAsync("ApprovalApproved"), "during its PATCH");
            case "freeze-delivery":
                fleet.Receiver.Hang("ops");
                var sender = await ClaimerAsync("DeliveryDue");
                fleet.Receiver.Unhang("ops");
                return await FreezeAsync(sender, "while it delivered");
            case "api-503":
                fleet.Cluster.Fail("PATCH", "deployments", 503, 3);
                return "the next 3 PATCHes answered 503";
            case "api-410":
                fleet.Cluster.Store.Compact();
                return $"history compacted, {fleet.Cluster.Store.EndWatches()} watches ended (410 Gone on resume)";
            case "api-slow":
                fleet.Cluster.Slow("PATCH", "deployments", TimeSpan.FromSeconds(3), 3);
                return "the next 3 PATCHes held 3 s";
            case "registry-5xx":
                registry.Fail(503, 20);
                return "the next 20 registry requests answered 503";
            case "registry-429":
                registry.Fail(429, 20);
                return "the next 20 registry requests answered 429 (Retry-After: 1)";
            default:
                fleet.Receiver.Hang("ops");
                await Task.Delay(TimeSpan.FromSeconds(15));
                fleet.Receiver.Unhang("ops");
                return "the receiver held every request for 15 s";
        }
    }

    /// <summary>The replica holding the newest unfinished work of this type (waits up to 30 s for one); null when none came.</summary>
    private async Task<PortalProcess?> ClaimerAsync(string type)
    {
        PortalProcess? found = null;
        await WhenAsync(async () =>
        {
            await using var db = fleet.Context();
            var claimer = await db.Set<PortalEvent>().Where(e => e.Type == type && e.HandledAtUtc == null && e.DeadAtUtc == null && e.ClaimedUntilUtc != null)
                .OrderByDescending(e => e.Id).Select(e => e.ClaimedBy).FirstOrDefaultAsync();
            found = fleet.Replicas.FirstOrDefault(r => r.ClaimName == claimer && !down.ContainsKey(r.Name));
            return found is not null;
        }, TimeSpan.FromSeconds(30));
        return found;
    }

    /// <summary>SIGSTOP for twice the lease, then SIGCONT: its claims are taken over meanwhile, and it wakes up fenced off.</summary>
    private async Task<string> FreezeAsync(PortalProcess? replica, string when)
    {
        if (replica is null)
        {
            return "nothing was being done to freeze in";
        }
        down[replica.Name] = 1;
        await replica.SignalAsync(stop: true);
        await Task.Delay(Lease * 2);
        await replica.SignalAsync(stop: false);
        down.TryRemove(replica.Name, out _);
        return $"{replica.Name} SIGSTOPped {when} for {(Lease * 2).TotalSeconds:0} s, then SIGCONT";
    }

    /// <summary>After the run: every replica up, the receiver answering, and the work left finished (or waiting for a window).</summary>
    public async Task RecoverAsync()
    {
        fleet.Receiver.Unhang("ops");
        foreach (var replica in fleet.Replicas.ToList())
        {
            if (replica.HasExited)
            {
                await fleet.RestartAsync(replica);
            }
            else
            {
                await replica.SignalAsync(stop: false);
            }
        }
        down.Clear();
        Console.WriteLine("traffic and faults stopped; waiting for the work left to finish");
        var settled = await WhenAsync(async () =>
            await fleet.CountAsync("SELECT count(*) FROM \"PortalEvents\" WHERE \"Work\" AND \"HandledAtUtc\" IS NULL AND \"DeadAtUtc\" IS NULL AND (\"NextAttemptAtUtc\" IS NULL OR \"Type\" <> 'ApprovalApproved')") == 0
            && await fleet.CountAsync("SELECT count(*) FROM \"NotificationDeliveries\" WHERE \"State\" IN ('Pending', 'Retrying')") == 0,
            TimeSpan.FromMinutes(5));
        Console.WriteLine(settled ? "settled" : "NOT settled within 5 minutes");
    }

    private void Log(string kind, string what)
    {
        var line = $"t+{(DateTime.UtcNow - origin).TotalSeconds,5:0}s {kind,-15} {what}";
        FaultLog.Enqueue((kind, line));
        Faults.Enqueue(((DateTime.UtcNow - origin).TotalSeconds, line));
        Console.WriteLine(line);
    }

    private static async Task Pause(TimeSpan delay, CancellationToken ct)
    {
        try
        {
            await Task.Delay(delay, ct);
        }
        catch (OperationCanceledException)
        {
        }
    }

    private static Task<bool> WhenAsync(Func<Task<bool>> condition, TimeSpan timeout) =>
        Eventually.WithinAsync(condition, timeout, e => e is DbUpdateException or InvalidOperationException or System.Data.Common.DbException);
}

/// <summary>What the API server and the receiver recorded, against what the portal says it did.</summary>
internal sealed partial class ChaosReport(ChaosRun run)
{
    public async Task<bool> PrintAsync()
    {
        var fleet = run.Fleet;
        List<Approval> approvals;
        List<(long ApprovalId, string Voter)> stored;
        List<(string Type, string? Error)> dead;
        await using (var db = fleet.Context())
        {
            approvals = await db.Set<Approval>().AsNoTracking().ToListAsync();
            stored = (await db.Set<ApprovalVote>().AsNoTracking().Select(v => new { v.ApprovalId, v.Voter }).ToListAsync()).Select(v => (v.ApprovalId, v.Voter)).ToList();
            dead = (await db.Set<PortalEvent>().AsNoTracking().Where(e => e.DeadAtUtc != null).Select(e => new { e.Type, e.LastError }).ToListAsync())
                .Select(e => (e.Type, e.LastError)).ToList();
        }
        Console.WriteLine($"faults: {run.FaultLog.Count} ({string.Join(", ", run.FaultLog.GroupBy(f => f.Kind).OrderBy(g => g.Key, StringComparer.Ordinal).Select(g => $"{g.Key} {g.Count()}"))})");
        Console.WriteLine($"webhooks sent {run.Webhooks.Count}, taken {run.Webhooks.Count(w => w.Accepted)}; votes sent {run.VotesSent}, counted {run.VotesCounted.Count}; rollbacks asked {run.Rollbacks}");
        Console.WriteLine($"registry requests: {run.Registry.Forwarded} forwarded, {run.Registry.Faulted} answered with a fault");
        Console.WriteLine("approvals: " + string.Join(", ", approvals.GroupBy(a => a.State).OrderBy(g => g.Key).Select(g => $"{g.Key} {g.Count()}")));

        // PATCHes the API server answered 2xx, per workload and version, against the approvals applied.
        var patches = fleet.Cluster.Requests.Where(r => r.Method == "PATCH" && r.Status is >= 200 and < 300 && r.Path.Contains("/deployments/chaos-", StringComparison.Ordinal))
            .Select(r => (Workload: r.Path.Split('?')[0][(r.Path.Split('?')[0].LastIndexOf('/') + 1)..], Tag: Tag().Match(r.Body) is { Success: true } m ? m.Groups[1].Value : "?"))
            .GroupBy(p => p).ToDictionary(g => g.Key, g => g.Count());
        var applied = approvals.Where(a => a.State == ApprovalState.Applied)
            .GroupBy(a => (Workload: a.WorkloadId.Split('/')[^1], Tag: a.NewVersion)).ToDictionary(g => g.Key, g => g.Count());
        var twice = patches.Where(p => p.Value > applied.GetValueOrDefault(p.Key)).ToList();
        var generations = Enumerable.Range(0, ChaosRun.Workloads)
            .Sum(i => fleet.Cluster.Get("Deployment", "shop", ChaosRun.Name(i))!["metadata"]!["generation"]!.GetValue<long>() - 1);
        Console.WriteLine($"updates applied: {applied.Values.Sum()}; PATCHes answered 2xx: {patches.Values.Sum()}; generations changed: {generations}; " +
            $"PATCHed more often than applied: {twice.Count}{(twice.Count > 0 ? " — " + string.Join(", ", twice.Select(t => $"{t.Key.Workload}:{t.Key.Tag} ×{t.Value}")) : "")}");
        foreach (var ((workload, tag), _) in twice)
        {
            // What the portal and the API server each say about a version written more often than applied.
            foreach (var a in approvals.Where(a => a.WorkloadId == $"deployment/shop/{workload}").OrderBy(a => a.Id))
            {
                Console.WriteLine($"    approval {a.Id} {a.CurrentVersion} -> {a.NewVersion} {a.State} attempts {a.ApplyAttempts} rollback {a.RollbackBy ?? "-"} updated {a.UpdatedAtUtc:HH:mm:ss.fff}: {a.Reason}");
            }
            foreach (var r in fleet.Cluster.Requests.Where(r => r.Method == "PATCH" && r.Path.Contains($"/deployments/{workload}?", StringComparison.Ordinal)))
            {
                Console.WriteLine($"    PATCH {r.Status}: {r.Body}");
            }
        }
        Console.WriteLine($"PATCH answers: {string.Join(", ", fleet.Cluster.Requests.Where(r => r.Method == "PATCH").GroupBy(r => r.Status).OrderBy(g => g.Key).Select(g => $"{g.Key} ×{g.Count()}"))}");

        // Deliveries: each message (event, channel — one delivery, one Idempotency-Key) answered exactly once by the receiver.
        var received = fleet.Receiver.At("ops").GroupBy(m => m.IdempotencyKey ?? m.Body).ToList();
        var messages = received.Select(g => (Answered: g.Count(m => m.Status is >= 200 and < 300), Sent: g.Count())).ToList();
        foreach (var copies in received.Where(g => g.Count(m => m.Status is >= 200 and < 300) > 1))
        {
            // Where a second copy came from: the faults in the lease and attempt timeout before it.
            var times = copies.Where(m => m.Status is >= 200 and < 300)
                .Select(m => System.Diagnostics.Stopwatch.GetElapsedTime(run.Origin, m.At).TotalSeconds).ToList();
            Console.WriteLine($"    {copies.Key} answered at t+{string.Join(", t+", times.Select(t => t.ToString("0.0", CultureInfo.InvariantCulture)))} s; faults shortly before: "
                + string.Join(" | ", run.Faults.Where(f => f.At >= times[0] - 20 && f.At <= times[^1]).Select(f => f.Line.Trim())));
            await PrintWorkOfAsync(copies.Key);
        }
        var duplicates = messages.Count(m => m.Answered > 1);
        var unanswered = messages.Count(m => m.Answered == 0);
        Console.WriteLine($"messages: {messages.Count} distinct, answered exactly once {messages.Count(m => m.Answered == 1)}, answered twice or more {duplicates}, " +
            $"never answered {unanswered} (resent after a timeout: {messages.Count(m => m.Sent > 1)})");

        var lostVotes = run.VotesCounted.Count(v => !stored.Contains(v));
        var lostApprovals = LostApprovals(approvals);
        Console.WriteLine($"votes counted but not stored: {lostVotes}; webhooks taken whose update never became an approval: {lostApprovals}");
        Console.WriteLine($"dead letters: {dead.Count}" + string.Concat(dead.GroupBy(d => (d.Type, d.Error)).Select(g => $"\n  {g.Count()} × {g.Key.Type}: {g.Key.Error}")));
        var clean = twice.Count == 0 && duplicates == 0 && lostVotes == 0 && lostApprovals == 0;
        Console.WriteLine(clean ? "RESULT: every update applied once, every message answered at most once, nothing lost" : "RESULT: NOT CLEAN");
        return clean;
    }

    /// <summary>What the portal recorded of a delivery answered twice: its attempts and each piece of its work, with who held it.</summary>
    private async Task PrintWorkOfAsync(string key)
    {
        if (!long.TryParse(key.AsSpan(key.LastIndexOf('-') + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var id))
        {
            return;
        }
        await using var db = run.Fleet.Context();
        var delivery = await db.Set<KeelPortal.Notifications.NotificationDelivery>().AsNoTracking().SingleOrDefaultAsync(d => d.Id == id);
        Console.WriteLine($"      delivery {id}: {delivery?.State}, attempts {delivery?.Attempts}, answer {delivery?.Answer}");
        var needle = $"\"deliveryId\":{id.ToString(CultureInfo.InvariantCulture)}}}";
        foreach (var work in await db.Set<PortalEvent>().AsNoTracking().Where(e => e.Type == "DeliveryDue" && e.Payload.Contains(needle)).OrderBy(e => e.Id).ToListAsync())
        {
            Console.WriteLine($"      work {work.Id}: claimed by {work.ClaimedBy}, attempts {work.Attempts}, handled {work.HandledAtUtc:HH:mm:ss.fff}, " +
                $"dead {work.DeadAtUtc:HH:mm:ss.fff}, last error {work.LastError}");
        }
    }

    /// <summary>
    /// Per workload, the newest tag a replica took a webhook for must have become an approval — unless the workload was
    /// held then, or a rollback (which holds it) was asked for within 10 s after (the webhook may be planned after it).
    /// </summary>
    private int LostApprovals(List<Approval> approvals) => run.Webhooks
        .Where(w => w.Accepted && !w.Held && !run.HoldsAsked.Any(h => h.Workload == w.Workload && h.At >= w.At && h.At <= w.At.AddSeconds(10)))
        .GroupBy(w => w.Workload)
        .Count(g => g.Max(w => w.Minor) > approvals.Where(a => a.WorkloadId == $"deployment/shop/{g.Key}" && a.RollbackBy == null)
            .Select(a => int.Parse(a.NewVersion.Split('.')[1], CultureInfo.InvariantCulture)).DefaultIfEmpty(0).Max());

    [GeneratedRegex(@"team/chaos-\d+:([0-9.]+)")]
    private static partial Regex Tag();
}

/// <summary>A rollback target as <c>GET /v1/rollbacks</c> lists it.</summary>
internal sealed record RollbackTargetView(string Version, string? Digest, IReadOnlyList<string> Images);
