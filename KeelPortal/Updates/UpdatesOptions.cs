using System.ComponentModel.DataAnnotations;

namespace KeelPortal.Updates;

public sealed class UpdatesOptions
{
    public const string Section = "Updates";

    /// <summary>An apply that has held its claim this long is presumed dead (its instance stopped) and is resumed.</summary>
    [Range(typeof(TimeSpan), "00:00:05", "01:00:00", ErrorMessage = "Updates:ApplyLease must be between 00:00:05 and 01:00:00.")]
    public TimeSpan ApplyLease { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>Attempts of an apply that fails for a reason worth retrying (cluster unreachable, server error).</summary>
    [Range(1, 10, ErrorMessage = "Updates:MaxApplyAttempts must be between 1 and 10.")]
    public int MaxApplyAttempts { get; set; } = 3;

    [Range(typeof(TimeSpan), "00:00:00", "01:00:00", ErrorMessage = "Updates:ApplyRetryDelay must be between 00:00:00 and 01:00:00.")]
    public TimeSpan ApplyRetryDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>How often approved updates waiting for a change window or the end of a freeze are checked for being due.</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:10:00", ErrorMessage = "Updates:ScheduleCheckInterval must be between 00:00:00.050 and 00:10:00.")]
    public TimeSpan ScheduleCheckInterval { get; set; } = TimeSpan.FromSeconds(15);
}
