using System.ComponentModel.DataAnnotations;
using Microsoft.EntityFrameworkCore;

namespace KeelPortal.Data;

/// <summary>
/// Acts once on a message of type <typeparamref name="TMessage"/> taken from the outbox (registered with
/// <see cref="WorkSetup.AddHandler{TMessage, THandler}"/>). The claim it runs under is renewed while it runs; right before
/// a side effect that must not happen twice (a PATCH, a <c>helm upgrade</c>, an HTTP delivery) it checks
/// <see cref="WorkContext.HoldsAsync"/>, and every state change it writes is conditional on still holding the claim.
/// A handler must be safe to run again: an attempt that threw, or whose replica died, is tried again.
/// </summary>
public interface IMessageHandler<in TMessage> where TMessage : notnull
{
    Task<WorkResult> HandleAsync(TMessage message, WorkContext work, CancellationToken ct);

    /// <summary>The work was given up (a dead letter, <paramref name="reason"/>): leave what it was about in a state a person can see.</summary>
    Task GaveUpAsync(TMessage message, WorkContext work, string reason, CancellationToken ct) => Task.CompletedTask;
}

public enum WorkEnd
{
    /// <summary>Done (also: nothing to do).</summary>
    Done,

    /// <summary>Failed for a reason worth trying again: the retry policy says when, or gives up.</summary>
    Retry,

    /// <summary>Not yet: tried again at a given time, without counting an attempt (a change window, say).</summary>
    Wait,

    /// <summary>
    /// The claim was lost (another replica took it over, or this process stood still past it): the attempt writes
    /// nothing more. The work is its holder's, or, once the claim runs out, the next claim's.
    /// </summary>
    Lost,
}

/// <summary>How an attempt ended; <see cref="At"/> is the earliest next attempt (a receiver's <c>Retry-After</c>, a window's opening).</summary>
public readonly record struct WorkResult(WorkEnd End, string? Reason = null, DateTime? At = null)
{
    public static WorkResult Done { get; } = new(WorkEnd.Done);

    public static WorkResult Retry(string reason, DateTime? notBeforeUtc = null) => new(WorkEnd.Retry, reason, notBeforeUtc);

    public static WorkResult WaitUntil(DateTime atUtc, string reason) => new(WorkEnd.Wait, reason, atUtc);

    public static WorkResult Lost { get; } = new(WorkEnd.Lost);
}

/// <summary>
/// The claim an attempt runs under, and what it may ask of it. <paramref name="time"/>'s monotonic clock and
/// <paramref name="safeFor"/> (<see cref="WorkOptions.SafeWindow"/>) make the last-moment fence <see cref="StillHolds"/>,
/// counted from <paramref name="claimedAt"/> (the claim's own timestamp) until the first renewal.
/// </summary>
public sealed class WorkContext(
    long eventId, DateTime occurredAtUtc, int attempt, int maxAttempts, string token, Func<CancellationToken, Task<bool>> holds,
    TimeProvider time, TimeSpan safeFor, long claimedAt = 0)
{
    /// <summary>The monotonic timestamp at which the claim, or its last renewal that held, was sent (0: none yet).</summary>
    private long heldSince = claimedAt;

    public long EventId { get; } = eventId;

    /// <summary>When the change that caused the work was committed.</summary>
    public DateTime OccurredAtUtc { get; } = occurredAtUtc;

    /// <summary>This attempt's number, from 1.</summary>
    public int Attempt { get; } = attempt;

    public int MaxAttempts { get; } = maxAttempts;

    /// <summary>The claim's fencing token (an apply writes it on the approval it claims).</summary>
    public string Token { get; } = token;

    /// <summary>After this attempt the retry policy gives up: a handler may end the work its own way instead.</summary>
    public bool IsLastAttempt => Attempt >= MaxAttempts;

    /// <summary>
    /// The fence: renews the claim and says whether it is still this attempt's (false: another replica took it over, or
    /// this process stood still so long during the renewal that the renewal cannot be counted on).
    /// </summary>
    public async Task<bool> HoldsAsync(CancellationToken ct)
    {
        var sent = time.GetTimestamp();
        if (!await holds(ct))
        {
            return false;
        }
        Interlocked.Exchange(ref heldSince, sent);
        return StillHolds();
    }

    /// <summary>
    /// The last-moment fence, for the instant before a side effect leaves the process (the first byte of an HTTP body):
    /// whether the lease renewed by the last <see cref="HoldsAsync"/> is certainly still running, by this process's
    /// monotonic clock, with no round trip. A process frozen (SIGSTOP, a long GC pause, a suspended VM) after the
    /// renewal finds it false on waking, before it sends, and the replica that took the work over is the only one that acts.
    /// </summary>
    public bool StillHolds() => Interlocked.Read(ref heldSince) is var since and not 0 && time.GetElapsedTime(since) < safeFor;

    /// <summary>
    /// The claim's row while it is still this attempt's, to make a write conditional on it in the same statement:
    /// <c>var held = work.Held(db); set.Where(d =&gt; d.Id == id &amp;&amp; held.Any()).ExecuteUpdateAsync(…)</c>.
    /// </summary>
    public IQueryable<PortalEvent> Held(DbContext db) => Claims.Held(db, EventId, Token);
}

/// <summary>What "holding a claim" means, in one place: the runner, the handlers' conditional writes and the apply's take-over ask here.</summary>
public static class Claims
{
    /// <summary>The work row while <paramref name="token"/> still holds it (not done, not given up).</summary>
    public static IQueryable<PortalEvent> Held(DbContext db, long eventId, string token)
    {
        ArgumentNullException.ThrowIfNull(db);
        return db.Set<PortalEvent>().Where(e => e.Id == eventId && e.ClaimToken == token && e.HandledAtUtc == null && e.DeadAtUtc == null);
    }

    /// <summary>Work whose claim is live at <paramref name="nowUtc"/>: its holder may still be acting on it.</summary>
    public static IQueryable<PortalEvent> Live(DbContext db, DateTime nowUtc)
    {
        ArgumentNullException.ThrowIfNull(db);
        return db.Set<PortalEvent>().Where(e => e.HandledAtUtc == null && e.DeadAtUtc == null && e.ClaimedUntilUtc >= nowUtc);
    }
}

/// <summary>Sees work given up, in the transaction that records the dead letter (the audit trail writes its entry there).</summary>
public interface IDeadLetterWitness
{
    void Staging(DbContext db, PortalEvent row, string reason);
}

/// <summary>The one lease and the one retry policy of all work that must happen once.</summary>
public sealed class WorkOptions
{
    public const string Section = "Work";

    /// <summary>
    /// How long a claim lasts unless renewed. A running handler's claim is renewed every third of it, so this bounds
    /// only how long the work of a replica that died (or froze) waits before another takes it over.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00", ErrorMessage = "Work:Lease must be between 1 second and 1 hour.")]
    public TimeSpan Lease { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long after sending a renewal a handler counts on its claim without asking again (see
    /// <see cref="WorkContext.StillHolds"/>): four fifths of the lease, leaving a fifth for the replicas' clocks to differ.
    /// </summary>
    public TimeSpan SafeWindow => Lease * 0.8;

    /// <summary>The wait before the second attempt; each further one doubles it (±20 % jitter), up to <see cref="MaxRetryDelay"/>.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "01:00:00", ErrorMessage = "Work:FirstRetryDelay must be between 0 and 1 hour.")]
    public TimeSpan FirstRetryDelay { get; set; } = TimeSpan.FromSeconds(15);

    [Range(typeof(TimeSpan), "00:00:00", "1.00:00:00", ErrorMessage = "Work:MaxRetryDelay must be between 0 and 1 day.")]
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromHours(1);

    /// <summary>Attempts before the work is given up as a dead letter.</summary>
    [Range(1, 50, ErrorMessage = "Work:MaxAttempts must be between 1 and 50.")]
    public int MaxAttempts { get; set; } = 5;

    /// <summary>The wait before attempt <paramref name="attempt"/> + 1: doubling from <see cref="FirstRetryDelay"/>, ±20 %, capped, at least <paramref name="notBefore"/>.</summary>
    public TimeSpan Backoff(int attempt, TimeSpan? notBefore = null)
    {
        var doubled = FirstRetryDelay.TotalMilliseconds * Math.Pow(2, Math.Clamp(attempt - 1, 0, 20));
#pragma warning disable CA5394 // Jitter spreads retries; it protects nothing.
        var jittered = doubled * (0.8 + (Random.Shared.NextDouble() * 0.4));
#pragma warning restore CA5394
        var wait = TimeSpan.FromMilliseconds(Math.Min(jittered, MaxRetryDelay.TotalMilliseconds));
        return notBefore is { } asked && asked > wait ? asked : wait;
    }
}

/// <summary>Registers the handlers of work that must happen once.</summary>
public static class WorkSetup
{
    /// <summary>
    /// <typeparamref name="THandler"/> acts once on every <typeparamref name="TMessage"/> staged in the outbox (those
    /// <paramref name="when"/> accepts). Several handlers of one message each act on it; an attempt is all of them.
    /// Work of one <paramref name="lane"/> runs one piece at a time on each replica, in the order it was committed
    /// (what happened to approvals becomes notifications in the order it happened); other work runs at once.
    /// </summary>
    public static IServiceCollection AddHandler<TMessage, THandler>(this IServiceCollection services, Func<TMessage, bool>? when = null, string? lane = null)
        where TMessage : notnull
        where THandler : class, IMessageHandler<TMessage>
    {
        var wants = when ?? (_ => true);
        services.Configure<OutboxTypes>(t => t.Add(wants));
        services.AddSingleton<IWorkHandler>(new WorkHandler<TMessage, THandler>(wants, lane));
        return services;
    }
}

/// <summary>One registered (message, handler) pair, untyped for the runner.</summary>
public interface IWorkHandler
{
    string MessageType { get; }

    string Name { get; }

    /// <summary>Work of one lane runs one piece at a time per replica, in commit order; null runs at once.</summary>
    string? Lane { get; }

    bool Wants(object message);

    Task<WorkResult> HandleAsync(IServiceProvider services, object message, WorkContext work, CancellationToken ct);

    Task GaveUpAsync(IServiceProvider services, object message, WorkContext work, string reason, CancellationToken ct);
}

internal sealed class WorkHandler<TMessage, THandler>(Func<TMessage, bool> wants, string? lane) : IWorkHandler
    where TMessage : notnull
    where THandler : class, IMessageHandler<TMessage>
{
    public string MessageType => typeof(TMessage).Name;

    public string Name => typeof(THandler).Name;

    public string? Lane => lane;

    public bool Wants(object message) => message is TMessage m && wants(m);

    public Task<WorkResult> HandleAsync(IServiceProvider services, object message, WorkContext work, CancellationToken ct) =>
        Handler(services).HandleAsync((TMessage)message, work, ct);

    public Task GaveUpAsync(IServiceProvider services, object message, WorkContext work, string reason, CancellationToken ct) =>
        Handler(services).GaveUpAsync((TMessage)message, work, reason, ct);

    /// <summary>The registered <typeparamref name="THandler"/> when there is one (a singleton other code uses too), else a new one.</summary>
    private static IMessageHandler<TMessage> Handler(IServiceProvider services) => ActivatorUtilities.GetServiceOrCreateInstance<THandler>(services);
}
