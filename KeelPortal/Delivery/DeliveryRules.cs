using KeelPortal.Workloads;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace KeelPortal.Delivery;

/// <summary>
/// A named change window: updates are applied only while it is open. <see cref="Scope"/> says where it applies:
/// <c>global</c>, <c>namespace:&lt;name&gt;</c>, or <c>named</c> (only on workloads whose <c>keel.sh/windows</c> names it).
/// </summary>
public sealed class ChangeWindow
{
    public required string Name { get; set; }
    public required string Days { get; set; }
    public required string Hours { get; set; }
    public required string TimeZone { get; set; }
    public required string Scope { get; set; }
    public required string CreatedBy { get; set; }
    public DateTime CreatedAtUtc { get; set; }
}

/// <summary>
/// A freeze: nothing is applied from <see cref="StartsAtUtc"/> until <see cref="EndsAtUtc"/> where <see cref="Scope"/> says
/// (<c>global</c>, <c>namespace:&lt;name&gt;</c> or a workload identifier); proposals still collect votes.
/// </summary>
public sealed class Freeze
{
    public long Id { get; set; }
    public required string Reason { get; set; }
    public DateTime StartsAtUtc { get; set; }
    public DateTime EndsAtUtc { get; set; }
    public required string Scope { get; set; }
    public required string CreatedBy { get; set; }
    public DateTime CreatedAtUtc { get; set; }
}

internal sealed class ChangeWindowConfiguration : IEntityTypeConfiguration<ChangeWindow>
{
    public void Configure(EntityTypeBuilder<ChangeWindow> builder)
    {
        builder.ToTable("ChangeWindows");
        builder.HasKey(w => w.Name);
        builder.Property(w => w.Name).HasMaxLength(63);
        builder.Property(w => w.Days).HasMaxLength(100);
        builder.Property(w => w.Hours).HasMaxLength(20);
        builder.Property(w => w.TimeZone).HasMaxLength(100);
        builder.Property(w => w.Scope).HasMaxLength(300);
        builder.Property(w => w.CreatedBy).HasMaxLength(256);
    }
}

internal sealed class FreezeConfiguration : IEntityTypeConfiguration<Freeze>
{
    public void Configure(EntityTypeBuilder<Freeze> builder)
    {
        builder.ToTable("Freezes");
        builder.Property(f => f.Reason).HasMaxLength(500);
        builder.Property(f => f.Scope).HasMaxLength(600);
        builder.Property(f => f.CreatedBy).HasMaxLength(256);
        builder.HasIndex(f => f.EndsAtUtc);
    }
}

/// <summary>Where a window or freeze applies.</summary>
public sealed partial record DeliveryScope(DeliveryScopeKind Kind, string? Value)
{
    public static readonly DeliveryScope Global = new(DeliveryScopeKind.Global, null);
    public static readonly DeliveryScope Named = new(DeliveryScopeKind.Named, null);

    /// <summary><c>global</c>, <c>namespace:shop</c>, <c>named</c> (windows) or a workload identifier (freezes).</summary>
    public static DeliveryScope? Parse(string? text, bool window, out string? error)
    {
        error = null;
        var value = text?.Trim() ?? "";
        if (value.Length == 0 || value.Equals("global", StringComparison.OrdinalIgnoreCase))
        {
            return Global;
        }
        if (window && value.Equals("named", StringComparison.OrdinalIgnoreCase))
        {
            return Named;
        }
        if (value.StartsWith("namespace:", StringComparison.OrdinalIgnoreCase))
        {
            var ns = value["namespace:".Length..].Trim();
            if (IsLabel(ns))
            {
                return new(DeliveryScopeKind.Namespace, ns);
            }
            error = $"'{WindowRule.Shown(ns)}' is not a Kubernetes namespace name";
            return null;
        }
        if (!window && WorkloadId.TryParse(value, out _, out _, out _) && value.Length <= 600)
        {
            return new(DeliveryScopeKind.Workload, value);
        }
        error = window
            ? $"'{WindowRule.Shown(value)}' is not a scope: say global, namespace:<name>, or named (only workloads whose keel.sh/windows names it)"
            : $"'{WindowRule.Shown(value)}' is not a scope: say global, namespace:<name>, or a workload such as deployment/shop/web";
        return null;
    }

    public bool Covers(string workloadId, string? ns) => Kind switch
    {
        DeliveryScopeKind.Global => true,
        DeliveryScopeKind.Namespace => string.Equals(Value, ns, StringComparison.Ordinal),
        DeliveryScopeKind.Workload => string.Equals(Value, workloadId, StringComparison.Ordinal),
        _ => false,
    };

    public override string ToString() => Kind switch
    {
        DeliveryScopeKind.Global => "global",
        DeliveryScopeKind.Named => "named",
        DeliveryScopeKind.Namespace => $"namespace:{Value}",
        _ => Value!,
    };

    /// <summary>A DNS label (RFC 1123): what Kubernetes namespaces, and window names, are.</summary>
    public static bool IsLabel(string? text) => WorkloadId.IsDnsLabel(text);
}

public enum DeliveryScopeKind { Global, Namespace, Workload, Named }

/// <summary>
/// A window ready to use: its name, rule, scope, and where it was defined (the console or configuration). A stored
/// window this replica cannot read (a time zone its machine does not know, a row changed by hand) carries the
/// <see cref="Problem"/> instead of a usable rule: the updates it covers wait rather than go at any time.
/// </summary>
public sealed record WindowDefinition(string Name, WindowRule Rule, DeliveryScope Scope, string Source, string? CreatedBy, DateTime? CreatedAtUtc, string? Problem = null)
{
    /// <summary>A stored window that cannot be read here: <paramref name="problem"/> says why. Its rule is never looked at.</summary>
    public static WindowDefinition Unreadable(string name, DeliveryScope scope, string source, string? createdBy, DateTime? createdAtUtc, string problem) =>
        new(name, WindowRule.Parse("daily", "00:00-24:00", "UTC", out _)!, scope, source, createdBy, createdAtUtc, problem);
}

/// <summary>A freeze ready to use.</summary>
public sealed record FreezeDefinition(long? Id, string Reason, DateTime StartsAtUtc, DateTime EndsAtUtc, DeliveryScope Scope, string Source, string? CreatedBy);

/// <summary>When an update may be applied: <see cref="AtUtc"/> is now when nothing stands in the way, else why not sooner.</summary>
public sealed record DeliveryVerdict(DateTime AtUtc, string? Reason, IReadOnlyList<string> Windows)
{
    public bool Now => Reason is null;
}

/// <summary>
/// The one rule of when an update may be applied. Windows: the ones a workload names (<c>keel.sh/windows</c>), else
/// its namespace's, else the global ones; any one of them open is enough; none at all means any time. Freezes: every
/// freeze covering the workload (global, its namespace, the workload) blocks until it ends.
/// </summary>
public static class DeliveryRules
{
    public static IReadOnlyList<WindowDefinition> WindowsFor(string workloadId, IReadOnlyList<string> named, IReadOnlyList<WindowDefinition> all)
    {
        if (named.Count > 0)
        {
            var chosen = all.Where(w => named.Contains(w.Name, StringComparer.Ordinal)).ToList();
            if (chosen.Count > 0)
            {
                return chosen;
            }
        }
        var ns = NamespaceOf(workloadId);
        var inNamespace = all.Where(w => w.Scope.Kind == DeliveryScopeKind.Namespace && w.Scope.Value == ns).ToList();
        return inNamespace.Count > 0 ? inNamespace : all.Where(w => w.Scope.Kind == DeliveryScopeKind.Global).ToList();
    }

    /// <summary>How long an update covered by a window that cannot be read waits before it is looked at again (a fix looks at once).</summary>
    public static readonly TimeSpan UnreadableWindowRecheck = TimeSpan.FromMinutes(15);

    public static DeliveryVerdict When(DateTime nowUtc, string workloadId, IReadOnlyList<WindowDefinition> windows, IReadOnlyList<FreezeDefinition> allFreezes)
    {
        if (windows.FirstOrDefault(w => w.Problem is not null) is { } unreadable)
        {
            // Not knowing when the window is open is never "open": the update waits until the window is fixed or deleted.
            return new DeliveryVerdict(nowUtc + UnreadableWindowRecheck,
                $"the change window {unreadable.Name} cannot be read ({unreadable.Problem}); the updates it covers wait until it is fixed or deleted",
                windows.Select(w => w.Name).ToList());
        }
        var ns = NamespaceOf(workloadId);
        var freezes = allFreezes.Where(f => f.Scope.Covers(workloadId, ns) && f.EndsAtUtc > nowUtc).ToList();
        var at = nowUtc;
        string? reason = null;
        // Each step moves the time forward to a freeze's end or a window's opening; a few dozen always settle it.
        for (var step = 0; step < 64; step++)
        {
            var frozen = freezes.Where(f => f.StartsAtUtc <= at && at < f.EndsAtUtc).MaxBy(f => f.EndsAtUtc);
            if (frozen is not null)
            {
                reason ??= $"frozen until {frozen.EndsAtUtc:yyyy-MM-dd HH:mm}Z: {frozen.Reason}";
                at = frozen.EndsAtUtc;
                continue;
            }
            if (windows.Count == 0)
            {
                break;
            }
            var openings = windows.Select(w => (Window: w, Opening: w.Rule.OpeningAtOrAfter(at))).ToList();
            if (openings.Any(o => o.Opening.OpensUtc <= at))
            {
                break;
            }
            var next = openings.MinBy(o => o.Opening.OpensUtc);
            reason ??= $"outside the change window{(windows.Count > 1 ? "s" : "")} {string.Join(", ", windows.Select(w => $"{w.Name} ({w.Rule})"))}";
            at = next.Opening.OpensUtc;
        }
        return new DeliveryVerdict(at, reason, windows.Select(w => w.Name).ToList());
    }

    public static string? NamespaceOf(string workloadId) => WorkloadId.TryParse(workloadId, out _, out var ns, out _) ? ns : null;
}
