using System.Threading.Channels;
using Hangfire;
using Hangfire.Storage;
using KeelPortal.Data;
using KeelPortal.Workloads;
using Microsoft.Extensions.Options;

namespace KeelPortal.Triggers;

/// <summary>
/// Keeps one Hangfire recurring job per polled repository (<c>poll:&lt;repository&gt;</c>) in step with the workloads:
/// added, rescheduled (the shortest schedule of its workloads wins) and removed as workloads change.
/// </summary>
public sealed partial class PollScheduler(
    EventHub events,
    WorkloadStore workloads,
    IRecurringJobManager recurring,
    JobStorage storage,
    IOptions<WorkloadsOptions> options,
    ILogger<PollScheduler> logger) : BackgroundService
{
    public const string Prefix = "poll:";
    private readonly Channel<bool> changed = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });
    private Dictionary<string, string> registered = new(StringComparer.Ordinal);

    /// <summary>The poll jobs as last reconciled: repository → cron.</summary>
    public IReadOnlyDictionary<string, string> Registered => registered;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var subscription = events.Subscribe<WorkloadsChanged>(_ => changed.Writer.TryWrite(true));
        using (var connection = storage.GetConnection())
        {
            registered = connection.GetRecurringJobs().Where(j => j.Id.StartsWith(Prefix, StringComparison.Ordinal))
                .ToDictionary(j => j.Id[Prefix.Length..], j => j.Cron, StringComparer.Ordinal);
        }
        changed.Writer.TryWrite(true);
        while (await changed.Reader.WaitToReadAsync(stoppingToken))
        {
            changed.Reader.TryRead(out _);
            await ReconcileAsync(stoppingToken);
        }
    }

    internal async Task ReconcileAsync(CancellationToken ct)
    {
        var wanted = new Dictionary<string, PollSchedule>(StringComparer.Ordinal);
        var fallback = options.Value.DefaultPollSchedule;
        foreach (var workload in options.Value.Polling ? await workloads.AllAsync(ct) : [])
        {
            if (!workload.IsTracked || workload.Trigger != TriggerKind.Poll)
            {
                continue;
            }
            var schedule = PollSchedule.Parse(workload.PollSchedule, fallback, out _);
            foreach (var repository in workload.Containers.Where(c => c.Repository is not null).Select(c => c.Repository!.ToLowerInvariant()).Distinct())
            {
                if (!wanted.TryGetValue(repository, out var existing) || schedule.Period < existing.Period)
                {
                    wanted[repository] = schedule;
                }
            }
        }
        var next = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var (repository, schedule) in wanted)
        {
            // Thousands of jobs take seconds to write: a stopping portal leaves off here (its next start reconciles
            // again from the jobs stored), instead of writing on into job storage that is being disposed.
            ct.ThrowIfCancellationRequested();
            var seconds = (int)(schedule.Interval?.TotalSeconds ?? 0);
            var key = $"{schedule.Cron}|{seconds}";
            if (registered.GetValueOrDefault(repository) != key)
            {
                recurring.AddOrUpdate<PollRepositoryJob>(Prefix + repository, j => j.RunAsync(repository, seconds, CancellationToken.None), schedule.Cron);
                LogScheduled(repository, schedule.Text);
            }
            next[repository] = key;
        }
        foreach (var repository in registered.Keys.Where(r => !wanted.ContainsKey(r)))
        {
            ct.ThrowIfCancellationRequested();
            recurring.RemoveIfExists(Prefix + repository);
            LogUnscheduled(repository);
        }
        registered = next;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Polling {Repository} {Schedule}")]
    private partial void LogScheduled(string repository, string schedule);

    [LoggerMessage(Level = LogLevel.Information, Message = "No workload polls {Repository} any more; its poll job is removed")]
    private partial void LogUnscheduled(string repository);
}
