using k8s.Models;

namespace KeelPortal.Workloads;

/// <summary>
/// What the catalog keeps of the objects it watches: the fields it reads, nothing more. A pod as the API server sends
/// it carries its whole spec (environment, volumes, probes, resources), its managed fields and its conditions —
/// kilobytes each, for every pod of the cluster — of which the catalog reads a dozen fields; a workload carries
/// kubectl's copy of its last applied manifest, as large as the workload itself. Trimmed as each page or watch event
/// arrives, so a full list never holds the cluster's pods whole.
/// </summary>
internal static class KeptFields
{
    /// <summary>The annotation kubectl writes with the whole manifest of its last apply; nothing here reads it.</summary>
    public const string LastAppliedConfiguration = "kubectl.kubernetes.io/last-applied-configuration";

    /// <summary>
    /// Name, namespace, resource version and labels (which workload selects it); its node (which platform it runs on);
    /// its phase and each container's name, readiness, image and image id (what it runs).
    /// </summary>
    public static V1Pod Of(V1Pod pod) => new()
    {
        Metadata = pod.Metadata is not { } meta ? null : new V1ObjectMeta
        {
            Name = meta.Name, NamespaceProperty = meta.NamespaceProperty, ResourceVersion = meta.ResourceVersion, Labels = meta.Labels,
        },
        Spec = pod.Spec is not { } spec ? null : new V1PodSpec { NodeName = spec.NodeName },
        Status = pod.Status is not { } status ? null : new V1PodStatus
        {
            Phase = status.Phase, ContainerStatuses = Statuses(status.ContainerStatuses), InitContainerStatuses = Statuses(status.InitContainerStatuses),
        },
    };

    /// <summary>The pod template's containers and init containers (name and image) and its image pull secrets.</summary>
    public static V1PodTemplateSpec Of(V1PodTemplateSpec template) => new()
    {
        Spec = template.Spec is not { } spec ? null : new V1PodSpec
        {
            Containers = Containers(spec.Containers), InitContainers = Containers(spec.InitContainers), ImagePullSecrets = spec.ImagePullSecrets,
        },
    };

    /// <summary>The workload's annotations without kubectl's copy of its last applied manifest.</summary>
    public static Dictionary<string, string> Annotations(IDictionary<string, string>? annotations)
    {
        var kept = WorkloadObject.Copy(annotations);
        kept.Remove(LastAppliedConfiguration);
        return kept;
    }

    private static List<V1ContainerStatus>? Statuses(IList<V1ContainerStatus>? statuses) =>
        statuses?.Select(s => new V1ContainerStatus { Name = s.Name, Ready = s.Ready, Image = s.Image, ImageID = s.ImageID }).ToList();

    private static List<V1Container>? Containers(IList<V1Container>? containers) =>
        containers?.Select(c => new V1Container { Name = c.Name, Image = c.Image }).ToList();
}
