using k8s.Models;
using Microsoft.Extensions.Options;

namespace KeelPortal.Workloads;

/// <summary>One Kubernetes event about the workload, one of its ReplicaSets or one of its pods.</summary>
public sealed record DiagnosisEvent(DateTime? LastSeenUtc, string Type, string Reason, string About, string Message, int Count);

/// <summary>
/// A container that is not running well: waiting (<c>ImagePullBackOff</c>, <c>CrashLoopBackOff</c>…), terminated, or
/// restarted, with its last termination's reason and exit code, and — when logs may be read — its last lines.
/// </summary>
public sealed record ContainerTrouble(
    string Pod, string Container, string State, string? Reason, string? Message, int? ExitCode, string? LastReason, int? LastExitCode, int Restarts,
    string? Log = null, string? LogNote = null);

/// <summary>Why a rollout failed or is stuck, read from the cluster at the moment it was asked.</summary>
public sealed record Diagnosis(
    DateTimeOffset ReadAt, IReadOnlyList<DiagnosisEvent> Events, IReadOnlyList<ContainerTrouble> Containers, bool LogsRead, string? Problem)
{
    public bool Empty => Events.Count == 0 && Containers.Count == 0;
}

/// <summary>
/// Reads, on demand, why a workload's rollout failed or is stuck: the recent events of the workload, its ReplicaSets
/// and its pods (image pulls, scheduling, probes, OOM kills), each troubled container's state and last termination,
/// and with <see cref="WorkloadsOptions.PodLogs"/> the last lines of their logs. Bounded in size; nothing is stored.
/// </summary>
public sealed partial class RolloutDiagnosis(ClusterConnection cluster, IOptions<WorkloadsOptions> options, TimeProvider time, ILogger<RolloutDiagnosis> logger)
{
    public const int MaxPods = 10;
    public const int MaxEvents = 25;
    public const int MaxMessage = 500;
    public const int MaxLogs = 3;
    public const int LogLines = 40;
    public const int LogBytes = 8 * 1024;

    public async Task<Diagnosis> DiagnoseAsync(string workloadId, CancellationToken ct = default)
    {
        var now = time.GetUtcNow();
        if (!WorkloadId.TryParse(workloadId, out var kind, out var ns, out var name))
        {
            return new(now, [], [], false, $"'{workloadId}' is not a workload identifier such as deployment/default/web");
        }
        if (cluster.Client is not { } client)
        {
            return new(now, [], [], false, "no cluster is connected");
        }
        try
        {
            if (await client.GetAsync(kind, ns, name, ct) is not { } workload)
            {
                return new(now, [], [], false, $"{workloadId} no longer exists in the cluster");
            }
            var pods = workload.Selector.Count == 0 ? [] : await client.FindPodsAsync(ns, string.Join(',', workload.Selector.Select(l => $"{l.Key}={l.Value}")), MaxPods, ct);
            var troubles = pods.SelectMany(Troubles).ToList();
            // The workload, the ReplicaSets its pods belong to, and the pods: the objects whose events explain a rollout.
            var involved = new[] { name }
                .Concat(pods.SelectMany(p => p.Metadata.OwnerReferences ?? []).Where(o => o.Kind == "ReplicaSet").Select(o => o.Name))
                .Concat(pods.Select(p => p.Metadata.Name)).Distinct(StringComparer.Ordinal).ToList();
            var events = new List<DiagnosisEvent>();
            foreach (var objectName in involved)
            {
                events.AddRange((await client.EventsAboutAsync(ns, objectName, MaxEvents, ct)).Select(Event));
            }
            var recent = events.OrderByDescending(e => e.LastSeenUtc ?? DateTime.MinValue).Take(MaxEvents).ToList();
            if (options.Value.PodLogs)
            {
                troubles = await WithLogsAsync(client, ns, troubles, ct);
            }
            return new(now, recent, troubles, options.Value.PodLogs, null);
        }
        catch (KubernetesApiException e)
        {
            LogUnreadable(workloadId, e.Status, e.Message);
            return new(now, [], [], false, e.Status == 403
                ? $"the cluster refused to show the workload's pods or events (403): the portal needs list on pods and events ({e.Message})"
                : $"the cluster could not be read ({(e.Status == 0 ? "unreachable" : e.Status.ToString(System.Globalization.CultureInfo.InvariantCulture))}): {e.Message}");
        }
    }

    private static async Task<List<ContainerTrouble>> WithLogsAsync(IWorkloadClient client, string ns, List<ContainerTrouble> troubles, CancellationToken ct)
    {
        var read = new List<ContainerTrouble>();
        var asked = 0;
        foreach (var trouble in troubles)
        {
            if (asked >= MaxLogs || trouble.State == "waiting" && trouble.Restarts == 0)
            {
                read.Add(trouble); // Never started (an image pull, scheduling): there is no log to read.
                continue;
            }
            // A container that crashed and waits to start again has its story in its previous run.
            var previous = trouble.State != "terminated" && trouble.LastReason is not null;
            asked++;
            try
            {
                // Bounded by the client: LogBytes asked of the server, and no more read from its answer.
                read.Add(trouble with { Log = await client.LogTailAsync(ns, trouble.Pod, trouble.Container, previous, LogLines, LogBytes, ct) });
            }
            catch (KubernetesApiException e)
            {
                read.Add(trouble with { LogNote = e.Status == 403 ? "the portal may not read logs (grant get on pods/log: the chart's diagnostics.podLogs)" : $"no log: {e.Message}" });
            }
        }
        return read;
    }

    private static IEnumerable<ContainerTrouble> Troubles(V1Pod pod)
    {
        var statuses = (pod.Status?.InitContainerStatuses ?? []).Concat(pod.Status?.ContainerStatuses ?? []);
        foreach (var c in statuses)
        {
            var state = c.State?.Waiting is not null ? "waiting" : c.State?.Terminated is not null ? "terminated" : "running";
            var last = c.LastState?.Terminated;
            var failedNow = c.State?.Terminated is { ExitCode: not 0 };
            if (state == "waiting" || failedNow || c.RestartCount > 0 || state == "running" && !c.Ready && last is not null)
            {
                yield return new ContainerTrouble(pod.Metadata.Name, c.Name, state,
                    c.State?.Waiting?.Reason ?? c.State?.Terminated?.Reason, Bounded(c.State?.Waiting?.Message ?? c.State?.Terminated?.Message, MaxMessage),
                    c.State?.Terminated?.ExitCode, last?.Reason, last?.ExitCode, c.RestartCount);
            }
        }
    }

    private static DiagnosisEvent Event(Corev1Event e) => new(
        (e.LastTimestamp ?? e.EventTime ?? e.FirstTimestamp ?? e.Metadata?.CreationTimestamp)?.ToUniversalTime(),
        e.Type ?? "Normal", e.Reason ?? "", $"{e.InvolvedObject?.Kind}/{e.InvolvedObject?.Name}", Bounded(e.Message, MaxMessage) ?? "", e.Count ?? 1);

    private static string? Bounded(string? text, int max) => text is null ? null : text.Length <= max ? text : text[..max] + "…";

    [LoggerMessage(Level = LogLevel.Warning, Message = "Diagnosis of {Workload}: the cluster answered {Status}: {Problem}")]
    private partial void LogUnreadable(string workload, int status, string problem);
}
