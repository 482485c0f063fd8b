using System.Collections.Concurrent;
using System.Threading.Channels;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace KeelPortal.Data;

/// <summary>Rows this replica committed already claimed: handed from the commit to the <see cref="WorkRunner"/>.</summary>
public sealed class WorkStarts
{
    private readonly Channel<PortalEvent> rows = Channel.CreateUnbounded<PortalEvent>(new UnboundedChannelOptions { SingleReader = true });

    internal ChannelReader<PortalEvent> Reader => rows.Reader;

    internal void Add(PortalEvent row) => rows.Writer.TryWrite(row);
}

/// <summary>
/// The one way work that must happen once is done (see <c>DESIGN.md</c>, "Work that must happen once"). A message that
/// carries work is committed with the change that causes it, already claimed by the committing replica, which starts
/// it at once (the fast path); every replica's relay claims what is due and unclaimed, or whose claim ran out (the
/// safety net). A claim is one lease (<see cref="WorkOptions.Lease"/>) and a fencing token: renewed for every running
/// handler every third of the lease, checked by the handler right before each side effect, and required by every end
/// of the work — so a replica frozen past its lease wakes up unable to act or finish. A handler that throws or asks for a
/// retry is tried again by one policy (backoff with jitter, at most <see cref="WorkOptions.MaxAttempts"/>), then the
/// work is a dead letter: shown in the console, audited, counted in <c>/metrics</c>.
/// </summary>
public sealed partial class WorkRunner(
    IDbContextFactory<PortalDbContext> contexts,
    Outbox outbox,
    WorkStarts starts,
    EventSignal signal,
    IEnumerable<IWorkHandler> registered,
    IEnumerable<IDeadLetterWitness> witnesses,
    IServiceScopeFactory scopes,
    IOptions<WorkOptions> options,
    TimeProvider time,
    ILogger<WorkRunner> logger) : BackgroundService
{
    private const int ClaimBatch = 100;

    private readonly ILookup<string, IWorkHandler> handlers = registered.ToLookup(h => h.MessageType, StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> running = new(StringComparer.Ordinal);

    /// <summary>The claims of work this runner was given and has not finished (queued, or running), by token.</summary>
    private readonly ConcurrentDictionary<string, long> claimedHere = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<Task, bool> tasks = new();
    private readonly ConcurrentDictionary<string, Channel<(PortalEvent Row, int Attempt, string Token)>> lanes = new(StringComparer.Ordinal);
    private CancellationToken stopping = new(canceled: true);

    /// <summary>The message types this build has handlers for (a newer replica's are left to it).</summary>
    private string[] Known => [.. handlers.Select(g => g.Key)];

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        stopping = stoppingToken;
        var renewing = RenewLoopAsync(stoppingToken);
        try
        {
            await foreach (var row in starts.Reader.ReadAllAsync(stoppingToken))
            {
                Start(row, row.Attempts, row.ClaimToken!);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
        }
        await renewing;
    }

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        // Running work was cancelled with the host: each gave its claim back, so another replica takes it at once.
        await Task.WhenAll(tasks.Keys).WaitAsync(cancellationToken).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        await GiveBackUnstartedAsync();
    }

    /// <summary>
    /// Stopping: work claimed here that never started (queued in a lane behind other work, or on its way from a commit)
    /// goes back as well, so another replica starts it at once instead of after the lease. Work still running (the host
    /// stopped waiting for it) keeps its claim.
    /// </summary>
    private async Task GiveBackUnstartedAsync()
    {
        try
        {
            while (starts.Reader.TryRead(out var row))
            {
                claimedHere[row.ClaimToken!] = row.Id;
            }
            var unstarted = claimedHere.Keys.Except(running.Keys).ToList();
            if (unstarted.Count == 0)
            {
                return;
            }
            await using var db = await contexts.CreateDbContextAsync(CancellationToken.None);
            var given = await GiveBack(db.Set<PortalEvent>()
                .Where(e => e.Work && unstarted.Contains(e.ClaimToken!) && e.ClaimedUntilUtc != null && e.HandledAtUtc == null && e.DeadAtUtc == null));
            if (given > 0)
            {
                LogGivenBack(given);
            }
        }
#pragma warning disable CA1031 // The claims then run out on their own.
        catch (Exception e)
#pragma warning restore CA1031
        {
            LogEndFailed(e, 0, "give back on stop");
        }
    }

    /// <summary>
    /// One relay round: claims due work nobody holds (new, retrying, waiting for its time, or left by a replica whose
    /// claim ran out) and starts it here. Returns when the next waiting work falls due, if any.
    /// </summary>
    internal async Task<DateTime?> ClaimDueAsync(CancellationToken ct)
    {
        var known = Known;
        if (known.Length == 0 || stopping.IsCancellationRequested)
        {
            return null;
        }
        await using var db = await contexts.CreateDbContextAsync(ct);
        var set = db.Set<PortalEvent>();
        var now = time.GetUtcNow().UtcDateTime;
        var due = await Claimable(set, known, now).OrderBy(e => e.Id).Take(ClaimBatch).ToListAsync(ct);
        foreach (var row in due)
        {
            var stamp = time.GetTimestamp();
            now = time.GetUtcNow().UtcDateTime;
            var token = NewToken();
            var until = now + options.Value.Lease;
            var claimed = await Claimable(set, known, now).Where(e => e.Id == row.Id)
                .ExecuteUpdateAsync(s => s.SetProperty(e => e.ClaimedBy, Outbox.Replica).SetProperty(e => e.ClaimedUntilUtc, until)
                    .SetProperty(e => e.ClaimToken, token).SetProperty(e => e.Attempts, e => e.Attempts + 1), ct);
            if (claimed == 1)
            {
                if (row.ClaimedBy is not null && row.ClaimedUntilUtc is not null && row.NextAttemptAtUtc is null)
                {
                    LogTakenOver(row.Id, row.Type, row.ClaimedBy);
                }
                row.ClaimedAtTimestamp = stamp;
                Start(row, row.Attempts + 1, token);
            }
        }
        now = time.GetUtcNow().UtcDateTime;
        return await set.Where(e => e.Work && e.HandledAtUtc == null && e.DeadAtUtc == null && e.NextAttemptAtUtc > now && known.Contains(e.Type))
            .MinAsync(e => e.NextAttemptAtUtc, ct);
    }

    /// <summary>Gives a dead letter another round of attempts (a person asked for it).</summary>
    public async Task<bool> ReviveAsync(long eventId, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        return await db.Set<PortalEvent>().Where(e => e.Id == eventId && e.DeadAtUtc != null && e.HandledAtUtc == null)
            .ExecuteUpdateAsync(s => s.SetProperty(e => e.DeadAtUtc, (DateTime?)null).SetProperty(e => e.Attempts, 0)
                .SetProperty(e => e.NextAttemptAtUtc, (DateTime?)null).SetProperty(e => e.ClaimedUntilUtc, (DateTime?)null), ct) == 1;
    }

    /// <summary>Work given up, newest first.</summary>
    public async Task<IReadOnlyList<PortalEvent>> DeadLettersAsync(int take = 50, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        return await db.Set<PortalEvent>().AsNoTracking().Where(e => e.DeadAtUtc != null && e.HandledAtUtc == null)
            .OrderByDescending(e => e.Id).Take(take).ToListAsync(ct);
    }

    private static IQueryable<PortalEvent> Claimable(DbSet<PortalEvent> set, string[] known, DateTime now) =>
        set.Where(e => e.Work && e.HandledAtUtc == null && e.DeadAtUtc == null && (e.ClaimedUntilUtc == null || e.ClaimedUntilUtc < now)
            && (e.NextAttemptAtUtc == null || e.NextAttemptAtUtc <= now) && known.Contains(e.Type));

    internal static string NewToken() => Guid.NewGuid().ToString("N");

    private void Start(PortalEvent row, int attempt, string token)
    {
        claimedHere[token] = row.Id;
        var ct = stopping;
        if (ct.IsCancellationRequested)
        {
            return; // Stopping: the claim is given back when the runner stops.
        }
        if (handlers[row.Type].Select(h => h.Lane).FirstOrDefault(l => l is not null) is { } lane)
        {
            Lane(lane, ct).Writer.TryWrite((row, attempt, token));
            return;
        }
        Track(Task.Run(() => RunAsync(row, attempt, token, ct), CancellationToken.None));
    }

    /// <summary>The lane's queue, with the one loop that runs its work in the order it was started.</summary>
    private Channel<(PortalEvent Row, int Attempt, string Token)> Lane(string name, CancellationToken ct) => lanes.GetOrAdd(name, _ =>
    {
        var queue = Channel.CreateUnbounded<(PortalEvent Row, int Attempt, string Token)>(new UnboundedChannelOptions { SingleReader = true });
        Track(Task.Run(async () =>
        {
            try
            {
                await foreach (var (row, attempt, token) in queue.Reader.ReadAllAsync(ct))
                {
                    await RunAsync(row, attempt, token, ct);
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
            }
        }, CancellationToken.None));
        return queue;
    });

    private void Track(Task task)
    {
        tasks.TryAdd(task, true);
        _ = task.ContinueWith(t => tasks.TryRemove(t, out _), TaskScheduler.Default);
    }

    private async Task RunAsync(PortalEvent row, int attempt, string token, CancellationToken ct)
    {
        try
        {
            await RunClaimedAsync(row, attempt, token, ct);
        }
        finally
        {
            claimedHere.TryRemove(token, out _);
        }
    }

    private async Task RunClaimedAsync(PortalEvent row, int attempt, string token, CancellationToken ct)
    {
        using var scope = logger.BeginScope(new Dictionary<string, object?> { ["EventId"] = row.Id, ["Work"] = row.Type, ["Attempt"] = attempt });
        try
        {
            object? message;
            try
            {
                message = outbox.Read(row);
            }
            catch (System.Text.Json.JsonException e)
            {
                await EndAsync(row, attempt, token, null, [], new WorkResult(WorkEnd.Retry, $"the message cannot be read: {e.Message}"), giveUp: true, ct);
                return;
            }
            var mine = message is null ? [] : handlers[row.Type].Where(h => h.Wants(message)).ToList();
            ct.ThrowIfCancellationRequested(); // Stopping: not started, given back.
            var work = Context(row, attempt, token);
            // Claimed moments ago (the fast path, or the relay): the lease is surely running, no round trip. Started
            // later (it waited in its lane), the claim is renewed first, or found taken over.
            if (!work.StillHolds() && !await work.HoldsAsync(ct))
            {
                LogLost(row.Id, row.Type);
                return; // Taken over before it started here (it waited too long): the other replica does it.
            }
            running[token] = row.Id;
            WorkResult result;
            try
            {
                result = await HandleAsync(mine, message!, work, ct);
            }
            finally
            {
                running.TryRemove(token, out _);
            }
            await EndAsync(row, attempt, token, message, mine, result, giveUp: false, ct);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            await GiveBackAsync(row.Id, token);
        }
#pragma warning disable CA1031 // Ending the work failed (the database went away): the claim runs out and it is tried again.
        catch (Exception e)
#pragma warning restore CA1031
        {
            LogEndFailed(e, row.Id, row.Type);
        }
    }

    /// <summary>Every wanting handler in turn, in one service scope; a throw is a retry with its message as the reason.</summary>
    private async Task<WorkResult> HandleAsync(List<IWorkHandler> mine, object message, WorkContext work, CancellationToken ct)
    {
        await using var scope = scopes.CreateAsyncScope();
        var end = WorkResult.Done;
        foreach (var handler in mine)
        {
            WorkResult result;
            try
            {
                result = await handler.HandleAsync(scope.ServiceProvider, message, work, ct);
            }
            catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
            {
                LogHandlerFailed(e, work.EventId, handler.Name, work.Attempt);
                result = WorkResult.Retry($"{handler.Name} failed: {e.GetType().Name}: {e.Message}");
            }
            end = (end.End, result.End) switch
            {
                (WorkEnd.Lost, _) => end,
                (_, WorkEnd.Lost) => result,
                (_, WorkEnd.Retry) when end.End != WorkEnd.Retry => result,
                (WorkEnd.Done, WorkEnd.Wait) => result,
                (WorkEnd.Wait, WorkEnd.Wait) when result.At < end.At => result,
                _ => end,
            };
        }
        return end;
    }

    private async Task EndAsync(PortalEvent row, int attempt, string token, object? message, List<IWorkHandler> mine, WorkResult result, bool giveUp, CancellationToken ct)
    {
        var o = options.Value;
        var now = time.GetUtcNow().UtcDateTime;
        await using var db = await contexts.CreateDbContextAsync(CancellationToken.None);
        var held = Claims.Held(db, row.Id, token);
        var reason = Shorten(result.Reason);
        switch (result.End)
        {
            case WorkEnd.Lost:
                LogLost(row.Id, row.Type);
                return;
            case WorkEnd.Done:
                if (await held.ExecuteUpdateAsync(s => s.SetProperty(e => e.HandledAtUtc, now), CancellationToken.None) == 0)
                {
                    LogLost(row.Id, row.Type);
                }
                return;
            case WorkEnd.Wait:
                // Waiting for its time is not a failed attempt.
                await held.ExecuteUpdateAsync(s => s.SetProperty(e => e.NextAttemptAtUtc, result.At).SetProperty(e => e.ClaimedUntilUtc, (DateTime?)null)
                    .SetProperty(e => e.Attempts, e => e.Attempts - 1).SetProperty(e => e.LastError, reason), CancellationToken.None);
                signal.Wake(); // The relay learns when it falls due.
                return;
        }
        if (!giveUp && attempt < o.MaxAttempts)
        {
            var notBefore = result.At is { } at && at > now ? at - now : (TimeSpan?)null;
            var next = now + o.Backoff(attempt, notBefore);
            LogRetrying(row.Id, row.Type, attempt, reason ?? "", next);
            await held.ExecuteUpdateAsync(s => s.SetProperty(e => e.NextAttemptAtUtc, next).SetProperty(e => e.ClaimedUntilUtc, (DateTime?)null)
                .SetProperty(e => e.LastError, reason), CancellationToken.None);
            signal.Wake();
            return;
        }
        var why = $"given up after {attempt} attempt(s): {reason}";
        if (message is not null && mine.Count > 0 && await HoldsAsync(row.Id, token, ct))
        {
            await using var scope = scopes.CreateAsyncScope();
            var work = Context(row, attempt, token);
            foreach (var handler in mine)
            {
                await handler.GaveUpAsync(scope.ServiceProvider, message, work, why, ct);
            }
        }
        await using var transaction = await db.Database.BeginTransactionAsync(CancellationToken.None);
        if (await held.ExecuteUpdateAsync(s => s.SetProperty(e => e.DeadAtUtc, now).SetProperty(e => e.ClaimedUntilUtc, (DateTime?)null)
            .SetProperty(e => e.LastError, Shorten(why)), CancellationToken.None) == 0)
        {
            return;
        }
        foreach (var witness in witnesses)
        {
            witness.Staging(db, row, why);
        }
        await db.SaveChangesAsync(CancellationToken.None);
        await transaction.CommitAsync(CancellationToken.None);
        LogDead(row.Id, row.Type, why);
    }

    /// <summary>What a handler's attempt may ask of its claim.</summary>
    private WorkContext Context(PortalEvent row, int attempt, string token) =>
        new(row.Id, row.OccurredAtUtc, attempt, options.Value.MaxAttempts, token, c => HoldsAsync(row.Id, token, c), time, options.Value.SafeWindow,
            row.ClaimedAtTimestamp);

    /// <summary>Renews the claim if it is still <paramref name="token"/>'s: the fence, and the heartbeat of one piece of work.</summary>
    private async Task<bool> HoldsAsync(long eventId, string token, CancellationToken ct)
    {
        var until = time.GetUtcNow().UtcDateTime + options.Value.Lease;
        await using var db = await contexts.CreateDbContextAsync(ct);
        return await Claims.Held(db, eventId, token).ExecuteUpdateAsync(s => s.SetProperty(e => e.ClaimedUntilUtc, until), ct) == 1;
    }

    /// <summary>Every third of the lease, one statement renews the claims of all the work running here.</summary>
    private async Task RenewLoopAsync(CancellationToken ct)
    {
        using var timer = new PeriodicTimer(options.Value.Lease / 3, time);
        try
        {
            while (await timer.WaitForNextTickAsync(ct))
            {
                var tokens = running.Keys.ToList();
                if (tokens.Count == 0)
                {
                    continue;
                }
                try
                {
                    var until = time.GetUtcNow().UtcDateTime + options.Value.Lease;
                    await using var db = await contexts.CreateDbContextAsync(ct);
                    foreach (var chunk in tokens.Chunk(500))
                    {
                        await db.Set<PortalEvent>().Where(e => chunk.Contains(e.ClaimToken!) && e.HandledAtUtc == null && e.DeadAtUtc == null)
                            .ExecuteUpdateAsync(s => s.SetProperty(e => e.ClaimedUntilUtc, until), ct);
                    }
                }
                catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
                {
                    LogRenewFailed(e, tokens.Count);
                }
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
        }
    }

    /// <summary>Stopping: the claim is given back without counting the attempt, so another replica starts it at once.</summary>
    private async Task GiveBackAsync(long eventId, string token)
    {
        try
        {
            await using var db = await contexts.CreateDbContextAsync(CancellationToken.None);
            await GiveBack(Claims.Held(db, eventId, token));
        }
#pragma warning disable CA1031 // The claim then runs out on its own.
        catch (Exception e)
#pragma warning restore CA1031
        {
            LogEndFailed(e, eventId, "give back");
        }
    }

    /// <summary>Claims given back unfinished, not counted as attempts: free for any replica's relay at once.</summary>
    private static Task<int> GiveBack(IQueryable<PortalEvent> claims) =>
        claims.ExecuteUpdateAsync(s => s.SetProperty(e => e.ClaimedUntilUtc, (DateTime?)null).SetProperty(e => e.Attempts, e => e.Attempts - 1));

    private static string? Shorten(string? reason) => reason is { Length: > 1000 } ? reason[..999] + "…" : reason;

    [LoggerMessage(Level = LogLevel.Information, Message = "Stopping: gave back {Count} piece(s) of work claimed here and not started, for another replica to start at once")]
    private partial void LogGivenBack(int count);

    [LoggerMessage(Level = LogLevel.Information, Message = "Work {EventId} ({Type}) was claimed by {Replica}, whose claim ran out; taking it over")]
    private partial void LogTakenOver(long eventId, string type, string replica);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Work {EventId} ({Type}): its claim is no longer this replica's (taken over, or this replica stood still past its lease); nothing more is done here")]
    private partial void LogLost(long eventId, string type);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Work {EventId}: {Handler} failed on attempt {Attempt}")]
    private partial void LogHandlerFailed(Exception exception, long eventId, string handler, int attempt);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Work {EventId} ({Type}): attempt {Attempt} did not finish ({Reason}); next attempt at {NextUtc:o}")]
    private partial void LogRetrying(long eventId, string type, int attempt, string reason, DateTime nextUtc);

    [LoggerMessage(Level = LogLevel.Error, Message = "Work {EventId} ({Type}) is a dead letter: {Reason}")]
    private partial void LogDead(long eventId, string type, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Work {EventId} ({Type}): recording how it ended failed; its claim runs out and it is tried again")]
    private partial void LogEndFailed(Exception exception, long eventId, string type);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Renewing the claims of {Count} running piece(s) of work failed; trying again at the next tick")]
    private partial void LogRenewFailed(Exception exception, int count);
}
