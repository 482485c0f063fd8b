using k8s;
using k8s.Models;

namespace KeelPortal.Workloads;

/// <summary>The four Kubernetes kinds KeelPortal patches, and Helm releases, which it upgrades through Helm.</summary>
public enum WorkloadKind { Deployment, StatefulSet, DaemonSet, CronJob, HelmRelease }

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

/// <summary>
/// One workload as the cluster has it, whatever its kind: identity, labels and annotations, the pod template's containers
/// and pull secrets, its status (the fields the portal reads: <see cref="KeptFields"/>).
/// </summary>
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
        KeptFields.Annotations(o.Metadata.Annotations),
        KeptFields.Of(template),
        Copy(selector?.MatchLabels ?? template.Metadata?.Labels),
        status);

    internal static Dictionary<string, string> Copy(IDictionary<string, string>? map) =>
        map is null ? new Dictionary<string, string>(StringComparer.Ordinal) : new Dictionary<string, string>(map, StringComparer.Ordinal);
}

public static partial class WorkloadId
{
    /// <summary>A DNS label (RFC 1123): what Kubernetes namespaces are, and change window names too.</summary>
    public static bool IsDnsLabel(string? text) => text is not null && DnsLabel().IsMatch(text);

    [System.Text.RegularExpressions.GeneratedRegex("^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")]
    private static partial System.Text.RegularExpressions.Regex DnsLabel();

    /// <summary>The four kinds whose objects the cluster serves directly (not Helm releases).</summary>
    public static readonly IReadOnlyList<WorkloadKind> ClusterKinds = [WorkloadKind.Deployment, WorkloadKind.StatefulSet, WorkloadKind.DaemonSet, WorkloadKind.CronJob];

    /// <summary><c>deployment/default/web</c>; a Helm release is Keel's <c>default/web</c>.</summary>
    public static string Of(WorkloadKind kind, string ns, string name) =>
        kind == WorkloadKind.HelmRelease ? $"{ns}/{name}" : $"{kind.ToString().ToLowerInvariant()}/{ns}/{name}";

    /// <summary>The console page of a workload: <c>/workloads/deployment/shop/web</c>, or <c>/releases/shop/web</c> for a Helm release.</summary>
    public static string Page(string id) =>
        TryParse(id, out var kind, out var ns, out var name) && kind == WorkloadKind.HelmRelease ? $"/releases/{ns}/{name}" : $"/workloads/{id}";

    /// <summary>Keel's provider of a workload id, as <c>/v1/approvals</c> and notifications name it: <c>helm</c> or <c>kubernetes</c>.</summary>
    public static string Provider(string? id) => TryParse(id, out var kind, out _, out _) && kind == WorkloadKind.HelmRelease ? "helm" : "kubernetes";

    /// <summary>Keel's resource kind in notifications: <c>deployment</c>…, and <c>chart</c> for a Helm release (<c>chart/ns/release</c>).</summary>
    public static string ResourceKind(WorkloadKind kind) => kind == WorkloadKind.HelmRelease ? "chart" : kind.ToString().ToLowerInvariant();

    /// <summary>Parses <c>deployment/default/web</c> (kind names are case-insensitive) and a Helm release's <c>default/web</c>.</summary>
    public static bool TryParse(string? id, out WorkloadKind kind, out string ns, out string name)
    {
        kind = default;
        ns = name = "";
        var parts = (id ?? "").Split('/');
        // Namespaces and names are Kubernetes names (lower-case letters, digits, '-' and '.'): nothing else is an identifier.
        if (parts.Length is < 2 or > 3 || !parts.Skip(parts.Length - 2).All(IsName))
        {
            return false;
        }
        if (parts is [var releaseNamespace, var release])
        {
            (kind, ns, name) = (WorkloadKind.HelmRelease, releaseNamespace, release);
            return true;
        }
        if (parts.Length != 3 || parts[1].Length == 0 || parts[2].Length == 0 || !Enum.TryParse(parts[0], ignoreCase: true, out kind)
            || kind == WorkloadKind.HelmRelease || !Enum.IsDefined(kind))
        {
            kind = default;
            return false;
        }
        ns = parts[1];
        name = parts[2];
        return true;
    }

    private static bool IsName(string part) =>
        part.Length is > 0 and <= 253 && part.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c is '-' or '.')
        && char.IsAsciiLetterOrDigit(part[0]) && char.IsAsciiLetterOrDigit(part[^1]);
}
