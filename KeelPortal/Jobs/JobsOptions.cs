using System.ComponentModel.DataAnnotations;

namespace KeelPortal.Jobs;

public sealed class JobsOptions
{
    public const string Section = "Jobs";

    /// <summary>Hangfire's SQLite file, kept apart from the portal's database; relative paths are under the content root.</summary>
    [Required(AllowEmptyStrings = false, ErrorMessage = "Jobs:StoragePath is required (for example \"data/hangfire.db\").")]
    public string StoragePath { get; set; } = "data/hangfire.db";

    [Range(1, 100, ErrorMessage = "Jobs:WorkerCount must be between 1 and 100.")]
    public int WorkerCount { get; set; } = 4;

    /// <summary>How often idle workers look for enqueued jobs on SQLite; short, so deliveries start promptly.</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:05:00", ErrorMessage = "Jobs:QueuePollInterval must be between 00:00:00.050 and 00:05:00.")]
    public TimeSpan QueuePollInterval { get; set; } = TimeSpan.FromMilliseconds(200);

    /// <summary>
    /// On PostgreSQL an enqueued job wakes every replica's idle workers at once (LISTEN/NOTIFY); they also look this
    /// often, as the safety net.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:05:00", ErrorMessage = "Jobs:PostgresQueuePollInterval must be between 00:00:00.050 and 00:05:00.")]
    public TimeSpan PostgresQueuePollInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// How often delayed and recurring jobs are checked: a poll starts up to this long after its slot (plus the queue's
    /// poll interval), so sub-minute schedules need it well under a second.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:00.100", "00:05:00", ErrorMessage = "Jobs:SchedulePollingInterval must be between 00:00:00.100 and 00:05:00.")]
    public TimeSpan SchedulePollingInterval { get; set; } = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// PostgreSQL only: a job taken by a replica that then died is given to another after this long. Running jobs keep
    /// extending it (sliding), so it bounds only how long a dead replica's jobs wait, not how long a job may run.
    /// </summary>
    [Range(typeof(TimeSpan), "00:00:01", "01:00:00", ErrorMessage = "Jobs:InvisibilityTimeout must be between 00:00:01 and 01:00:00.")]
    public TimeSpan InvisibilityTimeout { get; set; } = TimeSpan.FromMinutes(1);
}
