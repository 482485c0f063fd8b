using System.Data.Common;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.Options;

namespace KeelPortal.Data;

/// <summary>
/// Work that must start once per event, on whichever replica claims it (raise a notification, apply an approval).
/// A handler that throws leaves the event unhandled: its claim runs out and it is tried again, so handlers must be
/// safe to run twice.
/// </summary>
public interface IEventWork
{
    /// <summary>Acts on the message if it is one this handler cares for; otherwise does nothing.</summary>
    Task HandleAsync(object message, DateTime occurredAtUtc, CancellationToken ct);
}

/// <summary>
/// The messages the outbox may carry, by name, and which of them carry work (<see cref="IEventWork"/>): configured by
/// each slice's setup (<c>services.Configure&lt;OutboxTypes&gt;(t =&gt; t.Add&lt;T&gt;(…))</c>).
/// </summary>
public sealed class OutboxTypes
{
    private readonly Dictionary<string, (Type Type, Func<object, bool> Work)> types = new(StringComparer.Ordinal);

    /// <summary>Registers <typeparamref name="T"/>; <paramref name="work"/> says which of its messages a handler must act on (several registrations add up).</summary>
    public OutboxTypes Add<T>(Func<T, bool>? work = null) where T : notnull
    {
        var name = typeof(T).Name;
        Func<object, bool> carries = work is null ? _ => false : o => work((T)o);
        if (types.TryGetValue(name, out var known))
        {
            if (known.Type != typeof(T))
            {
                throw new InvalidOperationException($"Two outbox messages are named {name}: {known.Type} and {typeof(T)}.");
            }
            var before = known.Work;
            carries = work is null ? before : o => before(o) || work((T)o);
        }
        types[name] = (typeof(T), carries);
        return this;
    }

    internal bool TryGet(string name, out Type type, out Func<object, bool> work)
    {
        var found = types.TryGetValue(name, out var entry);
        (type, work) = entry;
        return found;
    }
}

/// <summary>
/// Writes "something changed" messages as <see cref="PortalEvent"/> rows. <see cref="Stage"/> adds the row to the
/// caller's context so it commits (or not) with the change itself; <see cref="PublishAsync"/> writes it on its own for
/// changes that only pages care about. The <see cref="EventRelay"/> of every replica hands the rows to its
/// <see cref="EventHub"/>. Only registered types are written and read back.
/// </summary>
public sealed class Outbox(IOptions<OutboxTypes> registered, IDbContextFactory<PortalDbContext> contexts, TimeProvider time)
{
    /// <summary>This process's name on the claims it takes.</summary>
    public static readonly string Replica = $"{Environment.MachineName}:{Environment.ProcessId}";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private readonly OutboxTypes types = registered.Value;

    /// <summary>Adds the event row to <paramref name="db"/>: it is written by the caller's next SaveChanges, in its transaction.</summary>
    public void Stage(DbContext db, object message)
    {
        ArgumentNullException.ThrowIfNull(db);
        db.Add(RowOf(message));
    }

    /// <summary>
    /// Adds a work-carrying event row already claimed by this replica for <paramref name="claim"/>: the caller starts its
    /// work right after the commit and then calls <see cref="HandledAsync"/> (or <see cref="ReleaseAsync"/> when it
    /// failed). If neither happens — the process died — the claim runs out and any replica's relay does the work.
    /// </summary>
    public PortalEvent StageClaimed(DbContext db, object message, TimeSpan claim)
    {
        ArgumentNullException.ThrowIfNull(db);
        var row = RowOf(message);
        if (!row.Work)
        {
            throw new InvalidOperationException($"{row.Type} carries no work; there is nothing to claim.");
        }
        row.ClaimedBy = Replica;
        row.ClaimedUntilUtc = row.OccurredAtUtc + claim;
        row.Attempts = 1;
        db.Add(row);
        return row;
    }

    /// <summary>Marks a claimed event's work done.</summary>
    public async Task HandledAsync(long eventId, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var now = time.GetUtcNow().UtcDateTime;
        await db.Set<PortalEvent>().Where(e => e.Id == eventId).ExecuteUpdateAsync(s => s.SetProperty(e => e.HandledAtUtc, now), ct);
    }

    /// <summary>Gives up this replica's claim on an unhandled event, so the next relay round (of any replica) takes it.</summary>
    public async Task ReleaseAsync(long eventId, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        await db.Set<PortalEvent>().Where(e => e.Id == eventId && e.HandledAtUtc == null && e.ClaimedBy == Replica)
            .ExecuteUpdateAsync(s => s.SetProperty(e => e.ClaimedUntilUtc, (DateTime?)null), ct);
    }

    /// <summary>Writes the event on its own (for changes that pages show and nothing acts on).</summary>
    public async Task PublishAsync(object message, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        Stage(db, message);
        await db.SaveChangesAsync(ct);
    }

    /// <summary>The registered type of a row's message, or null for one this build does not know.</summary>
    public Type? TypeOf(string name) => types.TryGet(name, out var type, out _) ? type : null;

    /// <summary>The message a row carries, or null for a type this build does not know (a newer replica's, say).</summary>
    public object? Read(PortalEvent row)
    {
        ArgumentNullException.ThrowIfNull(row);
        return types.TryGet(row.Type, out var type, out _) ? JsonSerializer.Deserialize(row.Payload, type, Json) : null;
    }

    private PortalEvent RowOf(object message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var type = message.GetType();
        if (!types.TryGet(type.Name, out var known, out var work) || known != type)
        {
            throw new InvalidOperationException($"{type.Name} is not registered with the outbox (OutboxTypes.Add<{type.Name}>).");
        }
        return new PortalEvent
        {
            Type = type.Name,
            Payload = JsonSerializer.Serialize(message, type, Json),
            OccurredAtUtc = time.GetUtcNow().UtcDateTime,
            Work = work(message),
        };
    }
}

/// <summary>Wakes this replica's <see cref="EventRelay"/> (coalesced: many wakes before it reads are one read).</summary>
public sealed class EventSignal
{
    private readonly Channel<bool> wakes = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });

    public void Wake() => wakes.Writer.TryWrite(true);

    /// <summary>Waits for a wake or <paramref name="timeout"/>, whichever comes first.</summary>
    public async Task WaitAsync(TimeSpan timeout, CancellationToken ct)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
        limit.CancelAfter(timeout);
        try
        {
            await wakes.Reader.WaitToReadAsync(limit.Token);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
        }
        wakes.Reader.TryRead(out _);
    }
}

/// <summary>
/// Wakes the relay the moment event rows are committed: after a SaveChanges outside a transaction, or when the
/// transaction around it commits (a rollback wakes nobody). Other replicas hear of it from the database. Rows written
/// already claimed (<see cref="Outbox.StageClaimed"/>) wake nobody, here or on PostgreSQL: their work starts here.
/// </summary>
internal sealed class OutboxCommitWake(EventSignal signal) : IDbTransactionInterceptor, ISaveChangesInterceptor
{
    private static readonly ConditionalWeakTable<DbContext, object> Pending = [];

    public InterceptionResult<int> SavingChanges(DbContextEventData eventData, InterceptionResult<int> result)
    {
        Note(eventData.Context);
        return result;
    }

    public ValueTask<InterceptionResult<int>> SavingChangesAsync(DbContextEventData eventData, InterceptionResult<int> result, CancellationToken cancellationToken = default)
    {
        Note(eventData.Context);
        return ValueTask.FromResult(result);
    }

    public int SavedChanges(SaveChangesCompletedEventData eventData, int result)
    {
        Saved(eventData.Context);
        return result;
    }

    public ValueTask<int> SavedChangesAsync(SaveChangesCompletedEventData eventData, int result, CancellationToken cancellationToken = default)
    {
        Saved(eventData.Context);
        return ValueTask.FromResult(result);
    }

    public void TransactionCommitted(DbTransaction transaction, TransactionEndEventData eventData) => Committed(eventData.Context);

    public Task TransactionCommittedAsync(DbTransaction transaction, TransactionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        Committed(eventData.Context);
        return Task.CompletedTask;
    }

    public void TransactionRolledBack(DbTransaction transaction, TransactionEndEventData eventData) => Forget(eventData.Context);

    public Task TransactionRolledBackAsync(DbTransaction transaction, TransactionEndEventData eventData, CancellationToken cancellationToken = default)
    {
        Forget(eventData.Context);
        return Task.CompletedTask;
    }

    private static void Note(DbContext? context)
    {
        // A row written already claimed is this replica's own work, started right after the commit: nobody to wake.
        if (context is not null && context.ChangeTracker.Entries<PortalEvent>().Any(e => e.State == EntityState.Added && e.Entity.ClaimedUntilUtc is null))
        {
            Pending.AddOrUpdate(context, true);
        }
    }

    private void Saved(DbContext? context)
    {
        if (context?.Database.CurrentTransaction is null)
        {
            Committed(context);
        }
    }

    private void Committed(DbContext? context)
    {
        if (context is not null && Pending.Remove(context))
        {
            signal.Wake();
        }
    }

    private static void Forget(DbContext? context)
    {
        if (context is not null)
        {
            Pending.Remove(context);
        }
    }
}
