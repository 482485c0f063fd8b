using k8s.Models;
using KeelPortal.Workloads;

namespace KeelPortal.Tests.Workloads;

/// <summary>The settings form writes only what changed, where Keel reads it, and refuses what the annotations would refuse.</summary>
public sealed class SettingsChangesTests
{
    private static WorkloadObject Workload(Dictionary<string, string>? labels = null, Dictionary<string, string>? annotations = null) => new(
        WorkloadKind.Deployment, "shop", "web", "7", 1, labels ?? [], annotations ?? [], new V1PodTemplateSpec(), new Dictionary<string, string>(),
        new RolloutStatus(1, 1, 1, 1, 1, 1, null, null, null, null));

    [Fact]
    public void An_unchanged_form_writes_nothing()
    {
        var workload = Workload(labels: new() { ["keel.sh/approvals"] = "2" }, annotations: new() { ["keel.sh/policy"] = "minor" });

        var plan = SettingsChanges.Plan(workload, SettingsDraft.Of(workload));

        Assert.Empty(plan.Changes);
        Assert.Empty(plan.Errors);
    }

    [Fact]
    public void Each_changed_key_is_listed_before_and_after_and_written_where_keel_reads_it()
    {
        var workload = Workload(labels: new() { ["keel.sh/approvals"] = "2", ["keel.sh/policy"] = "patch" });
        var draft = SettingsDraft.Of(workload) with { Policy = "glob", Pattern = "1.*", Approvals = 3, Trigger = "poll", Schedule = "@every 10m" };

        var plan = SettingsChanges.Plan(workload, draft);

        Assert.Empty(plan.Errors);
        Assert.Equal(
            [new KeyChange("keel.sh/policy", "patch", "glob:1.*"), new KeyChange("keel.sh/approvals", "2", "3"),
             new KeyChange("keel.sh/trigger", null, "poll"), new KeyChange("keel.sh/pollSchedule", null, "@every 10m")],
            plan.Changes);
        Assert.True(SettingsChanges.WritesToLabels(workload, "keel.sh/approvals"));
        Assert.False(SettingsChanges.WritesToLabels(workload, "keel.sh/policy"));
    }

    [Fact]
    public void A_stored_value_that_cannot_be_read_starts_empty_is_left_as_it_is_by_a_save_of_other_fields_and_is_replaced_only_when_entered()
    {
        var workload = Workload(labels: new() { ["keel.sh/approvals"] = "two" }, annotations: new() { ["keel.sh/policy"] = "minor", ["keel.sh/approvalDeadline"] = "a day" });
        var draft = SettingsDraft.Of(workload);

        Assert.Equal(((int?)null, (int?)null), (draft.Approvals, draft.DeadlineHours));
        Assert.Equal("keel.sh/approvals: 'two' is not a whole number of votes; no update is made until it is fixed", SettingsDraft.ProblemOf(workload, "keel.sh/approvals"));
        var other = SettingsChanges.Plan(workload, draft with { Trigger = "poll" });
        Assert.Equal([new KeyChange("keel.sh/trigger", null, "poll")], other.Changes);
        var entered = SettingsChanges.Plan(workload, draft with { Approvals = 2 });
        Assert.Equal([new KeyChange("keel.sh/approvals", "two", "2")], entered.Changes);
    }

    [Theory]
    [InlineData("regexp", "(unclosed", "keel.sh/policy: policy 'regexp:(unclosed' is not a usable regular expression")]
    [InlineData("glob", "", "keel.sh/policy: policy 'glob:' has no pattern")]
    public void An_invalid_pattern_is_refused_with_the_annotations_message(string policy, string pattern, string message)
    {
        var workload = Workload(annotations: new() { ["keel.sh/policy"] = "minor" });

        var plan = SettingsChanges.Plan(workload, SettingsDraft.Of(workload) with { Policy = policy, Pattern = pattern });

        Assert.Contains(plan.Errors, e => e.StartsWith(message, StringComparison.Ordinal));
    }

    [Fact]
    public void An_invalid_schedule_and_out_of_range_numbers_are_refused()
    {
        var workload = Workload(annotations: new() { ["keel.sh/policy"] = "minor" });

        var plan = SettingsChanges.Plan(workload, SettingsDraft.Of(workload) with { Trigger = "poll", Schedule = "every so often", Approvals = -1, DeadlineHours = 0 });

        Assert.Contains(plan.Errors, e => e.StartsWith("keel.sh/pollSchedule: 'every so often' is not a valid schedule", StringComparison.Ordinal));
        Assert.Contains(plan.Errors, e => e.StartsWith("keel.sh/approvals", StringComparison.Ordinal));
        Assert.Contains(plan.Errors, e => e.StartsWith("keel.sh/approvalDeadline", StringComparison.Ordinal));
    }

    [Fact]
    public void Going_back_to_a_default_writes_the_default_over_the_key_that_is_set()
    {
        var workload = Workload(annotations: new() { ["keel.sh/policy"] = "force", ["keel.sh/matchTag"] = "true", ["keel.sh/trigger"] = "poll" });

        var plan = SettingsChanges.Plan(workload, SettingsDraft.Of(workload) with { MatchTag = false, Trigger = "webhook" });

        Assert.Equal([new KeyChange("keel.sh/matchTag", "true", null), new KeyChange("keel.sh/trigger", "poll", "webhook")], plan.Changes);
    }

    [Fact]
    public void Automatic_rollback_is_switched_on_and_off_in_the_form_and_a_bad_wait_is_refused()
    {
        var workload = Workload(annotations: new() { ["keel.sh/policy"] = "minor" });

        var on = SettingsChanges.Plan(workload, SettingsDraft.Of(workload) with { RollbackAuto = true, RollbackAfter = "90s" });
        var bad = SettingsChanges.Plan(workload, SettingsDraft.Of(workload) with { RollbackAuto = true, RollbackAfter = "soon" });
        var auto = Workload(annotations: new() { ["keel.sh/policy"] = "minor", ["keel.sh/rollback"] = "auto", ["keel.sh/rollbackAfter"] = "5m" });
        var off = SettingsChanges.Plan(auto, SettingsDraft.Of(auto) with { RollbackAuto = false });

        Assert.Empty(on.Errors);
        Assert.Equal([new KeyChange("keel.sh/rollback", null, "auto"), new KeyChange("keel.sh/rollbackAfter", null, "90s")], on.Changes);
        Assert.Contains(bad.Errors, e => e.StartsWith("keel.sh/rollbackAfter: 'soon' is not a duration", StringComparison.Ordinal));
        Assert.Equal((true, "5m"), (SettingsDraft.Of(auto).RollbackAuto, SettingsDraft.Of(auto).RollbackAfter));
        Assert.Equal([new KeyChange("keel.sh/rollback", "auto", null), new KeyChange("keel.sh/rollbackAfter", "5m", null)], off.Changes);
    }
}
