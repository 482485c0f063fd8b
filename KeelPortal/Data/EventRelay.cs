using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Npgsql;

namespace KeelPortal.Data;

/// <summary>
/// Each replica's reader of the outbox. It hands every new <see cref="PortalEvent"/> to this replica's
/// <see cref="EventHub"/> (its open pages refresh, whoever made the change), and claims the rows that carry work so
/// that exactly one replica starts it. It wakes when this process commits an event, on PostgreSQL when any replica
/// does (<c>LISTEN keelportal_events</c>, raised by a trigger at commit), and otherwise every
/// <see cref="DataOptions.EventPollInterval"/>.
/// </summary>
public sealed partial class EventRelay(
    IDbContextFactory<PortalDbContext> contexts,
    Outbox outbox,
    EventHub hub,
    EventSignal signal,
    IServiceScopeFactory scopes,
    IOptions<DataOptions> options,
    TimeProvider time,
    ILogger<EventRelay> logger) : BackgroundService
{
    /// <summary>The PostgreSQL notification channel the outbox trigger raises.</summary>
    public const string Channel = "keelportal_events";

    private const int Batch = 500;
    private const int MaxAttempts = 5;
    private static readonly TimeSpan GapWait = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan CleanupEvery = TimeSpan.FromMinutes(5);

    // Ids skipped over by the cursor: on PostgreSQL a transaction that took a lower id may commit after a higher one.
    private readonly Dictionary<long, DateTime> gaps = [];
    private readonly HashSet<string> unknownTypes = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim round = new(1, 1);
    private long cursor = -1;
    private DateTime nextCleanup;
    private CancellationToken stopping = new(canceled: true);

    /// <summary>The id of the last event handed to this replica's pages.</summary>
    public long Cursor => Interlocked.Read(ref cursor);

    /// <summary>
    /// Adds a work-carrying event to the caller's transaction already claimed by this replica; once that transaction has
    /// committed, <see cref="RunHere"/> starts its work at once, without waiting for a relay round.
    /// </summary>
    public PortalEvent StageHere(DbContext db, object message) => outbox.StageClaimed(db, message, options.Value.EventClaimLease);

    /// <summary>
    /// Does the work of a committed row staged with <see cref="StageHere"/>, in the background, exactly as a relay round
    /// would, and marks it handled. If it fails, or this replica stops first, the claim runs out and a relay (of any
    /// replica) tries again.
    /// </summary>
    public void RunHere(PortalEvent row)
    {
        ArgumentNullException.ThrowIfNull(row);
        var ct = stopping;
        if (ct.IsCancellationRequested)
        {
            return; // Not running (stopping, or not started): the claim runs out and a relay takes it.
        }
        _ = Task.Run(async () =>
        {
            try
            {
                if (ReadOrNote(row) is { } message)
                {
                    await using var scope = scopes.CreateAsyncScope();
                    await DoWorkAsync([.. scope.ServiceProvider.GetServices<IEventWork>()], row, message, row.Attempts, ct);
                }
            }
#pragma warning disable CA1031 // Marking it handled failed: the claim runs out and a relay does the (repeatable) work again.
            catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
#pragma warning restore CA1031
            {
                LogRunHereFailed(e, row.Id, row.Type);
            }
            catch (OperationCanceledException)
            {
            }
        }, CancellationToken.None);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        stopping = stoppingToken;
        var data = options.Value;
        var listening = data.IsPostgres ? ListenAsync(data.ConnectionString, stoppingToken) : Task.CompletedTask;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await RunOnceAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
#pragma warning disable CA1031 // A database hiccup must not end the relay; the next round reads again.
            catch (Exception e)
#pragma warning restore CA1031
            {
                LogRoundFailed(e);
            }
            try
            {
                await signal.WaitAsync(data.EventPollInterval, stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
        }
        await listening;
    }

    /// <summary>One round: new events to the pages, claimed work started, old rows removed now and then.</summary>
    internal async Task RunOnceAsync(CancellationToken ct)
    {
        await round.WaitAsync(ct);
        try
        {
            await RoundAsync(ct);
        }
        finally
        {
            round.Release();
        }
    }

    public override void Dispose()
    {
        round.Dispose();
        base.Dispose();
    }

    private async Task RoundAsync(CancellationToken ct)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var set = db.Set<PortalEvent>();
        if (cursor < 0)
        {
            // Pages opened from now on care about changes from now on; unhandled work is found by its own query.
            cursor = await set.MaxAsync(e => (long?)e.Id, ct) ?? 0;
        }
        await RelayAsync(set, ct);
        await WorkAsync(set, ct);
        var now = time.GetUtcNow().UtcDateTime;
        if (now >= nextCleanup)
        {
            nextCleanup = now + CleanupEvery;
            var before = now - options.Value.EventRetention;
            await set.Where(e => e.OccurredAtUtc < before && (!e.Work || e.HandledAtUtc != null)).ExecuteDeleteAsync(ct);
        }
    }

    private async Task RelayAsync(DbSet<PortalEvent> set, CancellationToken ct)
    {
        List<PortalEvent> rows;
        do
        {
            var now = time.GetUtcNow().UtcDateTime;
            foreach (var old in gaps.Where(g => now - g.Value > GapWait).Select(g => g.Key).ToList())
            {
                gaps.Remove(old); // Never committed (a rolled-back transaction's id).
            }
            var after = cursor;
            var missing = gaps.Keys.ToList();
            rows = await set.AsNoTracking().Where(e => e.Id > after || missing.Contains(e.Id)).OrderBy(e => e.Id).Take(Batch).ToListAsync(ct);
            foreach (var row in rows)
            {
                if (row.Id > cursor)
                {
                    for (var id = cursor + 1; id < row.Id && gaps.Count < 10_000; id++)
                    {
                        gaps.TryAdd(id, now);
                    }
                    Interlocked.Exchange(ref cursor, row.Id);
                }
                else
                {
                    gaps.Remove(row.Id);
                }
                if (outbox.TypeOf(row.Type) is { } type && !hub.Wants(type))
                {
                    continue; // Nobody here listens (a webhook's planning, say): not even read.
                }
                if (ReadOrNote(row) is { } message)
                {
                    hub.Publish(message);
                }
            }
        }
        while (rows.Count == Batch);
    }

    private async Task WorkAsync(DbSet<PortalEvent> set, CancellationToken ct)
    {
        var now = time.GetUtcNow().UtcDateTime;
        var due = await set.AsNoTracking()
            .Where(e => e.Work && e.HandledAtUtc == null && (e.ClaimedUntilUtc == null || e.ClaimedUntilUtc < now))
            .OrderBy(e => e.Id).Take(Batch).ToListAsync(ct);
        if (due.Count == 0)
        {
            return;
        }
        await using var scope = scopes.CreateAsyncScope();
        var handlers = scope.ServiceProvider.GetServices<IEventWork>().ToList();
        foreach (var row in due)
        {
            now = time.GetUtcNow().UtcDateTime;
            var until = now + options.Value.EventClaimLease;
            var claimed = await set.Where(e => e.Id == row.Id && e.HandledAtUtc == null && (e.ClaimedUntilUtc == null || e.ClaimedUntilUtc < now))
                .ExecuteUpdateAsync(s => s.SetProperty(e => e.ClaimedBy, Outbox.Replica).SetProperty(e => e.ClaimedUntilUtc, until)
                    .SetProperty(e => e.Attempts, e => e.Attempts + 1), ct);
            if (claimed == 0)
            {
                continue; // Another replica has it.
            }
            if (ReadOrNote(row) is not { } message)
            {
                continue; // A newer replica's message: left for a replica that knows it.
            }
            // row.Attempts was read before this claim, which counted one more.
            await DoWorkAsync(handlers, row, message, row.Attempts + 1, ct);
        }
    }

    /// <summary>Every handler's work on one claimed row (its <paramref name="attempt"/>th), then the row marked handled.</summary>
    private async Task DoWorkAsync(List<IEventWork> handlers, PortalEvent row, object message, int attempt, CancellationToken ct)
    {
        try
        {
            foreach (var handler in handlers)
            {
                await handler.HandleAsync(message, row.OccurredAtUtc, ct);
            }
        }
        catch (Exception e) when (e is not OperationCanceledException || !ct.IsCancellationRequested)
        {
            if (attempt < MaxAttempts)
            {
                LogWorkFailed(e, row.Id, row.Type, attempt);
                return; // Tried again when the claim runs out.
            }
            LogWorkAbandoned(e, row.Id, row.Type, attempt);
        }
        await outbox.HandledAsync(row.Id, ct);
    }

    private object? ReadOrNote(PortalEvent row)
    {
        try
        {
            if (outbox.Read(row) is { } message)
            {
                return message;
            }
        }
        catch (System.Text.Json.JsonException e)
        {
            LogUnreadable(e, row.Id, row.Type);
            return null;
        }
        if (unknownTypes.Add(row.Type))
        {
            LogUnknownType(row.Type);
        }
        return null;
    }

    private async Task ListenAsync(string connectionString, CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            try
            {
                await using var connection = new NpgsqlConnection(connectionString);
                await connection.OpenAsync(ct);
                connection.Notification += (_, _) => signal.Wake();
                await using (var listen = new NpgsqlCommand($"LISTEN {Channel}", connection))
                {
                    await listen.ExecuteNonQueryAsync(ct);
                }
                LogListening(Channel);
                signal.Wake(); // Whatever was committed while nobody listened.
                while (true)
                {
                    await connection.WaitAsync(ct);
                }
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
#pragma warning disable CA1031 // Without the wake-ups the relay still polls; keep trying to listen.
            catch (Exception e)
#pragma warning restore CA1031
            {
                LogListenFailed(e, Channel);
            }
            try
            {
                await Task.Delay(TimeSpan.FromSeconds(5), time, ct);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Event {EventId} ({Type}): finishing its work here failed; a relay takes it when the claim runs out")]
    private partial void LogRunHereFailed(Exception exception, long eventId, string type);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reading the outbox failed; trying again")]
    private partial void LogRoundFailed(Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Event {EventId} ({Type}): its work failed (attempt {Attempt}); it is tried again when the claim runs out")]
    private partial void LogWorkFailed(Exception exception, long eventId, string type, int attempt);

    [LoggerMessage(Level = LogLevel.Error, Message = "Event {EventId} ({Type}): its work failed {Attempts} times; given up")]
    private partial void LogWorkAbandoned(Exception exception, long eventId, string type, int attempts);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Event {EventId} ({Type}) cannot be read; skipped")]
    private partial void LogUnreadable(Exception exception, long eventId, string type);

    [LoggerMessage(Level = LogLevel.Information, Message = "The outbox has events of type {Type}, which this version does not know; left for a replica that does")]
    private partial void LogUnknownType(string type);

    [LoggerMessage(Level = LogLevel.Information, Message = "Listening for committed events on PostgreSQL channel {Channel}")]
    private partial void LogListening(string channel);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Listening on PostgreSQL channel {Channel} failed; events are polled until it works again")]
    private partial void LogListenFailed(Exception exception, string channel);
}
