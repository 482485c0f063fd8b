namespace KeelPortal.Sandbox.Cluster;

/// <summary>A resource type the test API server serves, as discovery describes it.</summary>
public sealed record KubeResource(string Group, string Version, string Plural, string Kind, bool Namespaced, string[] ShortNames)
{
    public string GroupVersion => Group.Length == 0 ? Version : $"{Group}/{Version}";

    public string Singular => Kind.ToLowerInvariant();
}

public static class KubeResources
{
    public static readonly IReadOnlyList<KubeResource> All =
    [
        new("", "v1", "namespaces", "Namespace", false, ["ns"]),
        new("", "v1", "nodes", "Node", false, ["no"]),
        new("", "v1", "pods", "Pod", true, ["po"]),
        new("", "v1", "secrets", "Secret", true, []),
        new("", "v1", "configmaps", "ConfigMap", true, ["cm"]),
        new("", "v1", "events", "Event", true, ["ev"]),
        new("apps", "v1", "deployments", "Deployment", true, ["deploy"]),
        new("apps", "v1", "statefulsets", "StatefulSet", true, ["sts"]),
        new("apps", "v1", "daemonsets", "DaemonSet", true, ["ds"]),
        new("batch", "v1", "cronjobs", "CronJob", true, ["cj"]),
        new("coordination.k8s.io", "v1", "leases", "Lease", true, []),
    ];

    public static KubeResource? Find(string group, string version, string plural) =>
        All.FirstOrDefault(r => r.Group == group && r.Version == version && r.Plural == plural);

    public static KubeResource ByKind(string kind) => All.First(r => r.Kind.Equals(kind, StringComparison.OrdinalIgnoreCase));
}
