using KeelPortal.Workloads;

namespace KeelPortal.Tests.Workloads;

/// <summary>Keel's precedence per key, legacy keys, defaults and errors (spec §1).</summary>
public sealed class KeelSettingsTests
{
    private static Dictionary<string, string> Map(string? pairs) =>
        (pairs ?? "").Split(';', StringSplitOptions.RemoveEmptyEntries).Select(p => p.Split('=', 2)).ToDictionary(p => p[0], p => p[1]);

    [Theory]
    // policy: annotations first, else labels; legacy key accepted
    [InlineData("keel.sh/policy=major", "keel.sh/policy=patch", "patch")]
    [InlineData("keel.sh/policy=major", null, "major")]
    [InlineData("keel.observer/policy=minor", null, "minor")]
    [InlineData(null, "keel.observer/policy=all", "all")]
    [InlineData("keel.sh/policy=minor", "keel.observer/policy=force", "force")]
    [InlineData(null, "keel.sh/policy=never", "never")]
    [InlineData(null, null, "never")]
    public void The_policy_comes_from_annotations_first_then_labels(string? labels, string? annotations, string expected)
    {
        Assert.Equal(expected, KeelSettings.Read(Map(labels), Map(annotations)).Policy.Name);
    }

    [Theory]
    [InlineData(null, "keel.sh/forceUpdate=restart", "restart", false)]
    [InlineData("keel.sh/forceUpdate=PIN", null, "pin", false)]
    [InlineData(null, null, null, false)]
    [InlineData(null, "keel.sh/forceUpdate=bounce", null, true)]
    public void Force_update_is_pin_or_restart_and_anything_else_warns_and_leaves_the_global_setting(string? labels, string? annotations, string? expected, bool warned)
    {
        var settings = KeelSettings.Read(Map(labels), Map(annotations));

        Assert.Equal((expected, warned), (settings.ForceUpdate, settings.Warnings.Any(w => w.StartsWith("keel.sh/forceUpdate:", StringComparison.Ordinal))));
        Assert.Empty(settings.Errors);
    }

    [Theory]
    // matchTag and matchPreRelease come from the map that supplied the policy
    [InlineData("keel.sh/policy=force;keel.sh/matchTag=true", null, true)]
    [InlineData("keel.sh/policy=force;keel.sh/match-tag=true", null, true)]
    [InlineData("keel.sh/matchTag=true", "keel.sh/policy=force", false)]
    [InlineData(null, "keel.sh/policy=force;keel.sh/matchTag=true", true)]
    public void Match_tag_is_read_from_the_same_map_as_the_policy(string? labels, string? annotations, bool expected)
    {
        Assert.Equal(expected, KeelSettings.Read(Map(labels), Map(annotations)).Policy.MatchTag);
    }

    [Theory]
    [InlineData("keel.sh/policy=minor", null, true)]
    [InlineData("keel.sh/policy=minor;keel.sh/matchPreRelease=false", null, false)]
    [InlineData("keel.sh/matchPreRelease=false", "keel.sh/policy=minor", true)]
    public void Match_pre_release_defaults_to_true(string? labels, string? annotations, bool expected)
    {
        Assert.Equal(expected, KeelSettings.Read(Map(labels), Map(annotations)).Policy.MatchPreRelease);
    }

    [Theory]
    // approvals, deadline, monitorContainers, initContainers, imagePullSecret: labels first, else annotations
    [InlineData("keel.sh/approvals=2", "keel.sh/approvals=5", 2)]
    [InlineData(null, "keel.sh/approvals=5", 5)]
    [InlineData(null, null, 0)]
    [InlineData("keel.sh/approvals=0", null, 0)]
    public void Approvals_come_from_labels_first_then_annotations(string? labels, string? annotations, int expected)
    {
        Assert.Equal(expected, KeelSettings.Read(Map(labels), Map(annotations)).ApprovalsRequired);
    }

    [Fact]
    public void Other_keys_follow_their_own_maps_and_defaults()
    {
        var settings = KeelSettings.Read(
            Map("keel.sh/policy=minor;keel.sh/approvalDeadline=6;keel.sh/imagePullSecret=from-label;keel.sh/initContainers=true;keel.sh/pollSchedule=@every 5m;keel.sh/notify=ignored"),
            Map("keel.sh/imagePullSecret=from-annotation;keel.sh/trigger=poll;keel.sh/notify=a, b;keel.sh/releaseNotes=https://x/notes"));

        Assert.Equal(TimeSpan.FromHours(6), settings.ApprovalDeadline);
        Assert.Equal("from-label", settings.ImagePullSecret);
        Assert.True(settings.InitContainers);
        Assert.Equal(TriggerKind.Poll, settings.Trigger);
        Assert.Null(settings.PollSchedule);
        Assert.Equal(["a", "b"], settings.NotifyChannels);
        Assert.Equal("https://x/notes", settings.ReleaseNotes);
        Assert.Empty(settings.Errors);
    }

    [Theory]
    [InlineData("keel.sh/policy=all;keel.sh/approvals=two", "keel.sh/approvals: 'two' is not a whole number")]
    [InlineData("keel.sh/policy=all;keel.sh/approvalDeadline=soon", "keel.sh/approvalDeadline: 'soon' is not a whole number of hours")]
    [InlineData("keel.sh/policy=all;keel.sh/monitorContainers=app[", "keel.sh/monitorContainers: 'app[' is not a usable regular expression")]
    [InlineData("keel.sh/policy=sometimes", "keel.sh/policy: unknown policy 'sometimes'")]
    public void Bad_values_are_errors_naming_their_key_and_stop_tracking(string labels, string error)
    {
        var settings = KeelSettings.Read(Map(labels), null);

        Assert.False(settings.IsTracked);
        Assert.Contains(settings.Errors, e => e.StartsWith(error, StringComparison.Ordinal));
    }

    [Theory]
    [InlineData(null, "app", false, true)]
    [InlineData(null, "init", true, false)]
    [InlineData("keel.sh/initContainers=true", "init", true, true)]
    [InlineData("keel.sh/monitorContainers=web", "my-web-1", false, true)]
    [InlineData("keel.sh/monitorContainers=^web$", "my-web-1", false, false)]
    public void Monitored_containers_match_unanchored_and_init_containers_are_opt_in(string? labels, string container, bool isInit, bool expected)
    {
        Assert.Equal(expected, KeelSettings.Read(Map(labels), null).Monitors(container, isInit));
    }

    [Theory]
    // KeelPortal's automatic rollback: off unless "auto"; rollbackAfter a Go duration from 1s to 24h, else 10m with a warning
    [InlineData(null, false, 600, null)]
    [InlineData("keel.sh/rollback=auto", true, 600, null)]
    [InlineData("keel.sh/rollback=AUTO;keel.sh/rollbackAfter=90s", true, 90, null)]
    [InlineData("keel.sh/rollback=off;keel.sh/rollbackAfter=1h30m", false, 5400, null)]
    [InlineData("keel.sh/rollback=yes", false, 600, "keel.sh/rollback: 'yes' is neither auto nor off")]
    [InlineData("keel.sh/rollback=auto;keel.sh/rollbackAfter=soon", true, 600, "keel.sh/rollbackAfter: 'soon' is not a duration")]
    [InlineData("keel.sh/rollback=auto;keel.sh/rollbackAfter=48h", true, 600, "keel.sh/rollbackAfter: '48h' is not a duration")]
    public void Automatic_rollback_is_opt_in_and_a_bad_value_is_a_warning_never_an_error(string? annotations, bool auto, int afterSeconds, string? warning)
    {
        var settings = KeelSettings.Read(Map("keel.sh/policy=minor"), Map(annotations));

        Assert.Equal((auto, TimeSpan.FromSeconds(afterSeconds)), (settings.RollbackAuto, settings.RollbackAfter));
        Assert.Equal((auto, TimeSpan.FromSeconds(afterSeconds)), KeelSettings.RollbackOf(Map("keel.sh/policy=minor"), Map(annotations)));
        Assert.Empty(settings.Errors);
        if (warning is null)
        {
            Assert.Empty(settings.Warnings);
        }
        else
        {
            Assert.Contains(settings.Warnings, w => w.StartsWith(warning, StringComparison.Ordinal));
        }
    }

    [Theory]
    // KeelPortal's change windows: names, comma-separated; a name that cannot be one is a warning, never an error
    [InlineData(null, "", null)]
    [InlineData("keel.sh/windows=office-hours", "office-hours", null)]
    [InlineData("keel.sh/windows=office-hours, weekend ,office-hours", "office-hours|weekend", null)]
    [InlineData("keel.sh/windows=Office Hours,night", "night", "keel.sh/windows: 'Office Hours' is not a window name")]
    public void Change_windows_are_named_and_a_bad_name_is_a_warning(string? annotations, string names, string? warning)
    {
        var settings = KeelSettings.Read(Map("keel.sh/policy=minor"), Map(annotations));

        Assert.Equal(names, string.Join("|", settings.Windows));
        Assert.Empty(settings.Errors);
        Assert.Equal(warning is null ? 0 : 1, settings.Warnings.Count);
        Assert.True(warning is null || settings.Warnings[0].StartsWith(warning, StringComparison.Ordinal));
    }
}
