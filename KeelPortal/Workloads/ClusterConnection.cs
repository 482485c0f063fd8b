using k8s;
using k8s.Exceptions;
using KeelPortal.Data;
using Microsoft.Extensions.Options;

namespace KeelPortal.Workloads;

/// <summary>Degraded: the API server answers, but with errors (5xx, refused lists or watches).</summary>
public enum ClusterState { NotConfigured, Connecting, Connected, Degraded, Unreachable }

/// <summary>What the Overview says about the cluster: whether it is connected, to what, and if not, why and what to do.</summary>
public sealed record ClusterStatus(ClusterState State, string Target, string Message, string? ServerVersion, DateTimeOffset Since);

/// <summary>
/// Chooses how to reach the cluster — explicit server, in-cluster service account, or kubeconfig — and keeps the
/// connection's state for the console. No cluster is not an error: the portal runs and says how to connect one.
/// </summary>
public sealed class ClusterConnection(IOptions<WorkloadsOptions> options, TimeProvider time, EventHub events)
{
    private readonly Lazy<(KubernetesWorkloadClient? Client, KubernetesClientConfiguration? Config, string? WhyNot)> connection =
        new(() => (Create(options.Value, out var config, out var whyNot), config, whyNot));
    private ClusterStatus status = new(ClusterState.Connecting, "", "connecting", null, time.GetUtcNow());

    public ClusterStatus Status => Volatile.Read(ref status);

    /// <summary>The client, or null when nothing says where a cluster is (the status then says how to set one up).</summary>
    public IWorkloadClient? Client
    {
        get
        {
            var (value, _, whyNot) = connection.Value;
            if (value is null && Status.State != ClusterState.NotConfigured)
            {
                Report(ClusterState.NotConfigured, "", whyNot!, null);
            }
            return value;
        }
    }

    /// <summary>
    /// How the portal reaches the cluster (server, credentials, certificates), for tools that must act as the portal
    /// (Helm); null without a cluster. Holds secrets: never log it.
    /// </summary>
    public KubernetesClientConfiguration? Configuration => Client is null ? null : connection.Value.Config;

    public void Report(ClusterState state, string target, string message, string? version)
    {
        var current = Status;
        if (current.State == state && current.Message == message && current.Target == target)
        {
            return;
        }
        // "Since" is when the state began: a new reason for the same state keeps it.
        var next = new ClusterStatus(state, target, message, version ?? (state == ClusterState.Connected ? current.ServerVersion : null),
            current.State == state ? current.Since : time.GetUtcNow());
        Volatile.Write(ref status, next);
        events.Publish(next);
    }

    private static KubernetesWorkloadClient? Create(WorkloadsOptions o, out KubernetesClientConfiguration? used, out string? whyNot)
    {
        whyNot = null;
        used = null;
        KubernetesClientConfiguration config;
        string target;
        if (!string.IsNullOrWhiteSpace(o.Server))
        {
            config = new KubernetesClientConfiguration { Host = o.Server, AccessToken = o.Token, SkipTlsVerify = o.SkipTlsVerify };
            target = o.Server;
        }
        else if (KubernetesClientConfiguration.IsInCluster())
        {
            config = KubernetesClientConfiguration.InClusterConfig();
            target = $"{config.Host} (in-cluster service account)";
        }
        else
        {
            var path = o.Kubeconfig ?? Environment.GetEnvironmentVariable("KUBECONFIG")?.Split(Path.PathSeparator)[0]
                ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".kube", "config");
            if (!File.Exists(path))
            {
                whyNot = $"no cluster is configured: not running inside a cluster, no kubeconfig at {path}, and Workloads:Server is not set. " +
                    "Set Workloads:Kubeconfig (and Workloads:Context) or Workloads:Server, or run KeelPortal in the cluster with a service account.";
                return null;
            }
            try
            {
                config = KubernetesClientConfiguration.BuildConfigFromConfigFile(path, o.Context);
            }
            catch (KubeConfigException e)
            {
                whyNot = $"the kubeconfig {path} cannot be used: {e.Message}";
                return null;
            }
            target = $"{config.Host} (context {config.CurrentContext ?? o.Context ?? "default"} in {path})";
        }
        config.UserAgent = "KeelPortal";
        used = config;
        return new KubernetesWorkloadClient(new Kubernetes(config), target);
    }
}
