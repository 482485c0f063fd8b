using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Npgsql;

namespace KeelPortal.Data;

/// <summary>
/// Each replica's reader of the outbox. It hands every new <see cref="PortalEvent"/> to this replica's
/// <see cref="EventHub"/> (its open pages refresh, whoever made the change), and has the <see cref="WorkRunner"/> claim
/// work that is due and held by nobody. It wakes when this process commits an event, on PostgreSQL when any replica
/// does (<c>LISTEN keelportal_events</c>, raised by a trigger at commit), when waiting work falls due, and otherwise
/// every <see cref="DataOptions.EventPollInterval"/>.
/// </summary>
public sealed partial class EventRelay(
    IDbContextFactory<PortalDbContext> contexts,
    Outbox outbox,
    EventHub hub,
    EventSignal signal,
    WorkRunner work,
    IOptions<DataOptions> options,
    TimeProvider time,
    ILogger<EventRelay> logger) : BackgroundService
{
    /// <summary>The PostgreSQL notification channel the outbox trigger raises.</summary>
    public const string Channel = "keelportal_events";

    private const int Batch = 500;
    private static readonly TimeSpan GapWait = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan CleanupEvery = TimeSpan.FromMinutes(5);

    // Ids skipped over by the cursor: on PostgreSQL a transaction that took a lower id may commit after a higher one.
    private readonly Dictionary<long, DateTime> gaps = [];
    private readonly HashSet<string> unknownTypes = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim round = new(1, 1);
    private long cursor = -1;
    private DateTime nextCleanup;
    private DateTime? nextDue;

    /// <summary>The id of the last event handed to this replica's pages.</summary>
    public long Cursor => Interlocked.Read(ref cursor);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
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
                var wait = data.EventPollInterval;
                if (nextDue is { } due && due - time.GetUtcNow().UtcDateTime is var until && until < wait)
                {
                    wait = until > TimeSpan.Zero ? until : TimeSpan.Zero;
                }
                await signal.WaitAsync(wait, stoppingToken);
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
        nextDue = await work.ClaimDueAsync(ct);
        var now = time.GetUtcNow().UtcDateTime;
        if (now >= nextCleanup)
        {
            nextCleanup = now + CleanupEvery;
            var before = now - options.Value.EventRetention;
            // Dead letters stay until a person revives them (or they are older than the retention ten times over).
            var deadBefore = now - (options.Value.EventRetention * 10);
            await set.Where(e => e.OccurredAtUtc < before && (!e.Work || e.HandledAtUtc != null || (e.DeadAtUtc != null && e.OccurredAtUtc < deadBefore)))
                .ExecuteDeleteAsync(ct);
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

    [LoggerMessage(Level = LogLevel.Warning, Message = "Reading the outbox failed; trying again")]
    private partial void LogRoundFailed(Exception exception);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Event {EventId} ({Type}) cannot be read; skipped")]
    private partial void LogUnreadable(Exception exception, long eventId, string type);

    [LoggerMessage(Level = LogLevel.Information, Message = "The outbox has events of type {Type}, which this version does not know; left for a replica that does")]
    private partial void LogUnknownType(string type);

    [LoggerMessage(Level = LogLevel.Information, Message = "Listening for committed events on PostgreSQL channel {Channel}")]
    private partial void LogListening(string channel);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Listening on PostgreSQL channel {Channel} failed; events are polled until it works again")]
    private partial void LogListenFailed(Exception exception, string channel);
}
