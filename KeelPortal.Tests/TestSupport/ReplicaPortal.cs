using KeelPortal.Sandbox.Cluster;

namespace KeelPortal.Tests.TestSupport;

/// <summary>One portal replica of several: PostgreSQL, the Kubernetes API test server, leader election on, its own name.</summary>
public static class ReplicaPortal
{
    public static PortalFactory Create(KubeApiServer cluster, string database, string name, TimeSpan lease) => new PortalFactory()
        .With("Data:Provider", "postgres").With("Data:ConnectionString", database)
        .With("Workloads:Server", cluster.Url).With("Workloads:Token", ChartRbac.PortalToken)
        .With("Workloads:ReconnectDelay", "00:00:00.100")
        .With("Workloads:LeaderElection", "on").With("Workloads:LeaseNamespace", "keel")
        .With("Workloads:LeaseDuration", lease.ToString()).With("Workloads:ReplicaName", name);

    /// <summary>The chart's RBAC as installed for several replicas: the Lease in the release's namespace is granted.</summary>
    public static Task<KubeRbac> ChartRbacAsync() =>
        ChartRbac.ForPortalAsync("replicas=2", "database.provider=postgres", "database.existingSecret=keelportal-db");
}
