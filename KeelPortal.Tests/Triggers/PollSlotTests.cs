using Cronos;
using KeelPortal.Triggers;
using KeelPortal.Workloads;

namespace KeelPortal.Tests.Triggers;

/// <summary>
/// Sub-minute schedules are kept: driven by the schedule's own cron ticks, each started up to 1.2 s late (the
/// scheduler's and the queue's polling) in a seeded random order of delays, no slot of the interval is missed or
/// polled twice, and every poll starts within 1.2 s of its slot.
/// </summary>
public sealed class PollSlotTests
{
    [Theory]
    [InlineData("@every 10s", 1)]
    [InlineData("@every 10s", 2)]
    [InlineData("@every 15s", 3)]
    [InlineData("@every 90s", 4)]
    [InlineData("@every 1m", 5)]
    public void Over_five_minutes_every_slot_is_polled_once_and_on_time(string text, int seed)
    {
        Assert.True(PollSchedule.TryParse(text, out var schedule, out _));
        var interval = (int)schedule!.Interval!.Value.TotalSeconds;
        var cron = CronExpression.Parse(schedule.Cron, schedule.Cron.Split(' ').Length == 6 ? CronFormat.IncludeSeconds : CronFormat.Standard);
        var random = new Random(seed);
        var start = new DateTime(2026, 11, 30, 12, 0, 0, DateTimeKind.Utc);
        var end = start.AddMinutes(5);

        var runs = new List<DateTime>();
        DateTime? last = null;
        for (var tick = cron.GetNextOccurrence(start, inclusive: true); tick is { } t && t < end; tick = cron.GetNextOccurrence(t))
        {
            var startedAt = t.AddMilliseconds(random.Next(0, 1200));
            if (last is null || PollRepositoryJob.IsDue(last.Value, startedAt, interval))
            {
                runs.Add(startedAt);
                last = startedAt;
            }
        }

        var slots = runs.Select(r => (r - start).Ticks / TimeSpan.FromSeconds(interval).Ticks).ToList();
        Assert.Equal(Enumerable.Range(0, (int)(300 / interval) + (300 % interval == 0 ? 0 : 1)).Select(i => (long)i), slots);
        Assert.All(runs, r => Assert.True((r - start).TotalSeconds % interval < 1.2, $"{r:HH:mm:ss.fff} is late for its slot"));
    }

    [Fact]
    public void A_late_run_followed_by_an_on_time_run_are_two_polls()
    {
        var late = new DateTime(2026, 11, 30, 12, 0, 1, 200, DateTimeKind.Utc);
        var onTime = new DateTime(2026, 11, 30, 12, 0, 10, 100, DateTimeKind.Utc);

        Assert.True(PollRepositoryJob.IsDue(late, onTime, 10));
        Assert.False(PollRepositoryJob.IsDue(onTime, onTime.AddSeconds(5), 10));
    }
}
