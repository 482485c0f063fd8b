using System.Globalization;

namespace KeelPortal.Delivery;

/// <summary>
/// When a change window is open: days of the week and hours in a time zone (<c>Mon-Thu</c>, <c>09:00-16:00</c>,
/// <c>Europe/Berlin</c>). Hours that end at or before they start run past midnight (<c>22:00-02:00</c>; the days name
/// the day it opens); <c>00:00-24:00</c> is the whole day. A local opening time that a clock change skips opens at the
/// first moment after the gap.
/// </summary>
public sealed record WindowRule(IReadOnlySet<DayOfWeek> Days, TimeSpan Opens, TimeSpan Closes, TimeZoneInfo Zone)
{
    private static readonly string[] DayNames = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

    /// <summary>Reads the three parts, or says what is wrong with them.</summary>
    public static WindowRule? Parse(string? days, string? hours, string? timeZone, out string? error)
    {
        error = null;
        if (!TryDays(days, out var set, out error) || !TryHours(hours, out var opens, out var closes, out error))
        {
            return null;
        }
        return TryZone(timeZone, out var zone, out error) ? new WindowRule(set, opens, closes, zone!) : null;
    }

    /// <summary>An IANA time zone name this machine knows (<c>Europe/Berlin</c>, <c>UTC</c>).</summary>
    public static bool TryZone(string? text, out TimeZoneInfo? zone, out string? error)
    {
        error = null;
        zone = null;
        if (string.IsNullOrWhiteSpace(text) || text.Trim().Length > 100 || !TimeZoneInfo.TryFindSystemTimeZoneById(text.Trim(), out zone))
        {
            error = $"'{Shown(text)}' is not a time zone this machine knows (use an IANA name such as Europe/Berlin or UTC)";
            return false;
        }
        return true;
    }

    /// <summary><c>Mon-Thu</c>, <c>Mon,Wed,Fri</c>, <c>Sat-Sun</c>, <c>daily</c>; stored as <see cref="DaysText"/>.</summary>
    public static bool TryDays(string? text, out IReadOnlySet<DayOfWeek> days, out string? error)
    {
        var set = new SortedSet<DayOfWeek>();
        days = set;
        error = null;
        if (string.IsNullOrWhiteSpace(text) || text.Length > 100)
        {
            error = "name the days (such as Mon-Thu, Mon,Wed,Fri or daily)";
            return false;
        }
        if (text.Trim().Equals("daily", StringComparison.OrdinalIgnoreCase) || text.Trim() == "*")
        {
            set.UnionWith(Enum.GetValues<DayOfWeek>());
            return true;
        }
        foreach (var part in text.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var range = part.Split('-', StringSplitOptions.TrimEntries);
            if (range.Length > 2 || !TryDay(range[0], out var first) || !TryDay(range[^1], out var last))
            {
                error = $"'{Shown(part)}' is not a day or a range of days (such as Mon or Mon-Thu)";
                return false;
            }
            for (var d = first; ; d = (DayOfWeek)(((int)d + 1) % 7))
            {
                set.Add(d);
                if (d == last)
                {
                    break;
                }
            }
        }
        if (set.Count == 0)
        {
            error = "name the days (such as Mon-Thu, Mon,Wed,Fri or daily)";
            return false;
        }
        return true;
    }

    /// <summary><c>09:00-16:00</c>; the end may be <c>24:00</c>.</summary>
    public static bool TryHours(string? text, out TimeSpan opens, out TimeSpan closes, out string? error)
    {
        opens = closes = default;
        error = null;
        var parts = (text ?? "").Split('-', StringSplitOptions.TrimEntries);
        if (parts.Length != 2 || !TryClock(parts[0], out opens) || !TryClock(parts[1], out closes) || opens == TimeSpan.FromHours(24))
        {
            error = $"'{Shown(text)}' are not hours such as 09:00-16:00 (24-hour clock; the end may be 24:00)";
            return false;
        }
        if (opens == closes)
        {
            error = $"the window '{Shown(text)}' opens and closes at the same time; for the whole day say 00:00-24:00";
            return false;
        }
        return true;
    }

    public string DaysText => Days.Count == 7 ? "daily" : string.Join(",", Days.OrderBy(d => ((int)d + 6) % 7).Select(d => DayNames[(int)d]));

    public string HoursText => $"{Clock(Opens)}-{Clock(Closes)}";

    /// <summary>"Mon,Tue,Wed,Thu 09:00-16:00 Europe/Berlin".</summary>
    public override string ToString() => $"{DaysText} {HoursText} {Zone.Id}";

    /// <summary>The opening that contains <paramref name="utc"/>, or else the next one, in UTC.</summary>
    public (DateTime OpensUtc, DateTime ClosesUtc) OpeningAtOrAfter(DateTime utc)
    {
        var today = DateOnly.FromDateTime(TimeZoneInfo.ConvertTimeFromUtc(DateTime.SpecifyKind(utc, DateTimeKind.Utc), Zone));
        // Yesterday's opening may run past midnight; eight days ahead always reaches the next opening day.
        for (var offset = -1; offset <= 8; offset++)
        {
            var day = today.AddDays(offset);
            if (!Days.Contains(day.DayOfWeek))
            {
                continue;
            }
            var midnight = day.ToDateTime(TimeOnly.MinValue);
            var opensUtc = ToUtc(midnight + Opens);
            var closesUtc = ToUtc(midnight + (Closes > Opens ? Closes : Closes + TimeSpan.FromDays(1)));
            if (closesUtc > utc && closesUtc > opensUtc)
            {
                return (opensUtc, closesUtc);
            }
        }
        throw new InvalidOperationException($"the window {this} has no opening in the next week");
    }

    public bool IsOpen(DateTime utc) => OpeningAtOrAfter(utc).OpensUtc <= utc;

    private DateTime ToUtc(DateTime local)
    {
        local = DateTime.SpecifyKind(local, DateTimeKind.Unspecified);
        while (Zone.IsInvalidTime(local))
        {
            local = local.AddMinutes(15); // Inside a gap the clock skips: the first minute after it.
        }
        return TimeZoneInfo.ConvertTimeToUtc(local, Zone);
    }

    private static bool TryDay(string text, out DayOfWeek day)
    {
        day = default;
        if (text.Length < 3)
        {
            return false;
        }
        for (var i = 0; i < 7; i++)
        {
            var full = ((DayOfWeek)i).ToString();
            if (full.StartsWith(text, StringComparison.OrdinalIgnoreCase))
            {
                day = (DayOfWeek)i;
                return true;
            }
        }
        return false;
    }

    private static bool TryClock(string text, out TimeSpan value)
    {
        value = default;
        if (text == "24:00")
        {
            value = TimeSpan.FromHours(24);
            return true;
        }
        if (TimeOnly.TryParseExact(text, ["HH:mm", "H:mm"], CultureInfo.InvariantCulture, DateTimeStyles.None, out var time))
        {
            value = time.ToTimeSpan();
            return true;
        }
        return false;
    }

    private static string Clock(TimeSpan value) => value == TimeSpan.FromHours(24) ? "24:00" : $"{(int)value.TotalHours:00}:{value.Minutes:00}";

    internal static string Shown(string? text) => text is null ? "" : text.Length > 60 ? text[..60] + "…" : text;
}
