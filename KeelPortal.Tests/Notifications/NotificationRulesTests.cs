using KeelPortal.Approvals;
using KeelPortal.Notifications;

namespace KeelPortal.Tests.Notifications;

/// <summary>The pure rules: Keel's sentences and colours, routing, filters, back-off, masking.</summary>
public sealed class NotificationRulesTests
{
    private static ChannelSettings Channel(string name, bool isDefault = true, NotificationEvents events = NotificationEvents.All,
        NotificationLevel level = NotificationLevel.Info, bool enabled = true) =>
        new(name, ChannelType.Webhook, "https://hooks.example.com/" + name, null, null, null, events, level, isDefault, enabled, "test");

    [Fact]
    public void Keels_success_and_failure_sentences_are_kept_word_for_word()
    {
        Assert.Equal("Successfully updated deployment default/wd 0.0.9->0.0.10 (karolisr/webhook-demo:0.0.10)",
            NotificationText.Applied("deployment", "default", "wd", "0.0.9", "0.0.10", ["karolisr/webhook-demo:0.0.10"], null));
        Assert.Equal("Successfully updated statefulset db/pg 15.1->15.2 (postgres:15.2, exporter:1.1). Release notes: https://example.com/notes",
            NotificationText.Applied("statefulset", "db", "pg", "15.1", "15.2", ["postgres:15.2", "exporter:1.1"], "https://example.com/notes"));
        Assert.Equal("deployment default/wd update 0.0.9->0.0.10 failed, error: forbidden",
            NotificationText.Failed("deployment", "default", "wd", "0.0.9", "0.0.10", "forbidden"));
    }

    [Theory]
    [InlineData(NotificationLevel.Error, "#F44336")]
    [InlineData(NotificationLevel.Info, "#2196F3")]
    [InlineData(NotificationLevel.Success, "#00C853")]
    [InlineData(NotificationLevel.Warn, "#FF9800")]
    public void Levels_have_keels_colours(NotificationLevel level, string colour) => Assert.Equal(colour, level.Color());

    [Fact]
    public void Named_channels_replace_the_defaults_and_unknown_names_are_reported()
    {
        var channels = new[] { Channel("ops"), Channel("team-a", isDefault: false), Channel("team-b", isDefault: false), Channel("off", enabled: false) };
        var n = NotificationHostFree(NotificationEvents.UpdateApplied);

        var (defaults, none) = NotificationCenter.Route(channels, n, []);
        var (named, unknown) = NotificationCenter.Route(channels, n, ["#Team-A", " team-b ", "ghost", ""]);

        Assert.Equal(["ops"], defaults.Select(c => c.Name));
        Assert.Empty(none);
        Assert.Equal(["team-a", "team-b"], named.Select(c => c.Name));
        Assert.Equal(["ghost"], unknown);
    }

    [Fact]
    public void Event_filters_and_minimum_levels_apply_to_named_and_default_channels_alike()
    {
        var failures = Channel("failures", events: NotificationEvents.UpdateFailed | NotificationEvents.RolloutFailed);
        var loud = Channel("loud", level: NotificationLevel.Warn);

        Assert.False(failures.Wants(NotificationEvents.ApprovalRequired, NotificationLevel.Info));
        Assert.True(failures.Wants(NotificationEvents.RolloutFailed, NotificationLevel.Error));
        Assert.False(loud.Wants(NotificationEvents.UpdateApplied, NotificationLevel.Success));
        Assert.True(loud.Wants(NotificationEvents.Rejected, NotificationLevel.Warn));
        Assert.True(loud.Wants(NotificationEvents.Test, NotificationLevel.Info));
        Assert.False((Channel("off", enabled: false)).Wants(NotificationEvents.Test, NotificationLevel.Info));
        Assert.Empty(NotificationCenter.Route([failures], NotificationHostFree(NotificationEvents.UpdateApplied), ["failures"]).Channels);
    }

    [Theory]
    [InlineData(1, 800, 1_200)]
    [InlineData(2, 1_600, 2_400)]
    [InlineData(4, 6_400, 9_600)]
    public void Retries_back_off_exponentially_with_jitter(int attempts, int minMs, int maxMs)
    {
        for (var i = 0; i < 50; i++)
        {
            var wait = new KeelPortal.Data.WorkOptions { FirstRetryDelay = TimeSpan.FromSeconds(1) }.Backoff(attempts);
            Assert.InRange(wait.TotalMilliseconds, minMs, maxMs);
        }
    }

    [Fact]
    public void A_receivers_retry_after_wins_when_longer_and_waits_are_capped()
    {
        Assert.Equal(TimeSpan.FromSeconds(30), new KeelPortal.Data.WorkOptions { FirstRetryDelay = TimeSpan.FromSeconds(1) }.Backoff(1, TimeSpan.FromSeconds(30)));
        Assert.True(new KeelPortal.Data.WorkOptions { FirstRetryDelay = TimeSpan.FromMinutes(30) }.Backoff(9) <= TimeSpan.FromHours(1));
    }

    [Fact]
    public void Targets_are_masked_to_scheme_and_host_and_tokens_to_their_kind()
    {
        Assert.Equal("https://hooks.slack.com/••••••", ChannelTargets.Mask("https://hooks.slack.com/services/T0/B0/abcdef"));
        Assert.Equal("http://10.0.0.5:8065/••••••", ChannelTargets.Mask(" http://10.0.0.5:8065/hooks/xyz "));
        Assert.Equal("xoxb-••••••", ChannelTargets.Mask("xoxb-1234-5678-abcd"));
        Assert.Equal("••••••", ChannelTargets.Mask("garbage"));
        Assert.Equal("error at [channel target] here", ChannelTargets.Scrub("error at https://h/x here", "https://h/x"));
    }

    [Fact]
    public void Event_names_from_configuration_parse_in_several_spellings()
    {
        Assert.True(NotificationKinds.TryParseEvents(["update-failed", "RolloutFailed", "approval_required"], out var events, out _));
        Assert.Equal(NotificationEvents.UpdateFailed | NotificationEvents.RolloutFailed | NotificationEvents.ApprovalRequired, events);
        Assert.True(NotificationKinds.TryParseEvents(["approvals"], out var approvals, out _));
        Assert.Equal(NotificationEvents.Approvals, approvals);
        Assert.False(NotificationKinds.TryParseEvents(["all", "kaboom"], out _, out var unknown));
        Assert.Equal("kaboom", unknown);
        Assert.True(NotificationKinds.TryParseLevel("WARNING", out var level));
        Assert.Equal(NotificationLevel.Warn, level);
        Assert.False(NotificationKinds.TryParseLevel("loud", out _));
    }

    [Theory]
    [InlineData(ApprovalState.Pending, null)]
    [InlineData(ApprovalState.Applying, null)]
    [InlineData(ApprovalState.Approved, NotificationEvents.Approved)]
    [InlineData(ApprovalState.Rejected, NotificationEvents.Rejected)]
    [InlineData(ApprovalState.Expired, NotificationEvents.Expired)]
    [InlineData(ApprovalState.Superseded, NotificationEvents.Superseded)]
    [InlineData(ApprovalState.Applied, NotificationEvents.UpdateApplied)]
    [InlineData(ApprovalState.Failed, NotificationEvents.UpdateFailed)]
    public void Approval_states_map_to_events(ApprovalState state, NotificationEvents? expected) =>
        Assert.Equal(expected, NotificationWork.EventOf(state));

    private static Notification NotificationHostFree(NotificationEvents e) =>
        new(e, NotificationKinds.LevelOf(e), "m", "deployment", "shop", "web", "1", "2", null, null, null, null, DateTime.UnixEpoch);
}
