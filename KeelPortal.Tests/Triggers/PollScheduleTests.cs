using KeelPortal.Workloads;

namespace KeelPortal.Tests.Triggers;

public sealed class PollScheduleTests
{
    [Theory]
    [InlineData("@every 90s", "*/30 * * * * *", 90)]
    [InlineData("@every 1m30s", "*/30 * * * * *", 90)]
    [InlineData("@every 10m", "* * * * *", 600)]
    [InlineData("@every 1m", "* * * * *", 60)]
    [InlineData("@every 15s", "*/15 * * * * *", 15)]
    [InlineData("@every 1h", "* * * * *", 3600)]
    public void Every_go_duration_ticks_at_a_divisor_and_keeps_its_interval(string text, string cron, int seconds)
    {
        Assert.True(PollSchedule.TryParse(text, out var schedule, out var error), error);

        Assert.Equal(cron, schedule!.Cron);
        Assert.Equal(TimeSpan.FromSeconds(seconds), schedule.Interval);
        Assert.Equal(TimeSpan.FromSeconds(seconds), schedule.Period);
    }

    [Theory]
    [InlineData("*/5 * * * *", 300)]
    [InlineData("0 */2 * * *", 7200)]
    [InlineData("*/20 * * * * *", 20)]
    [InlineData("@hourly", 3600)]
    [InlineData("@daily", 86400)]
    public void Cron_with_five_or_six_fields_and_macros_run_as_written(string text, int periodSeconds)
    {
        Assert.True(PollSchedule.TryParse(text, out var schedule, out var error), error);

        Assert.Equal(text, schedule!.Cron);
        Assert.Null(schedule.Interval);
        Assert.Equal(TimeSpan.FromSeconds(periodSeconds), schedule.Period);
    }

    [Theory]
    [InlineData("@every")]
    [InlineData("@every soon")]
    [InlineData("@every 0s")]
    [InlineData("@every 10x")]
    [InlineData("every minute")]
    [InlineData("61 * * * *")]
    public void An_invalid_schedule_is_reported_and_the_default_applies(string text)
    {
        var schedule = PollSchedule.Parse(text, "@every 1m", out var error);

        Assert.Equal("@every 1m", schedule.Text);
        Assert.Contains($"keel.sh/pollSchedule '{text}' is not valid", error, StringComparison.Ordinal);
    }

    [Fact]
    public void An_invalid_schedule_is_a_warning_on_the_workload_not_an_error()
    {
        var settings = KeelSettings.Read(null, new Dictionary<string, string> { ["keel.sh/policy"] = "minor", ["keel.sh/trigger"] = "poll", ["keel.sh/pollSchedule"] = "@every soon" });

        Assert.True(settings.IsTracked);
        Assert.Contains(settings.Warnings, w => w.StartsWith("keel.sh/pollSchedule: '@every soon' is not a valid schedule", StringComparison.Ordinal));
    }
}
