using k8s;
using k8s.Models;

namespace KeelPortal.Workloads;

public enum WorkloadKind { Deployment, StatefulSet, DaemonSet, CronJob }

/// <summary>What a controller last reported about a workload's rollout, for all four kinds.</summary>
public sealed record RolloutStatus(
    long? ObservedGeneration,
    int Desired,
    int Updated,
    int Ready,
    int Available,
    int Total,
    string? ProgressingReason,
    string? ProgressingMessage,
    string? CurrentRevision,
    string? UpdateRevision);

/// <summary>One workload as the cluster has it, whatever its kind: identity, Keel's keys, the pod template, its status.</summary>
public sealed record WorkloadObject(
    WorkloadKind Kind,
    string Namespace,
    string Name,
    string ResourceVersion,
    long Generation,
    IReadOnlyDictionary<string, string> Labels,
    IReadOnlyDictionary<string, string> Annotations,
    V1PodTemplateSpec Template,
    IReadOnlyDictionary<string, string> Selector,
    RolloutStatus Status)
{
    /// <summary>Keel's identifier: <c>deployment/default/web</c>.</summary>
    public string Id => WorkloadId.Of(Kind, Namespace, Name);

    public static WorkloadObject From(V1Deployment d) => Create(WorkloadKind.Deployment, d, d.Spec.Template, d.Spec.Selector, new RolloutStatus(
        d.Status?.ObservedGeneration, d.Spec.Replicas ?? 1, d.Status?.UpdatedReplicas ?? 0, d.Status?.ReadyReplicas ?? 0,
        d.Status?.AvailableReplicas ?? 0, d.Status?.Replicas ?? 0,
        d.Status?.Conditions?.FirstOrDefault(c => c.Type == "Progressing")?.Reason,
        d.Status?.Conditions?.FirstOrDefault(c => c.Type == "Progressing")?.Message, null, null));

    public static WorkloadObject From(V1StatefulSet s) => Create(WorkloadKind.StatefulSet, s, s.Spec.Template, s.Spec.Selector, new RolloutStatus(
        s.Status?.ObservedGeneration, s.Spec.Replicas ?? 1, s.Status?.UpdatedReplicas ?? 0, s.Status?.ReadyReplicas ?? 0,
        s.Status?.AvailableReplicas ?? 0, s.Status?.Replicas ?? 0, null, null, s.Status?.CurrentRevision, s.Status?.UpdateRevision));

    public static WorkloadObject From(V1DaemonSet d) => Create(WorkloadKind.DaemonSet, d, d.Spec.Template, d.Spec.Selector, new RolloutStatus(
        d.Status?.ObservedGeneration, d.Status?.DesiredNumberScheduled ?? 0, d.Status?.UpdatedNumberScheduled ?? 0,
        d.Status?.NumberReady ?? 0, d.Status?.NumberAvailable ?? 0, d.Status?.CurrentNumberScheduled ?? 0, null, null, null, null));

    public static WorkloadObject From(V1CronJob c) => Create(WorkloadKind.CronJob, c, c.Spec.JobTemplate.Spec.Template,
        c.Spec.JobTemplate.Spec.Selector, new RolloutStatus(null, 0, 0, 0, 0, 0, null, null, null, null));

    private static WorkloadObject Create(WorkloadKind kind, IKubernetesObject<V1ObjectMeta> o, V1PodTemplateSpec template, V1LabelSelector? selector, RolloutStatus status) => new(
        kind,
        o.Metadata.NamespaceProperty ?? "",
        o.Metadata.Name,
        o.Metadata.ResourceVersion ?? "",
        o.Metadata.Generation ?? 0,
        Copy(o.Metadata.Labels),
        Copy(o.Metadata.Annotations),
        template,
        Copy(selector?.MatchLabels ?? template.Metadata?.Labels),
        status);

    private static Dictionary<string, string> Copy(IDictionary<string, string>? map) =>
        map is null ? new Dictionary<string, string>(StringComparer.Ordinal) : new Dictionary<string, string>(map, StringComparer.Ordinal);
}

public static class WorkloadId
{
    public static string Of(WorkloadKind kind, string ns, string name) => $"{kind.ToString().ToLowerInvariant()}/{ns}/{name}";

    /// <summary>Parses <c>deployment/default/web</c> (kind names are case-insensitive).</summary>
    public static bool TryParse(string? id, out WorkloadKind kind, out string ns, out string name)
    {
        kind = default;
        ns = name = "";
        var parts = (id ?? "").Split('/');
        if (parts.Length != 3 || parts[1].Length == 0 || parts[2].Length == 0 || !Enum.TryParse(parts[0], ignoreCase: true, out kind))
        {
            return false;
        }
        ns = parts[1];
        name = parts[2];
        return true;
    }
}
