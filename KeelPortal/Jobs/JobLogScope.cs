using Hangfire.Server;

namespace KeelPortal.Jobs;

/// <summary>Every log line a job writes carries the job's id (<c>HangfireJobId</c>) through a logging scope.</summary>
public sealed class JobLogScope(ILoggerFactory loggers) : IServerFilter
{
    private const string Key = "keelportal.log-scope";
    private readonly ILogger logger = loggers.CreateLogger("KeelPortal.Jobs");

    public void OnPerforming(PerformingContext context) =>
        context.Items[Key] = logger.BeginScope(new Dictionary<string, object?>
        {
            ["HangfireJobId"] = context.BackgroundJob.Id,
            ["Job"] = $"{context.BackgroundJob.Job.Type.Name}.{context.BackgroundJob.Job.Method.Name}",
        });

    public void OnPerformed(PerformedContext context)
    {
        if (context.Items.TryGetValue(Key, out var scope))
        {
            (scope as IDisposable)?.Dispose();
        }
    }
}

/// <summary>This host's job filters: Hangfire's global ones plus <see cref="JobLogScope"/> (kept per host, not process-wide).</summary>
internal sealed class HostJobFilters(JobLogScope scope) : Hangfire.Common.IJobFilterProvider
{
    public IEnumerable<Hangfire.Common.JobFilter> GetFilters(Hangfire.Common.Job job) =>
        Hangfire.Common.JobFilterProviders.Providers.GetFilters(job).Append(new Hangfire.Common.JobFilter(scope, Hangfire.Common.JobFilterScope.Global, null));
}
