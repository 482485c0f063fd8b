using System.Globalization;
using KeelPortal.Policies;

namespace KeelPortal.Workloads;

/// <summary>The settings form's fields: each a choice or a number, never free text where a list will do.</summary>
/// <remarks>
/// <see cref="Approvals"/> and <see cref="DeadlineHours"/> are null when the workload's value cannot be read (such as
/// <c>keel.sh/approvals: two</c>): the field starts empty rather than at a number nobody chose, and saving leaves that
/// key as it is until someone enters a value.
/// </remarks>
public sealed record SettingsDraft(
    string Policy, string Pattern, bool MatchTag, int? Approvals, int? DeadlineHours, string Trigger, string Schedule,
    bool RollbackAuto = false, string RollbackAfter = "")
{
    public static IReadOnlyList<string> Policies { get; } = ["all", "major", "minor", "patch", "force", "glob", "regexp"];

    public bool NeedsPattern => Policy is "glob" or "regexp";

    /// <summary>The form as the workload's keys set it now (a paused or broken policy starts from <c>minor</c>).</summary>
    public static SettingsDraft Of(WorkloadObject workload)
    {
        var settings = KeelSettings.Read(workload.Labels, workload.Annotations);
        var kind = settings.Policy.Kind;
        return new SettingsDraft(
            kind == PolicyKind.Never ? "minor" : kind.ToString().ToLowerInvariant(),
            settings.Policy.Pattern,
            settings.Policy.MatchTag,
            Problem(settings, "keel.sh/approvals") is null ? settings.ApprovalsRequired : null,
            Problem(settings, "keel.sh/approvalDeadline") is null ? (int)settings.ApprovalDeadline.TotalHours : null,
            settings.Trigger == TriggerKind.Poll ? "poll" : "webhook",
            settings.PollSchedule ?? "",
            settings.RollbackAuto,
            SettingsChanges.Written(workload, "keel.sh/rollbackAfter") ?? "");
    }

    /// <summary>The problem with a key's stored value when it cannot be read (null: it can, or it is not set).</summary>
    public static string? ProblemOf(WorkloadObject workload, string key)
    {
        ArgumentNullException.ThrowIfNull(workload);
        return Problem(KeelSettings.Read(workload.Labels, workload.Annotations), key);
    }

    private static string? Problem(KeelSettings settings, string key) => settings.Errors.FirstOrDefault(e => e.StartsWith(key + ":", StringComparison.Ordinal));
}

/// <summary>One key the form will write: its value now (null: not set) and after (null: removed).</summary>
public sealed record KeyChange(string Key, string? Before, string? After);

/// <summary>What saving a draft writes, and every reason it may not: the same messages the annotations would get.</summary>
public sealed record SettingsPlan(IReadOnlyList<KeyChange> Changes, IReadOnlyList<string> Errors)
{
    /// <summary>The keys to patch (null removes a key).</summary>
    public IReadOnlyDictionary<string, string?> Keys => Changes.ToDictionary(c => c.Key, c => c.After, StringComparer.Ordinal);
}

/// <summary>
/// Turns a settings draft into the <c>keel.sh/*</c> keys it changes, and checks the result by reading it back exactly
/// as the watcher reads a workload's keys, so the form cannot save what the annotations would refuse.
/// </summary>
public static class SettingsChanges
{
    public static SettingsPlan Plan(WorkloadObject workload, SettingsDraft draft)
    {
        var policy = draft.NeedsPattern ? $"{draft.Policy}:{draft.Pattern.Trim()}" : draft.Policy;
        var wanted = new List<(string Key, string? Value, string? Default)>
        {
            ("keel.sh/policy", policy, null),
            ("keel.sh/matchTag", draft.MatchTag ? "true" : null, null),
            ("keel.sh/approvals", Number(draft.Approvals), "0"),
            ("keel.sh/approvalDeadline", Number(draft.DeadlineHours), Number((int)KeelSettings.DefaultDeadline.TotalHours)),
            ("keel.sh/trigger", draft.Trigger == "poll" ? "poll" : null, "webhook"),
            ("keel.sh/pollSchedule", draft.Trigger == "poll" && draft.Schedule.Trim().Length > 0 ? draft.Schedule.Trim() : null, null),
            ("keel.sh/rollback", draft.RollbackAuto ? "auto" : null, null),
            ("keel.sh/rollbackAfter", draft.RollbackAuto && draft.RollbackAfter.Trim().Length > 0 ? draft.RollbackAfter.Trim() : null, null),
        };
        var changes = new List<KeyChange>();
        foreach (var (key, value, fallback) in wanted)
        {
            if (value is null && key is "keel.sh/approvals" or "keel.sh/approvalDeadline")
            {
                continue; // Its stored value cannot be read and nobody entered one: left as it is.
            }
            var before = Written(workload, key);
            if (string.Equals((before ?? fallback)?.Trim(), value ?? fallback, StringComparison.Ordinal))
            {
                continue;
            }
            // Back to the default: a key that is set is given the default's value (or removed when there is none).
            changes.Add(new KeyChange(key, before, value ?? fallback));
        }
        var errors = new List<string>();
        if (draft.Approvals is < 0 or > 100)
        {
            errors.Add("keel.sh/approvals: from 0 to 100 votes");
        }
        if (draft.DeadlineHours is < 1 or > 24 * 365)
        {
            errors.Add("keel.sh/approvalDeadline: from 1 hour to a year (8760 hours)");
        }
        var (labels, annotations) = Applied(workload, changes);
        var read = KeelSettings.Read(labels, annotations);
        errors.AddRange(read.Errors.Concat(read.Warnings).Where(m => changes.Any(c => m.StartsWith(c.Key + ":", StringComparison.Ordinal))));
        if (draft.Trigger == "poll" && draft.Schedule.Trim().Length > 0 && !PollSchedule.TryParse(draft.Schedule.Trim(), out _, out var scheduleError)
            && !errors.Any(e => e.StartsWith("keel.sh/pollSchedule", StringComparison.Ordinal)))
        {
            errors.Add($"keel.sh/pollSchedule: '{draft.Schedule.Trim()}' is not a valid schedule ({scheduleError})");
        }
        return new SettingsPlan(changes, errors);
    }

    /// <summary>The form field that sets the key an error is about (null: none of them), such as <c>pattern</c> for a bad regular expression.</summary>
    public static string? FieldOf(string error, SettingsDraft draft)
    {
        ArgumentNullException.ThrowIfNull(error);
        ArgumentNullException.ThrowIfNull(draft);
        var key = error.Split(':', 2)[0].Trim();
        return key switch
        {
            "keel.sh/policy" => draft.NeedsPattern ? "pattern" : "policy",
            "keel.sh/approvals" => "approvals",
            "keel.sh/approvalDeadline" => "deadline",
            "keel.sh/trigger" => "trigger",
            "keel.sh/pollSchedule" => draft.Trigger == "poll" ? "schedule" : "trigger",
            "keel.sh/rollbackAfter" => draft.RollbackAuto ? "rollbackAfter" : null,
            _ => null,
        };
    }

    /// <summary>An error without the key it starts with, for showing beside the key's field.</summary>
    public static string WithoutKey(string error) =>
        error is null ? "" : error.StartsWith("keel.sh/", StringComparison.Ordinal) && error.IndexOf(':', StringComparison.Ordinal) is > 0 and var at ? error[(at + 1)..].Trim() : error;

    /// <summary>The value of a key where Keel reads it first: policy and its companions from annotations, the rest from labels.</summary>
    public static string? Written(WorkloadObject workload, string key) => AnnotationFirst(key)
        ? workload.Annotations.GetValueOrDefault(key) ?? workload.Labels.GetValueOrDefault(key)
        : workload.Labels.GetValueOrDefault(key) ?? workload.Annotations.GetValueOrDefault(key);

    /// <summary>Where the editor writes a key: into the labels only when Keel reads that key from labels first and it is there.</summary>
    public static bool WritesToLabels(WorkloadObject workload, string key) => !AnnotationFirst(key) && workload.Labels.ContainsKey(key);

    private static bool AnnotationFirst(string key) =>
        key is "keel.sh/policy" or "keel.sh/matchTag" or "keel.sh/matchPreRelease" or "keel.sh/trigger" or "keel.sh/pollSchedule"
            or "keel.sh/rollback" or "keel.sh/rollbackAfter";

    private static (Dictionary<string, string> Labels, Dictionary<string, string> Annotations) Applied(WorkloadObject workload, IEnumerable<KeyChange> changes)
    {
        var labels = new Dictionary<string, string>(workload.Labels, StringComparer.Ordinal);
        var annotations = new Dictionary<string, string>(workload.Annotations, StringComparer.Ordinal);
        foreach (var change in changes)
        {
            var map = WritesToLabels(workload, change.Key) ? labels : annotations;
            if (change.After is null)
            {
                map.Remove(change.Key);
            }
            else
            {
                map[change.Key] = change.After;
            }
        }
        return (labels, annotations);
    }

    private static string? Number(int? value) => value?.ToString(CultureInfo.InvariantCulture);
}
