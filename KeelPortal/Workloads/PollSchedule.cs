using System.Globalization;
using System.Text.RegularExpressions;
using Cronos;

namespace KeelPortal.Workloads;

/// <summary>
/// A <c>keel.sh/pollSchedule</c>: <c>@every &lt;Go duration&gt;</c> (<c>90s</c>, <c>1m30s</c>, <c>10m</c>), a 5-field cron,
/// Keel's 6-field cron with leading seconds, or a macro (<c>@hourly</c>, <c>@daily</c>…). <see cref="Cron"/> is what the
/// job scheduler runs; for intervals it ticks at a divisor of the interval and the job skips ticks until the interval
/// has passed (<see cref="Interval"/>).
/// </summary>
public sealed partial record PollSchedule(string Text, string Cron, TimeSpan Period, TimeSpan? Interval)
{
    public static PollSchedule Parse(string? text, string fallback, out string? error)
    {
        error = null;
        if (string.IsNullOrWhiteSpace(text))
        {
            return TryParse(fallback, out var d, out _) ? d! : Every(TimeSpan.FromMinutes(1), "@every 1m");
        }
        if (TryParse(text.Trim(), out var schedule, out error))
        {
            return schedule!;
        }
        error = $"keel.sh/pollSchedule '{text}' is not valid ({error}); the default {fallback} applies";
        return TryParse(fallback, out var def, out _) ? def! : Every(TimeSpan.FromMinutes(1), "@every 1m");
    }

    public static bool TryParse(string text, out PollSchedule? schedule, out string? error)
    {
        schedule = null;
        error = null;
        if (text.StartsWith("@every", StringComparison.OrdinalIgnoreCase))
        {
            if (!TryGoDuration(text[6..].Trim(), out var interval) || interval < TimeSpan.FromSeconds(1))
            {
                error = "@every needs a Go duration of at least one second, such as 90s, 1m30s or 10m";
                return false;
            }
            schedule = Every(interval, text);
            return true;
        }
        try
        {
            var fields = text.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length;
            var format = fields == 6 ? CronFormat.IncludeSeconds : CronFormat.Standard;
            var cron = CronExpression.Parse(text, format);
            var first = cron.GetNextOccurrence(DateTime.UnixEpoch, TimeZoneInfo.Utc) ?? DateTime.UnixEpoch;
            var second = cron.GetNextOccurrence(first, TimeZoneInfo.Utc) ?? first;
            schedule = new PollSchedule(text, text, second - first, null);
            return true;
        }
        catch (CronFormatException e)
        {
            error = e.Message;
            return false;
        }
    }

    private static PollSchedule Every(TimeSpan interval, string text)
    {
        var seconds = (long)interval.TotalSeconds;
        var tick = Gcd(seconds, 60);
        var cron = tick == 60 ? "* * * * *" : $"*/{tick} * * * * *";
        return new PollSchedule(text, cron, interval, interval);
    }

    private static long Gcd(long a, long b) => b == 0 ? a : Gcd(b, a % b);

    /// <summary>Go's duration syntax: a sequence of numbers with units h, m, s, ms (<c>1h30m</c>, <c>90s</c>).</summary>
    internal static bool TryGoDuration(string text, out TimeSpan duration)
    {
        duration = TimeSpan.Zero;
        var matches = GoDurationPart().Matches(text);
        if (text.Length == 0 || string.Concat(matches.Select(m => m.Value)) != text)
        {
            return false;
        }
        foreach (Match m in matches)
        {
            var value = double.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
            duration += m.Groups[2].Value switch
            {
                "h" => TimeSpan.FromHours(value),
                "m" => TimeSpan.FromMinutes(value),
                "s" => TimeSpan.FromSeconds(value),
                _ => TimeSpan.FromMilliseconds(value),
            };
        }
        return true;
    }

    [GeneratedRegex(@"(\d+(?:\.\d+)?)(ms|h|m|s)")]
    private static partial Regex GoDurationPart();
}
