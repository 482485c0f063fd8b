using k8s.Models;

namespace KeelPortal.Workloads;

/// <summary>A page of a list, and the resourceVersion to watch from once the last page is read.</summary>
public sealed record ListPage<T>(IReadOnlyList<T> Items, string ResourceVersion, string? Continue);

public enum ChangeType { Added, Modified, Deleted, Expired }

/// <summary>One watch event; <see cref="ChangeType.Expired"/> (410 Gone or an ERROR event) means list again.</summary>
public sealed record Change<T>(ChangeType Type, T? Value);

/// <summary>
/// The cluster, as KeelPortal uses it. The only seam to Kubernetes: the implementation is the only code that touches
/// <c>IKubernetes</c>. Failures surface as <see cref="KubernetesApiException"/> with the HTTP status.
/// </summary>
public interface IWorkloadClient
{
    /// <summary>A Lease in <paramref name="leaseNamespace"/> for electing the replica that watches the cluster.</summary>
    k8s.LeaderElection.ILock LeaseLock(string leaseNamespace, string name, string identity);

    /// <summary>Where the client points, for messages ("https://10.0.0.1:6443, context prod").</summary>
    string Describe();

    Task<string> ServerVersionAsync(CancellationToken ct);

    Task<ListPage<WorkloadObject>> ListAsync(WorkloadKind kind, string? ns, string? continueToken, CancellationToken ct);

    IAsyncEnumerable<Change<WorkloadObject>> WatchAsync(WorkloadKind kind, string? ns, string resourceVersion, CancellationToken ct);

    Task<ListPage<V1Pod>> ListPodsAsync(string? ns, string? continueToken, CancellationToken ct);

    IAsyncEnumerable<Change<V1Pod>> WatchPodsAsync(string? ns, string resourceVersion, CancellationToken ct);

    Task<ListPage<V1Node>> ListNodesAsync(string? continueToken, CancellationToken ct);

    IAsyncEnumerable<Change<V1Node>> WatchNodesAsync(string resourceVersion, CancellationToken ct);

    /// <summary>The workload, or null when it no longer exists.</summary>
    Task<WorkloadObject?> GetAsync(WorkloadKind kind, string ns, string name, CancellationToken ct);

    /// <summary>Sends a strategic merge patch; the result carries the new resourceVersion and generation.</summary>
    Task<WorkloadObject> PatchAsync(WorkloadKind kind, string ns, string name, string strategicMergePatch, CancellationToken ct);

    Task<V1Secret?> GetSecretAsync(string ns, string name, CancellationToken ct);

    /// <summary>Up to <paramref name="limit"/> pods of <paramref name="ns"/> matching <paramref name="labelSelector"/>, whole (read on demand, never kept).</summary>
    Task<IReadOnlyList<V1Pod>> FindPodsAsync(string ns, string labelSelector, int limit, CancellationToken ct);

    /// <summary>Up to <paramref name="limit"/> events of <paramref name="ns"/> about the object named <paramref name="involvedName"/>.</summary>
    Task<IReadOnlyList<Corev1Event>> EventsAboutAsync(string ns, string involvedName, int limit, CancellationToken ct);

    /// <summary>The last <paramref name="tailLines"/> lines (at most <paramref name="limitBytes"/> bytes) of a container's log, its current or previous run.</summary>
    Task<string> LogTailAsync(string ns, string pod, string container, bool previous, int tailLines, int limitBytes, CancellationToken ct);

    /// <summary>
    /// Helm 3's release storage with one driver (Secrets of type <c>helm.sh/release.v1</c>, or ConfigMaps), labelled
    /// <c>owner=helm</c> plus <paramref name="labelSelector"/> when given.
    /// </summary>
    Task<ListPage<HelmStorageObject>> ListHelmStorageAsync(HelmDriver driver, string? ns, string? labelSelector, string? continueToken, CancellationToken ct);

    IAsyncEnumerable<Change<HelmStorageObject>> WatchHelmStorageAsync(HelmDriver driver, string? ns, string resourceVersion, CancellationToken ct);
}

/// <summary>Where Helm 3 keeps its releases: Secrets (its default driver) or ConfigMaps.</summary>
public enum HelmDriver { Secret, ConfigMap }

/// <summary>
/// One object of Helm's release storage: one revision of one release. <see cref="Release"/> is the stored payload as
/// Helm wrote it (base64 of the gzipped release JSON).
/// </summary>
public sealed record HelmStorageObject(
    HelmDriver Driver, string Namespace, string Name, string ResourceVersion, IReadOnlyDictionary<string, string> Labels, string? Release)
{
    public const string SecretType = "helm.sh/release.v1";

    public static HelmStorageObject From(V1Secret secret) => new(HelmDriver.Secret, secret.Metadata.NamespaceProperty ?? "", secret.Metadata.Name,
        secret.Metadata.ResourceVersion ?? "", LabelsOf(secret.Metadata),
        secret.Data?.TryGetValue("release", out var bytes) == true ? System.Text.Encoding.UTF8.GetString(bytes) : null);

    public static HelmStorageObject From(V1ConfigMap map) => new(HelmDriver.ConfigMap, map.Metadata.NamespaceProperty ?? "", map.Metadata.Name,
        map.Metadata.ResourceVersion ?? "", LabelsOf(map.Metadata), map.Data?.TryGetValue("release", out var text) == true ? text : null);

    private static Dictionary<string, string> LabelsOf(V1ObjectMeta metadata) =>
        metadata.Labels is { } labels ? new Dictionary<string, string>(labels, StringComparer.Ordinal) : new(StringComparer.Ordinal);
}

/// <summary>An API call that failed, with the status the server answered (0 when it could not be reached).</summary>
public sealed class KubernetesApiException(int status, string message, Exception? inner = null) : Exception(message, inner)
{
    public int Status { get; } = status;
}
