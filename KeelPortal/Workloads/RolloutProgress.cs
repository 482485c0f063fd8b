namespace KeelPortal.Workloads;

public enum RolloutState { InProgress, Succeeded, Failed, TimedOut }

/// <summary>Where a rollout stands, and in words why.</summary>
public sealed record RolloutProgress(RolloutState State, string Reason)
{
    /// <summary>
    /// Reads a workload's status the way <c>kubectl rollout status</c> does, for the generation an apply produced.
    /// A CronJob is done once patched: its next Job runs the new image.
    /// </summary>
    public static RolloutProgress Of(WorkloadObject workload, long generation)
    {
        var s = workload.Status;
        if (workload.Kind == WorkloadKind.CronJob)
        {
            return new(RolloutState.Succeeded, "the CronJob is updated; its next Job runs the new image");
        }
        if ((s.ObservedGeneration ?? 0) < generation)
        {
            return new(RolloutState.InProgress, "waiting for the controller to observe the update");
        }
        return workload.Kind switch
        {
            WorkloadKind.Deployment => Deployment(s),
            WorkloadKind.StatefulSet => StatefulSet(s),
            _ => DaemonSet(s),
        };
    }

    private static RolloutProgress Deployment(RolloutStatus s)
    {
        if (s.ProgressingReason == "ProgressDeadlineExceeded")
        {
            return new(RolloutState.Failed, $"progress deadline exceeded: {s.ProgressingMessage}");
        }
        if (s.Updated < s.Desired)
        {
            return new(RolloutState.InProgress, $"{s.Updated} of {s.Desired} replicas updated");
        }
        if (s.Total > s.Updated)
        {
            return new(RolloutState.InProgress, $"{s.Total - s.Updated} old replicas pending termination");
        }
        return s.Available < s.Updated
            ? new(RolloutState.InProgress, $"{s.Available} of {s.Updated} updated replicas available")
            : new(RolloutState.Succeeded, $"{s.Updated} of {s.Desired} replicas updated and available");
    }

    private static RolloutProgress StatefulSet(RolloutStatus s)
    {
        if (s.Updated < s.Desired)
        {
            return new(RolloutState.InProgress, $"{s.Updated} of {s.Desired} pods updated");
        }
        if (s.Ready < s.Desired)
        {
            return new(RolloutState.InProgress, $"{s.Ready} of {s.Desired} pods ready");
        }
        return s.UpdateRevision is not null && s.CurrentRevision != s.UpdateRevision
            ? new(RolloutState.InProgress, $"waiting for revision {s.UpdateRevision} to become current")
            : new(RolloutState.Succeeded, $"{s.Updated} of {s.Desired} pods updated and ready");
    }

    private static RolloutProgress DaemonSet(RolloutStatus s)
    {
        if (s.Updated < s.Desired)
        {
            return new(RolloutState.InProgress, $"{s.Updated} of {s.Desired} nodes updated");
        }
        return s.Available < s.Desired
            ? new(RolloutState.InProgress, $"{s.Available} of {s.Desired} updated pods available")
            : new(RolloutState.Succeeded, $"{s.Updated} of {s.Desired} nodes updated and available");
    }
}
