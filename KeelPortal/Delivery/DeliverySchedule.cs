using KeelPortal.Approvals;
using KeelPortal.Audit;
using KeelPortal.Data;
using KeelPortal.Workloads;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;

namespace KeelPortal.Delivery;

/// <summary><c>Delivery</c> settings: windows and freezes declared as code (read-only in the console).</summary>
public sealed class DeliveryOptions
{
    public const string Section = "Delivery";

    public List<ConfiguredWindow> Windows { get; set; } = [];

    public List<ConfiguredFreeze> Freezes { get; set; } = [];
}

/// <summary><c>Delivery:Windows:0:Name</c> and so on.</summary>
public sealed class ConfiguredWindow
{
    public string? Name { get; set; }
    public string? Days { get; set; }
    public string? Hours { get; set; }
    public string? TimeZone { get; set; }
    public string? Scope { get; set; }
}

/// <summary><c>Delivery:Freezes:0:Reason</c> and so on; times with their offset (<c>2026-12-20T00:00:00+01:00</c>).</summary>
public sealed class ConfiguredFreeze
{
    public string? Reason { get; set; }
    public DateTimeOffset? Starts { get; set; }
    public DateTimeOffset? Ends { get; set; }
    public string? Scope { get; set; }
}

/// <summary><c>POST /v1/windows</c> body and the console's window form.</summary>
public sealed record WindowInput(string? Name, string? Days, string? Hours, string? TimeZone, string? Scope);

/// <summary><c>POST /v1/freezes</c> body and the console's freeze form.</summary>
public sealed record FreezeInput(string? Reason, DateTimeOffset? Starts, DateTimeOffset? Ends, string? Scope);

public enum DeliveryOutcome { Done, Unchanged, NotFound, Invalid }

/// <summary>An answer; <see cref="Fields"/> names each field of the input that is wrong, with why (all of them at once).</summary>
public sealed record DeliveryResult(DeliveryOutcome Outcome, string Message, IReadOnlyDictionary<string, string>? Fields = null);

/// <summary>
/// Change windows and freezes: defined in the console (Admin, audited) or in configuration, and the answer to "may this
/// workload be changed now, and if not, when?". A change to them has every scheduled update looked at again.
/// </summary>
public sealed partial class DeliverySchedule(
    IDbContextFactory<PortalDbContext> contexts, WorkloadStore workloads, ApprovalBook approvals, AuditTrail audit, Outbox outbox,
    IOptions<DeliveryOptions> options, TimeProvider time, ILogger<DeliverySchedule> logger)
{
    public const string FromConsole = "console";
    public const string FromConfiguration = "configuration";
    public const int MaxReason = AuditReason.MaxLength;

    private (IReadOnlyList<WindowDefinition> Windows, IReadOnlyList<FreezeDefinition> Freezes)? configured;

    /// <summary>A window's name is a DNS label, as Kubernetes names are.</summary>
    public static bool IsWindowName(string? name) => DeliveryScope.IsLabel(name);

    /// <summary>Every field of a window that cannot be used, with why — all of them, so a form can show each beside its field.</summary>
    public static Dictionary<string, string> WindowProblems(WindowInput input)
    {
        ArgumentNullException.ThrowIfNull(input);
        var problems = new Dictionary<string, string>(StringComparer.Ordinal);
        if (!IsWindowName(input.Name?.Trim()))
        {
            problems["name"] = "name the window with lower-case letters, digits and dashes (up to 63), such as office-hours";
        }
        if (!WindowRule.TryDays(input.Days, out _, out var days))
        {
            problems["days"] = days!;
        }
        if (!WindowRule.TryHours(input.Hours, out _, out _, out var hours))
        {
            problems["hours"] = hours!;
        }
        if (!WindowRule.TryZone(input.TimeZone, out _, out var zone))
        {
            problems["timeZone"] = zone!;
        }
        if (DeliveryScope.Parse(input.Scope, window: true, out var scope) is null)
        {
            problems["scope"] = scope!;
        }
        return problems;
    }

    /// <summary>
    /// When the workload may be changed: now, or the time its window opens or its freeze ends, and why. Every apply asks,
    /// so the rules are kept in memory, read again when any replica changes them (<see cref="DeliveryChanged"/>) and at
    /// least every <see cref="RulesLifetime"/>; with no window and no freeze nothing else is read.
    /// </summary>
    public async Task<DeliveryVerdict> WhenAsync(string workloadId, CancellationToken ct = default)
    {
        var now = time.GetUtcNow().UtcDateTime;
        var (windows, freezes) = await RulesAsync(now, ct);
        if (windows.Count == 0 && !freezes.Any(f => f.EndsAtUtc > now))
        {
            return new DeliveryVerdict(now, null, []);
        }
        var snapshot = windows.Count == 0 ? null : await workloads.GetAsync(workloadId, ct);
        var chosen = DeliveryRules.WindowsFor(workloadId, snapshot?.Windows ?? [], windows);
        return DeliveryRules.When(now, workloadId, chosen, freezes);
    }

    /// <summary>Whether any window exists or any freeze is not over: without either, every update may go at once.</summary>
    public async Task<bool> AnyRulesAsync(CancellationToken ct = default)
    {
        var now = time.GetUtcNow().UtcDateTime;
        var (windows, freezes) = await RulesAsync(now, ct);
        return windows.Count > 0 || freezes.Any(f => f.EndsAtUtc > now);
    }

    public static readonly TimeSpan RulesLifetime = TimeSpan.FromSeconds(30);

    private KeptRules? rules;
    private long version;

    private sealed record KeptRules(IReadOnlyList<WindowDefinition> Windows, IReadOnlyList<FreezeDefinition> Freezes, DateTime ReadAtUtc, long Version);

    /// <summary>Forgets the kept rules (a window or freeze changed here or on another replica).</summary>
    public void Forget() => Interlocked.Increment(ref version);

    private async Task<(IReadOnlyList<WindowDefinition> Windows, IReadOnlyList<FreezeDefinition> Freezes)> RulesAsync(DateTime now, CancellationToken ct)
    {
        var seen = Interlocked.Read(ref version);
        if (Volatile.Read(ref rules) is { } kept && kept.Version == seen && now - kept.ReadAtUtc < RulesLifetime && now >= kept.ReadAtUtc)
        {
            return (kept.Windows, kept.Freezes);
        }
        var (windows, freezes) = await AllAsync(ct);
        Volatile.Write(ref rules, new KeptRules(windows, freezes, now, seen));
        return (windows, freezes);
    }

    /// <summary>Every window and every freeze not yet over, from the console and from configuration.</summary>
    public async Task<(IReadOnlyList<WindowDefinition> Windows, IReadOnlyList<FreezeDefinition> Freezes)> AllAsync(CancellationToken ct = default)
    {
        var now = time.GetUtcNow().UtcDateTime;
        var (fixedWindows, fixedFreezes) = Configured();
        await using var db = await contexts.CreateDbContextAsync(ct);
        var rows = await db.Set<ChangeWindow>().AsNoTracking().OrderBy(w => w.Name).ToListAsync(ct);
        var freezeRows = await db.Set<Freeze>().AsNoTracking().Where(f => f.EndsAtUtc > now).OrderBy(f => f.StartsAtUtc).ToListAsync(ct);
        var windows = fixedWindows.Concat(rows.Where(r => fixedWindows.All(f => f.Name != r.Name)).Select(FromRow)).ToList();
        var freezes = fixedFreezes.Where(f => f.EndsAtUtc > now)
            .Concat(freezeRows.Select(f => new FreezeDefinition(f.Id, f.Reason, f.StartsAtUtc, f.EndsAtUtc,
                DeliveryScope.Parse(f.Scope, window: false, out _) ?? DeliveryScope.Global, FromConsole, f.CreatedBy)))
            .OrderBy(f => f.StartsAtUtc).ToList();
        return (windows, freezes);
    }

    public async Task<DeliveryResult> SaveWindowAsync(WindowInput input, string actor, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(input);
        var name = input.Name?.Trim();
        var problems = WindowProblems(input);
        if (problems.Count == 0 && Configured().Windows.Any(w => w.Name == name))
        {
            problems["name"] = $"the window {name} is defined in configuration (Delivery:Windows); change it there";
        }
        if (problems.Count > 0)
        {
            return new(DeliveryOutcome.Invalid, string.Join("; ", problems.Select(p => $"{p.Key}: {p.Value}")), problems);
        }
        var rule = WindowRule.Parse(input.Days, input.Hours, input.TimeZone, out _)!;
        var scope = DeliveryScope.Parse(input.Scope, window: true, out _)!;
        await using (var db = await contexts.CreateDbContextAsync(ct))
        {
            var row = await db.Set<ChangeWindow>().SingleOrDefaultAsync(w => w.Name == name, ct);
            var values = (rule.DaysText, rule.HoursText, rule.Zone.Id, scope.ToString());
            if (row is not null && (row.Days, row.Hours, row.TimeZone, row.Scope) == values)
            {
                return new(DeliveryOutcome.Unchanged, $"the window {name} is already {rule} ({scope})");
            }
            if (row is null)
            {
                db.Add(new ChangeWindow { Name = name!, Days = values.DaysText, Hours = values.HoursText, TimeZone = values.Item3, Scope = values.Item4, CreatedBy = actor, CreatedAtUtc = time.GetUtcNow().UtcDateTime });
            }
            else
            {
                (row.Days, row.Hours, row.TimeZone, row.Scope, row.CreatedBy, row.CreatedAtUtc) = (values.DaysText, values.HoursText, values.Item3, values.Item4, actor, time.GetUtcNow().UtcDateTime);
            }
            outbox.Stage(db, new DeliveryChanged());
            try
            {
                await db.SaveChangesAsync(ct);
            }
            catch (DbUpdateException e) when (e.IsUniqueViolation())
            {
                return new(DeliveryOutcome.Unchanged, $"the window {name} was saved by someone else at the same moment");
            }
        }
        await audit.RecordAsync(actor, AuditActions.WindowSaved, $"window/{name}", $"{rule} ({scope})", ct);
        await RescheduleAsync(ct);
        return new(DeliveryOutcome.Done, $"the window {name} is {rule} ({scope})");
    }

    public async Task<DeliveryResult> DeleteWindowAsync(string name, string actor, CancellationToken ct = default)
    {
        if (Configured().Windows.Any(w => w.Name == name))
        {
            return new(DeliveryOutcome.Invalid, $"the window {name} is defined in configuration (Delivery:Windows); remove it there");
        }
        await using (var db = await contexts.CreateDbContextAsync(ct))
        {
            var row = await db.Set<ChangeWindow>().SingleOrDefaultAsync(w => w.Name == name, ct);
            if (row is null)
            {
                return new(DeliveryOutcome.NotFound, $"there is no window {name}");
            }
            db.Remove(row);
            outbox.Stage(db, new DeliveryChanged());
            await db.SaveChangesAsync(ct);
            await audit.RecordAsync(actor, AuditActions.WindowDeleted, $"window/{name}", $"{row.Days} {row.Hours} {row.TimeZone} ({row.Scope})", ct);
        }
        await RescheduleAsync(ct);
        return new(DeliveryOutcome.Done, $"the window {name} is deleted");
    }

    public async Task<DeliveryResult> AddFreezeAsync(FreezeInput input, string actor, CancellationToken ct = default)
    {
        ArgumentNullException.ThrowIfNull(input);
        var now = time.GetUtcNow().UtcDateTime;
        var problems = FreezeProblems(input, now);
        if (problems.Count > 0)
        {
            return new(DeliveryOutcome.Invalid, string.Join("; ", problems.Select(p => $"{p.Key}: {p.Value}")), problems);
        }
        var scope = DeliveryScope.Parse(input.Scope, window: false, out _)!;
        var freeze = new Freeze
        {
            Reason = input.Reason!.Trim(), StartsAtUtc = input.Starts!.Value.UtcDateTime, EndsAtUtc = input.Ends!.Value.UtcDateTime,
            Scope = scope.ToString(), CreatedBy = actor, CreatedAtUtc = now,
        };
        await using (var db = await contexts.CreateDbContextAsync(ct))
        {
            db.Add(freeze);
            outbox.Stage(db, new DeliveryChanged());
            await db.SaveChangesAsync(ct);
        }
        var what = $"{freeze.StartsAtUtc:yyyy-MM-dd HH:mm}Z to {freeze.EndsAtUtc:yyyy-MM-dd HH:mm}Z ({scope}): {freeze.Reason}";
        await audit.RecordAsync(actor, AuditActions.FreezeAdded, $"freeze/{freeze.Id}", what, ct);
        await RescheduleAsync(ct);
        return new(DeliveryOutcome.Done, $"frozen {what}");
    }

    public async Task<DeliveryResult> RemoveFreezeAsync(long id, string actor, CancellationToken ct = default)
    {
        await using (var db = await contexts.CreateDbContextAsync(ct))
        {
            var row = await db.Set<Freeze>().SingleOrDefaultAsync(f => f.Id == id, ct);
            if (row is null)
            {
                return new(DeliveryOutcome.NotFound, $"there is no freeze {id}");
            }
            db.Remove(row);
            outbox.Stage(db, new DeliveryChanged());
            await db.SaveChangesAsync(ct);
            await audit.RecordAsync(actor, AuditActions.FreezeRemoved, $"freeze/{id}", $"{row.StartsAtUtc:yyyy-MM-dd HH:mm}Z to {row.EndsAtUtc:yyyy-MM-dd HH:mm}Z ({row.Scope}): {row.Reason}", ct);
        }
        await RescheduleAsync(ct);
        return new(DeliveryOutcome.Done, $"freeze {id} is removed");
    }

    /// <summary>Why a freeze is refused; null when it is fine.</summary>
    /// <summary>Every field of a freeze that cannot be used, with why — all of them, so a form can show each beside its field.</summary>
    public static Dictionary<string, string> FreezeProblems(FreezeInput input, DateTime nowUtc)
    {
        ArgumentNullException.ThrowIfNull(input);
        var problems = new Dictionary<string, string>(StringComparer.Ordinal);
        if (AuditReason.Problem(input.Reason) is { } reason)
        {
            problems["reason"] = reason;
        }
        if (input.Starts is null)
        {
            problems["starts"] = "give the freeze a start (such as 2026-12-20T00:00:00+01:00)";
        }
        if (input.Ends is not { } ends)
        {
            problems["ends"] = "give the freeze an end (such as 2027-01-04T00:00:00+01:00)";
        }
        else if (input.Starts is { } starts && ends <= starts)
        {
            problems["ends"] = "the freeze must end after it starts";
        }
        else if (ends.UtcDateTime <= nowUtc)
        {
            problems["ends"] = $"the freeze would end at {ends.UtcDateTime:u}, which has passed";
        }
        else if (input.Starts is { } from && ends - from > TimeSpan.FromDays(366))
        {
            problems["ends"] = "a freeze lasts at most a year";
        }
        if (DeliveryScope.Parse(input.Scope, window: false, out var scope) is null)
        {
            problems["scope"] = scope!;
        }
        return problems;
    }

    /// <summary>Scheduled updates are looked at again at once: a window or freeze changed.</summary>
    private async Task RescheduleAsync(CancellationToken ct)
    {
        Forget();
        var count = await approvals.RescheduleAsync(ct);
        if (count > 0)
        {
            LogRescheduled(count);
        }
    }

    private (IReadOnlyList<WindowDefinition> Windows, IReadOnlyList<FreezeDefinition> Freezes) Configured()
    {
        if (configured is { } known)
        {
            return known;
        }
        // Start-up refused any window or freeze that cannot be read, and a repeated window name
        // (DeliveryOptionsValidation runs before options.Value is handed out), so every one reads here.
        var result = (
            (IReadOnlyList<WindowDefinition>)options.Value.Windows.Select(c => Read(c, out var problem) ?? throw new InvalidOperationException(problem)).ToList(),
            (IReadOnlyList<FreezeDefinition>)options.Value.Freezes.Select(c => Read(c, out var problem) ?? throw new InvalidOperationException(problem)).ToList());
        configured = result;
        return result;
    }

    /// <summary>A window from configuration (<c>Delivery:Windows</c>), or null and why it cannot be read.</summary>
    internal static WindowDefinition? Read(ConfiguredWindow c, out string? problem)
    {
        problem = null;
        var rule = IsWindowName(c.Name?.Trim()) ? WindowRule.Parse(c.Days, c.Hours, c.TimeZone, out problem) : null;
        var scope = rule is null ? null : DeliveryScope.Parse(c.Scope, window: true, out problem);
        if (rule is null || scope is null)
        {
            problem ??= "Name must be lower-case letters, digits and dashes (up to 63)";
            return null;
        }
        return new WindowDefinition(c.Name!.Trim(), rule, scope, FromConfiguration, null, null);
    }

    /// <summary>A freeze from configuration (<c>Delivery:Freezes</c>), or null and why it cannot be read.</summary>
    internal static FreezeDefinition? Read(ConfiguredFreeze c, out string? problem)
    {
        problem = string.IsNullOrWhiteSpace(c.Reason) ? "say why (Reason)" : c.Starts is null || c.Ends is null || c.Ends <= c.Starts ? "give Starts and Ends, Ends after Starts" : null;
        var scope = problem is null ? DeliveryScope.Parse(c.Scope, window: false, out problem) : null;
        return scope is null ? null : new FreezeDefinition(null, c.Reason!.Trim(), c.Starts!.Value.UtcDateTime, c.Ends!.Value.UtcDateTime, scope, FromConfiguration, null);
    }

    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> unreadableReported = new(StringComparer.Ordinal);

    /// <summary>
    /// A stored window as a definition. One that cannot be read here is kept, with its problem, so that the updates it
    /// covers wait and the console shows it (it was checked when it was saved; a machine without that time zone, or a
    /// row changed by hand, can still make it unreadable). Its problem is logged once per process.
    /// </summary>
    private WindowDefinition FromRow(ChangeWindow row)
    {
        var scope = DeliveryScope.Parse(row.Scope, window: true, out var scopeError);
        if (WindowRule.Parse(row.Days, row.Hours, row.TimeZone, out var error) is { } rule && scope is not null)
        {
            return new WindowDefinition(row.Name, rule, scope, FromConsole, row.CreatedBy, row.CreatedAtUtc);
        }
        var problem = error ?? scopeError ?? "unreadable";
        if (!unreadableReported.TryGetValue(row.Name, out var reported) || reported != problem)
        {
            unreadableReported[row.Name] = problem;
            LogUnreadableWindow(row.Name, problem);
        }
        // An unreadable scope covers everything: waiting too much is safe, going outside a window is not.
        return WindowDefinition.Unreadable(row.Name, scope ?? DeliveryScope.Global, FromConsole, row.CreatedBy, row.CreatedAtUtc, problem);
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "The change window {Window} cannot be read ({Problem}); the updates it covers wait until it is fixed or deleted")]
    private partial void LogUnreadableWindow(string window, string problem);

    [LoggerMessage(Level = LogLevel.Information, Message = "Windows or freezes changed; {Count} scheduled update(s) will be looked at again")]
    private partial void LogRescheduled(int count);
}

/// <summary>Written when a window or freeze is added, changed or removed: pages refresh.</summary>
public sealed record DeliveryChanged;

/// <summary>
/// Start-up refuses a window or freeze in configuration that cannot be read, naming its key: left out, it would let the
/// updates it was meant to hold back go out at any time.
/// </summary>
public sealed class DeliveryOptionsValidation : Microsoft.Extensions.Options.IValidateOptions<DeliveryOptions>
{
    public Microsoft.Extensions.Options.ValidateOptionsResult Validate(string? name, DeliveryOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        var names = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < options.Windows.Count; i++)
        {
            if (DeliverySchedule.Read(options.Windows[i], out var problem) is not { } window)
            {
                failures.Add($"Delivery:Windows:{i} cannot be read: {problem}");
            }
            else if (!names.Add(window.Name))
            {
                failures.Add($"Delivery:Windows:{i} repeats the name {window.Name}");
            }
        }
        for (var i = 0; i < options.Freezes.Count; i++)
        {
            if (DeliverySchedule.Read(options.Freezes[i], out var problem) is null)
            {
                failures.Add($"Delivery:Freezes:{i} cannot be read: {problem}");
            }
        }
        return failures.Count == 0 ? Microsoft.Extensions.Options.ValidateOptionsResult.Success : Microsoft.Extensions.Options.ValidateOptionsResult.Fail(failures);
    }
}
