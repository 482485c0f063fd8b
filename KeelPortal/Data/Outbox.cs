using System.Data.Common;
using System.Runtime.CompilerServices;
using System.Text.Json;
using System.Threading.Channels;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Diagnostics;
using Microsoft.Extensions.Options;

namespace KeelPortal.Data;

/// <summary>
/// The messages the outbox may carry, by name, and which of them carry work: configured by each slice's setup
/// (<c>services.Configure&lt;OutboxTypes&gt;(t =&gt; t.Add&lt;T&gt;())</c> for messages only pages hear of,
/// <see cref="WorkSetup.AddHandler{TMessage, THandler}"/> for those a handler acts on).
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
/// Writes messages as <see cref="PortalEvent"/> rows. <see cref="Stage"/> adds the row to the caller's context so it
/// commits (or not) with the change itself; <see cref="PublishAsync"/> writes it on its own for changes that only pages
/// care about. The <see cref="EventRelay"/> of every replica hands the rows to its <see cref="EventHub"/>; a row that
/// carries work is written claimed by this replica and started here once it has committed (<see cref="WorkRunner"/>).
/// Only registered types are written and read back.
/// </summary>
public sealed class Outbox(IOptions<OutboxTypes> registered, IOptions<WorkOptions> work, IDbContextFactory<PortalDbContext> contexts, TimeProvider time)
{
    /// <summary>This process's name on the claims it takes.</summary>
    public static readonly string Replica = $"{Environment.MachineName}:{Environment.ProcessId}";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);
    private readonly OutboxTypes types = registered.Value;

    /// <summary>
    /// Adds the message's row to <paramref name="db"/>: it is written by the caller's next SaveChanges, in its
    /// transaction. Work it carries is claimed by this replica and starts here right after the commit; if this replica
    /// stops first, the claim runs out and any replica's relay does it.
    /// </summary>
    public void Stage(DbContext db, object message)
    {
        ArgumentNullException.ThrowIfNull(db);
        var row = RowOf(message);
        if (row.Work)
        {
            row.ClaimedBy = Replica;
            row.ClaimToken = WorkRunner.NewToken();
            row.ClaimedUntilUtc = row.OccurredAtUtc + work.Value.Lease;
            row.Attempts = 1;
        }
        db.Add(row);
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
            ClaimedAtTimestamp = time.GetTimestamp(),
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
/// After a commit (a SaveChanges outside a transaction, or the commit of the transaction around it; a rollback does
/// nothing): rows that carry work, written claimed by this replica (<see cref="Outbox.Stage"/>), start here at once
/// (<see cref="WorkStarts"/>), and for the others this replica's relay wakes. Other replicas hear of them from the
/// database (on PostgreSQL a commit notifies them; claimed rows notify nobody: their work starts here).
/// </summary>
internal sealed class OutboxCommitWake(EventSignal signal, WorkStarts starts) : IDbTransactionInterceptor, ISaveChangesInterceptor
{
    private static readonly ConditionalWeakTable<DbContext, Staged> Pending = [];

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

    public void SaveChangesFailed(DbContextErrorEventData eventData)
    {
        if (eventData.Context is { } context && Pending.TryGetValue(context, out var staged))
        {
            staged.Saving = false;
            if (context.Database.CurrentTransaction is null)
            {
                Pending.Remove(context);
            }
        }
    }

    public Task SaveChangesFailedAsync(DbContextErrorEventData eventData, CancellationToken cancellationToken = default)
    {
        SaveChangesFailed(eventData);
        return Task.CompletedTask;
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
        if (context is null)
        {
            return;
        }
        var added = context.ChangeTracker.Entries<PortalEvent>().Where(e => e.State == EntityState.Added).Select(e => e.Entity).ToList();
        if (added.Count > 0)
        {
            var staged = Pending.GetOrCreateValue(context);
            staged.Rows.AddRange(added);
            staged.Saving = true;
        }
    }

    private void Saved(DbContext? context)
    {
        if (context is null || !Pending.TryGetValue(context, out var staged))
        {
            return;
        }
        staged.Saving = false;
        // Outside a transaction of the caller's, SaveChanges committed on its own (the rows' ids are set only now, after
        // its own transaction's commit).
        if (context.Database.CurrentTransaction is null)
        {
            Committed(context);
        }
    }

    private void Committed(DbContext? context)
    {
        if (context is null || !Pending.TryGetValue(context, out var staged) || staged.Saving)
        {
            return; // SaveChanges's own transaction: the rows get their ids after it, and SavedChanges starts them.
        }
        Pending.Remove(context);
        var wake = false;
        foreach (var row in staged.Rows)
        {
            if (row.Work && row.ClaimToken is not null && row.ClaimedBy == Outbox.Replica)
            {
                starts.Add(row);
            }
            else
            {
                wake = true;
            }
        }
        if (wake)
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

    /// <summary>The rows a context wrote and has not yet seen committed.</summary>
    private sealed class Staged
    {
        public List<PortalEvent> Rows { get; } = [];

        public bool Saving { get; set; }
    }
}
