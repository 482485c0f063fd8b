using System.Globalization;
using System.Text.RegularExpressions;
using KeelPortal.Policies;

namespace KeelPortal.Workloads;

public enum TriggerKind { Webhook, Poll }

/// <summary>
/// A workload's Keel settings, read from its labels and annotations with Keel's precedence per key (legacy keys
/// included). Every problem is kept in <see cref="Errors"/> with the key it belongs to; a workload is never dropped.
/// </summary>
public sealed record KeelSettings(
    UpdatePolicy Policy,
    TriggerKind Trigger,
    string? PollSchedule,
    int ApprovalsRequired,
    TimeSpan ApprovalDeadline,
    string? MonitorContainers,
    bool InitContainers,
    string? ImagePullSecret,
    IReadOnlyList<string> NotifyChannels,
    string? ReleaseNotes,
    IReadOnlyList<string> Errors,
    IReadOnlyList<string> Warnings)
{
    public static readonly TimeSpan DefaultDeadline = TimeSpan.FromHours(24);

    /// <summary>The longest value of a <c>keel.sh/*</c> key that is read; longer ones are a settings error and ignored.</summary>
    public const int MaxValueLength = 2048;

    /// <summary>The policy key's value exactly as written (an invalid one included); null when no policy key is set.</summary>
    public string? PolicyWritten { get; init; }

    /// <summary>The approvals key's value exactly as written (<c>two</c> stays <c>two</c>); null when not set.</summary>
    public string? ApprovalsWritten { get; init; }

    /// <summary>How long a rollout may take before an automatic rollback (<c>keel.sh/rollbackAfter</c>) when none is set.</summary>
    public static readonly TimeSpan DefaultRollbackAfter = TimeSpan.FromMinutes(10);

    /// <summary>KeelPortal's <c>keel.sh/rollback: auto</c>: a failed rollout the portal started is rolled back without votes.</summary>
    public bool RollbackAuto { get; init; }

    /// <summary>KeelPortal's <c>keel.sh/rollbackAfter</c> (a Go duration such as <c>10m</c>): with automatic rollback, a rollout not done by then has failed.</summary>
    public TimeSpan RollbackAfter { get; init; } = DefaultRollbackAfter;

    /// <summary>KeelPortal's <c>keel.sh/windows</c>: the change windows (defined in the console or configuration) its updates wait for.</summary>
    public IReadOnlyList<string> Windows { get; init; } = [];

    /// <summary>
    /// How <c>force</c> + <c>matchTag</c> applies a tag's new digest (<c>keel.sh/forceUpdate</c>): <c>pin</c> writes
    /// <c>repo:tag@sha256:…</c>; <c>restart</c> keeps <c>repo:tag</c> and rolls the pods, as Keel does. Null: the global
    /// setting (<c>Workloads:ForceUpdate</c>).
    /// </summary>
    public string? ForceUpdate { get; init; }

    /// <summary>The two ways <see cref="ForceUpdate"/> may take.</summary>
    public static readonly IReadOnlyList<string> ForceUpdates = ["pin", "restart"];

    /// <summary>Tracked: a known policy other than <c>never</c> and no error that stops updates.</summary>
    public bool IsTracked => Policy.IsTracked && Errors.Count == 0;

    public static KeelSettings Read(IReadOnlyDictionary<string, string>? labels, IReadOnlyDictionary<string, string>? annotations)
    {
        var errors = new List<string>();
        labels = WithoutOversized(labels, errors);
        annotations = WithoutOversized(annotations, errors);

        // The policy comes from annotations first, else labels; matchTag and matchPreRelease from the same map.
        var policySource = new[] { annotations, labels }.FirstOrDefault(m => Value(m, "keel.sh/policy", "keel.observer/policy") is not null);
        var policyText = policySource is null ? null : Value(policySource, "keel.sh/policy", "keel.observer/policy");
        var parsed = UpdatePolicy.Parse(policyText,
            policySource is null ? null : Value(policySource, "keel.sh/matchTag", "keel.sh/match-tag"),
            policySource is null ? null : Value(policySource, "keel.sh/matchPreRelease"));
        if (parsed.Error is { } policyError)
        {
            errors.Add($"keel.sh/policy: {policyError}");
        }

        var trigger = Value(annotations, "keel.sh/trigger") ?? Value(labels, "keel.sh/trigger");
        var approvalsText = LabelFirst(labels, annotations, "keel.sh/approvals");
        var approvals = ReadApprovals(approvalsText, errors);
        var deadline = ReadDeadline(LabelFirst(labels, annotations, "keel.sh/approvalDeadline"), errors);
        var monitor = LabelFirst(labels, annotations, "keel.sh/monitorContainers");
        if (monitor is not null && !UntrustedPattern.TryCompile(monitor, out _, out var regexError))
        {
            errors.Add($"keel.sh/monitorContainers: '{Shown(monitor)}' is not a usable regular expression ({regexError})");
        }
        var warnings = parsed.Warnings.ToList();
        var schedule = Value(annotations, "keel.sh/pollSchedule");
        if (!string.IsNullOrWhiteSpace(schedule) && !Workloads.PollSchedule.TryParse(schedule.Trim(), out _, out var scheduleError))
        {
            warnings.Add($"keel.sh/pollSchedule: '{schedule}' is not a valid schedule ({scheduleError}); the default schedule applies");
        }
        var (rollbackAuto, rollbackAfter) = ReadRollback(labels, annotations, warnings);
        var windows = ReadWindows(Value(annotations, "keel.sh/windows") ?? Value(labels, "keel.sh/windows"), warnings);
        var forceUpdate = ReadForceUpdate(Value(annotations, "keel.sh/forceUpdate") ?? Value(labels, "keel.sh/forceUpdate"), warnings);
        var notify = (Value(annotations, "keel.sh/notify") ?? "")
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);

        return new KeelSettings(
            parsed.Policy,
            string.Equals(trigger?.Trim(), "poll", StringComparison.OrdinalIgnoreCase) ? TriggerKind.Poll : TriggerKind.Webhook,
            schedule,
            approvals,
            deadline,
            monitor,
            string.Equals(LabelFirst(labels, annotations, "keel.sh/initContainers")?.Trim(), "true", StringComparison.OrdinalIgnoreCase),
            LabelFirst(labels, annotations, "keel.sh/imagePullSecret"),
            notify,
            Value(annotations, "keel.sh/releaseNotes"),
            errors,
            warnings)
        {
            PolicyWritten = policyText,
            ApprovalsWritten = approvalsText,
            RollbackAuto = rollbackAuto,
            RollbackAfter = rollbackAfter,
            Windows = windows,
            ForceUpdate = forceUpdate,
        };
    }

    /// <summary><c>pin</c> or <c>restart</c>; anything else is a warning and the global setting applies.</summary>
    private static string? ReadForceUpdate(string? text, List<string> warnings)
    {
        var mode = text?.Trim().ToLowerInvariant();
        if (mode is null || ForceUpdates.Contains(mode))
        {
            return mode;
        }
        warnings.Add($"keel.sh/forceUpdate: '{Shown(mode)}' is neither pin nor restart; the global setting applies");
        return null;
    }

    /// <summary>Change window names, comma-separated; a name that cannot be one is a warning and left out.</summary>
    private static List<string> ReadWindows(string? text, List<string> warnings)
    {
        var names = new List<string>();
        foreach (var name in (text ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!WorkloadId.IsDnsLabel(name))
            {
                warnings.Add($"keel.sh/windows: '{Shown(name)}' is not a window name (lower-case letters, digits and dashes, up to 63)");
            }
            else if (!names.Contains(name) && names.Count < 10)
            {
                names.Add(name);
            }
        }
        return names;
    }

    /// <summary>
    /// Only the automatic-rollback keys, for the rollout tracker, which asks every second per rollout in progress and
    /// needs neither the policy nor the container pattern the full <see cref="Read"/> parses.
    /// </summary>
    public static (bool Auto, TimeSpan After) RollbackOf(IReadOnlyDictionary<string, string>? labels, IReadOnlyDictionary<string, string>? annotations) =>
        ReadRollback(WithoutOversized(labels, []), WithoutOversized(annotations, []), []);

    /// <summary>Automatic rollback is off unless the key says <c>auto</c>; a value that means nothing is a warning, never an error.</summary>
    private static (bool Auto, TimeSpan After) ReadRollback(
        IReadOnlyDictionary<string, string> labels, IReadOnlyDictionary<string, string> annotations, List<string> warnings)
    {
        var mode = Value(annotations, "keel.sh/rollback") ?? Value(labels, "keel.sh/rollback");
        var after = Value(annotations, "keel.sh/rollbackAfter") ?? Value(labels, "keel.sh/rollbackAfter");
        var auto = string.Equals(mode?.Trim(), "auto", StringComparison.OrdinalIgnoreCase);
        if (!auto && mode is not null && !string.IsNullOrWhiteSpace(mode) && !string.Equals(mode.Trim(), "off", StringComparison.OrdinalIgnoreCase))
        {
            warnings.Add($"keel.sh/rollback: '{Shown(mode)}' is neither auto nor off; automatic rollback stays off");
        }
        var wait = DefaultRollbackAfter;
        if (!string.IsNullOrWhiteSpace(after))
        {
            if (Workloads.PollSchedule.TryGoDuration(after.Trim(), out var parsed) && parsed >= TimeSpan.FromSeconds(1) && parsed <= TimeSpan.FromHours(24))
            {
                wait = parsed;
            }
            else
            {
                warnings.Add($"keel.sh/rollbackAfter: '{Shown(after)}' is not a duration between 1s and 24h (such as 10m or 90s); {DefaultRollbackAfter.TotalMinutes:0}m applies");
            }
        }
        return (auto, wait);
    }

    /// <summary>
    /// Whether a container is tracked: <c>monitorContainers</c> is matched unanchored, as Keel does. Throws
    /// <see cref="RegexMatchTimeoutException"/> when the match exceeds its budget; the caller reports it on the workload.
    /// </summary>
    public bool Monitors(string containerName, bool isInit)
    {
        if (isInit && !InitContainers)
        {
            return false;
        }
        return MonitorContainers is null || (UntrustedPattern.TryCompile(MonitorContainers, out var regex, out _) && regex.IsMatch(containerName));
    }

    /// <summary>A value as an error message quotes it: long ones are cut.</summary>
    internal static string Shown(string value) => value.Length > 80 ? value[..80] + "…" : value;

    private static IReadOnlyDictionary<string, string> WithoutOversized(IReadOnlyDictionary<string, string>? map, List<string> errors)
    {
        if (map is null)
        {
            return new Dictionary<string, string>();
        }
        var oversized = map.Where(kv => IsKeelKey(kv.Key) && kv.Value.Length > MaxValueLength).Select(kv => kv.Key).ToList();
        if (oversized.Count == 0)
        {
            return map;
        }
        errors.AddRange(oversized.Select(k => $"{k}: the value is {map[k].Length} characters long; the limit is {MaxValueLength}, so it is not read"));
        return map.Where(kv => !oversized.Contains(kv.Key)).ToDictionary(kv => kv.Key, kv => kv.Value, StringComparer.Ordinal);
    }

    internal static bool IsKeelKey(string key) =>
        key.StartsWith("keel.sh/", StringComparison.Ordinal) || key.StartsWith("keel.observer/", StringComparison.Ordinal);

    private static string? Value(IReadOnlyDictionary<string, string> map, params string[] keys)
    {
        foreach (var key in keys)
        {
            if (map.TryGetValue(key, out var value))
            {
                return value;
            }
        }
        return null;
    }

    private static string? LabelFirst(IReadOnlyDictionary<string, string> labels, IReadOnlyDictionary<string, string> annotations, string key) =>
        Value(labels, key) ?? Value(annotations, key);

    private static int ReadApprovals(string? text, List<string> errors)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return 0;
        }
        if (int.TryParse(text.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var votes))
        {
            return votes;
        }
        errors.Add($"keel.sh/approvals: '{Shown(text)}' is not a whole number of votes; no update is made until it is fixed");
        return 0;
    }

    private static TimeSpan ReadDeadline(string? text, List<string> errors)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return DefaultDeadline;
        }
        if (int.TryParse(text.Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var hours) && hours > 0)
        {
            return TimeSpan.FromHours(hours);
        }
        errors.Add($"keel.sh/approvalDeadline: '{Shown(text)}' is not a whole number of hours; no update is made until it is fixed");
        return DefaultDeadline;
    }
}
