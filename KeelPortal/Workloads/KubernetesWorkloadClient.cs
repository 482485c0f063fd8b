using System.Net;
using System.Runtime.CompilerServices;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace KeelPortal.Workloads;

/// <summary><see cref="IWorkloadClient"/> over KubernetesClient: typed list, watch, get and strategic-merge patch.</summary>
public sealed class KubernetesWorkloadClient(IKubernetes kubernetes, string description) : IWorkloadClient, IDisposable
{
    private const int PageSize = 500;

    /// <summary>Helm's release objects carry the whole release (chart, values, manifest): fewer to a page keeps each response small.</summary>
    private const int HelmPageSize = 100;

    public string Describe() => description;

    public k8s.LeaderElection.ILock LeaseLock(string leaseNamespace, string name, string identity) =>
        new k8s.LeaderElection.ResourceLock.LeaseLock(kubernetes, leaseNamespace, name, identity);

    public void Dispose() => kubernetes.Dispose();

    public async Task<string> ServerVersionAsync(CancellationToken ct)
    {
        var version = await Call(() => kubernetes.Version.GetCodeAsync(ct)).ConfigureAwait(false);
        return version.GitVersion;
    }

    public async Task<ListPage<WorkloadObject>> ListAsync(WorkloadKind kind, string? ns, string? continueToken, CancellationToken ct)
    {
        var apps = kubernetes.AppsV1;
        var batch = kubernetes.BatchV1;
        return kind switch
        {
            WorkloadKind.Deployment => Page(await Call(() => ns is null
                ? apps.ListDeploymentForAllNamespacesAsync(continueParameter: continueToken, limit: PageSize, cancellationToken: ct)
                : apps.ListNamespacedDeploymentAsync(ns, continueParameter: continueToken, limit: PageSize, cancellationToken: ct)).ConfigureAwait(false), WorkloadObject.From),
            WorkloadKind.StatefulSet => Page(await Call(() => ns is null
                ? apps.ListStatefulSetForAllNamespacesAsync(continueParameter: continueToken, limit: PageSize, cancellationToken: ct)
                : apps.ListNamespacedStatefulSetAsync(ns, continueParameter: continueToken, limit: PageSize, cancellationToken: ct)).ConfigureAwait(false), WorkloadObject.From),
            WorkloadKind.DaemonSet => Page(await Call(() => ns is null
                ? apps.ListDaemonSetForAllNamespacesAsync(continueParameter: continueToken, limit: PageSize, cancellationToken: ct)
                : apps.ListNamespacedDaemonSetAsync(ns, continueParameter: continueToken, limit: PageSize, cancellationToken: ct)).ConfigureAwait(false), WorkloadObject.From),
            _ => Page(await Call(() => ns is null
                ? batch.ListCronJobForAllNamespacesAsync(continueParameter: continueToken, limit: PageSize, cancellationToken: ct)
                : batch.ListNamespacedCronJobAsync(ns, continueParameter: continueToken, limit: PageSize, cancellationToken: ct)).ConfigureAwait(false), WorkloadObject.From),
        };
    }

    public IAsyncEnumerable<Change<WorkloadObject>> WatchAsync(WorkloadKind kind, string? ns, string resourceVersion, CancellationToken ct)
    {
        var apps = kubernetes.AppsV1;
        var batch = kubernetes.BatchV1;
        return kind switch
        {
            WorkloadKind.Deployment => Watch<V1Deployment, WorkloadObject>(onError => ns is null
                ? apps.WatchListDeploymentForAllNamespacesAsync(allowWatchBookmarks: true, resourceVersion: resourceVersion, onError: onError, cancellationToken: ct)
                : apps.WatchListNamespacedDeploymentAsync(ns, allowWatchBookmarks: true, resourceVersion: resourceVersion, onError: onError, cancellationToken: ct), WorkloadObject.From, ct),
            WorkloadKind.StatefulSet => Watch<V1StatefulSet, WorkloadObject>(onError => ns is null
                ? apps.WatchListStatefulSetForAllNamespacesAsync(allowWatchBookmarks: true, resourceVersion: resourceVersion, onError: onError, cancellationToken: ct)
                : apps.WatchListNamespacedStatefulSetAsync(ns, allowWatchBookmarks: true, resourceVersion: resourceVersion, onError: onError, cancellationToken: ct), WorkloadObject.From, ct),
            WorkloadKind.DaemonSet => Watch<V1DaemonSet, WorkloadObject>(onError => ns is null
                ? apps.WatchListDaemonSetForAllNamespacesAsync(allowWatchBookmarks: true, resourceVersion: resourceVersion, onError: onError, cancellationToken: ct)
                : apps.WatchListNamespacedDaemonSetAsync(ns, allowWatchBookmarks: true, resourceVersion: resourceVersion, onError: onError, cancellationToken: ct), WorkloadObject.From, ct),
            _ => Watch<V1CronJob, WorkloadObject>(onError => ns is null
                ? batch.WatchListCronJobForAllNamespacesAsync(allowWatchBookmarks: true, resourceVersion: resourceVersion, onError: onError, cancellationToken: ct)
                : batch.WatchListNamespacedCronJobAsync(ns, allowWatchBookmarks: true, resourceVersion: resourceVersion, onError: onError, cancellationToken: ct), WorkloadObject.From, ct),
        };
    }

    public async Task<ListPage<V1Pod>> ListPodsAsync(string? ns, string? continueToken, CancellationToken ct) =>
        Page(await Call(() => ns is null
            ? kubernetes.CoreV1.ListPodForAllNamespacesAsync(continueParameter: continueToken, limit: PageSize, cancellationToken: ct)
            : kubernetes.CoreV1.ListNamespacedPodAsync(ns, continueParameter: continueToken, limit: PageSize, cancellationToken: ct)).ConfigureAwait(false), KeptFields.Of);

    public IAsyncEnumerable<Change<V1Pod>> WatchPodsAsync(string? ns, string resourceVersion, CancellationToken ct) =>
        Watch<V1Pod, V1Pod>(onError => ns is null
            ? kubernetes.CoreV1.WatchListPodForAllNamespacesAsync(allowWatchBookmarks: true, resourceVersion: resourceVersion, onError: onError, cancellationToken: ct)
            : kubernetes.CoreV1.WatchListNamespacedPodAsync(ns, allowWatchBookmarks: true, resourceVersion: resourceVersion, onError: onError, cancellationToken: ct), KeptFields.Of, ct);

    public async Task<ListPage<V1Node>> ListNodesAsync(string? continueToken, CancellationToken ct) =>
        Page(await Call(() => kubernetes.CoreV1.ListNodeAsync(continueParameter: continueToken, limit: PageSize, cancellationToken: ct)).ConfigureAwait(false), static n => n);

    public IAsyncEnumerable<Change<V1Node>> WatchNodesAsync(string resourceVersion, CancellationToken ct) =>
        Watch<V1Node, V1Node>(onError => 
            kubernetes.CoreV1.WatchListNodeAsync(allowWatchBookmarks: true, resourceVersion: resourceVersion, onError: onError, cancellationToken: ct), static n => n, ct);

    public async Task<WorkloadObject?> GetAsync(WorkloadKind kind, string ns, string name, CancellationToken ct)
    {
        try
        {
            return kind switch
            {
                WorkloadKind.Deployment => WorkloadObject.From(await Call(() => kubernetes.AppsV1.ReadNamespacedDeploymentAsync(name, ns, cancellationToken: ct)).ConfigureAwait(false)),
                WorkloadKind.StatefulSet => WorkloadObject.From(await Call(() => kubernetes.AppsV1.ReadNamespacedStatefulSetAsync(name, ns, cancellationToken: ct)).ConfigureAwait(false)),
                WorkloadKind.DaemonSet => WorkloadObject.From(await Call(() => kubernetes.AppsV1.ReadNamespacedDaemonSetAsync(name, ns, cancellationToken: ct)).ConfigureAwait(false)),
                _ => WorkloadObject.From(await Call(() => kubernetes.BatchV1.ReadNamespacedCronJobAsync(name, ns, cancellationToken: ct)).ConfigureAwait(false)),
            };
        }
        catch (KubernetesApiException e) when (e.Status == 404)
        {
            return null;
        }
    }

    public async Task<WorkloadObject> PatchAsync(WorkloadKind kind, string ns, string name, string strategicMergePatch, CancellationToken ct)
    {
        var patch = new V1Patch(strategicMergePatch, V1Patch.PatchType.StrategicMergePatch);
        return kind switch
        {
            WorkloadKind.Deployment => WorkloadObject.From(await Call(() => kubernetes.AppsV1.PatchNamespacedDeploymentAsync(patch, name, ns, fieldManager: "keelportal", cancellationToken: ct)).ConfigureAwait(false)),
            WorkloadKind.StatefulSet => WorkloadObject.From(await Call(() => kubernetes.AppsV1.PatchNamespacedStatefulSetAsync(patch, name, ns, fieldManager: "keelportal", cancellationToken: ct)).ConfigureAwait(false)),
            WorkloadKind.DaemonSet => WorkloadObject.From(await Call(() => kubernetes.AppsV1.PatchNamespacedDaemonSetAsync(patch, name, ns, fieldManager: "keelportal", cancellationToken: ct)).ConfigureAwait(false)),
            _ => WorkloadObject.From(await Call(() => kubernetes.BatchV1.PatchNamespacedCronJobAsync(patch, name, ns, fieldManager: "keelportal", cancellationToken: ct)).ConfigureAwait(false)),
        };
    }

    public async Task<V1Secret?> GetSecretAsync(string ns, string name, CancellationToken ct)
    {
        try
        {
            return await Call(() => kubernetes.CoreV1.ReadNamespacedSecretAsync(name, ns, cancellationToken: ct)).ConfigureAwait(false);
        }
        catch (KubernetesApiException e) when (e.Status == 404)
        {
            return null;
        }
    }

    public async Task<IReadOnlyList<V1Pod>> FindPodsAsync(string ns, string labelSelector, int limit, CancellationToken ct) =>
        (await Call(() => kubernetes.CoreV1.ListNamespacedPodAsync(ns, labelSelector: labelSelector, limit: limit, cancellationToken: ct)).ConfigureAwait(false)).Items.ToList();

    public async Task<IReadOnlyList<Corev1Event>> EventsAboutAsync(string ns, string involvedName, int limit, CancellationToken ct) =>
        (await Call(() => kubernetes.CoreV1.ListNamespacedEventAsync(ns, fieldSelector: $"involvedObject.name={involvedName}", limit: limit, cancellationToken: ct))
            .ConfigureAwait(false)).Items.ToList();

    public async Task<string> LogTailAsync(string ns, string pod, string container, bool previous, int tailLines, int limitBytes, CancellationToken ct)
    {
        await using var stream = await Call(() => kubernetes.CoreV1.ReadNamespacedPodLogAsync(pod, ns, container: container, limitBytes: limitBytes, previous: previous,
            tailLines: tailLines, cancellationToken: ct)).ConfigureAwait(false);
        using var reader = new StreamReader(stream);
        var buffer = new char[limitBytes];
        var read = await reader.ReadBlockAsync(buffer.AsMemory(), ct).ConfigureAwait(false);
        return new string(buffer, 0, read);
    }

    public async Task<ListPage<HelmStorageObject>> ListHelmStorageAsync(
        HelmDriver driver, string? ns, string? labelSelector, string? continueToken, CancellationToken ct)
    {
        var labels = HelmLabels(labelSelector);
        var core = kubernetes.CoreV1;
        return driver == HelmDriver.Secret
            ? Page(await Call(() => ns is null
                ? core.ListSecretForAllNamespacesAsync(continueParameter: continueToken, fieldSelector: HelmSecretType, labelSelector: labels, limit: HelmPageSize, cancellationToken: ct)
                : core.ListNamespacedSecretAsync(ns, continueParameter: continueToken, fieldSelector: HelmSecretType, labelSelector: labels, limit: HelmPageSize, cancellationToken: ct)).ConfigureAwait(false),
                HelmStorageObject.From)
            : Page(await Call(() => ns is null
                ? core.ListConfigMapForAllNamespacesAsync(continueParameter: continueToken, labelSelector: labels, limit: HelmPageSize, cancellationToken: ct)
                : core.ListNamespacedConfigMapAsync(ns, continueParameter: continueToken, labelSelector: labels, limit: HelmPageSize, cancellationToken: ct)).ConfigureAwait(false),
                HelmStorageObject.From);
    }

    public IAsyncEnumerable<Change<HelmStorageObject>> WatchHelmStorageAsync(HelmDriver driver, string? ns, string resourceVersion, CancellationToken ct)
    {
        var labels = HelmLabels(null);
        var core = kubernetes.CoreV1;
        return driver == HelmDriver.Secret
            ? Watch<V1Secret, HelmStorageObject>(onError => ns is null
                ? core.WatchListSecretForAllNamespacesAsync(allowWatchBookmarks: true, fieldSelector: HelmSecretType, labelSelector: labels, resourceVersion: resourceVersion, onError: onError, cancellationToken: ct)
                : core.WatchListNamespacedSecretAsync(ns, allowWatchBookmarks: true, fieldSelector: HelmSecretType, labelSelector: labels, resourceVersion: resourceVersion, onError: onError, cancellationToken: ct),
                HelmStorageObject.From, ct)
            : Watch<V1ConfigMap, HelmStorageObject>(onError => ns is null
                ? core.WatchListConfigMapForAllNamespacesAsync(allowWatchBookmarks: true, labelSelector: labels, resourceVersion: resourceVersion, onError: onError, cancellationToken: ct)
                : core.WatchListNamespacedConfigMapAsync(ns, allowWatchBookmarks: true, labelSelector: labels, resourceVersion: resourceVersion, onError: onError, cancellationToken: ct),
                HelmStorageObject.From, ct);
    }

    private const string HelmSecretType = "type=" + HelmStorageObject.SecretType;

    private static string HelmLabels(string? more) => string.IsNullOrEmpty(more) ? "owner=helm" : "owner=helm," + more;

    private static ListPage<TOut> Page<TIn, TOut>(IItems<TIn> list, Func<TIn, TOut> map) where TIn : class
    {
        var metadata = ((IMetadata<V1ListMeta>)list).Metadata;
        return new ListPage<TOut>(list.Items.Select(map).ToList(), metadata?.ResourceVersion ?? "", string.IsNullOrEmpty(metadata?.ContinueProperty) ? null : metadata.ContinueProperty);
    }

    /// <summary>
    /// Maps a KubernetesClient watch to changes. The client reports an ERROR event (410 Gone) through its error
    /// callback and then ends the stream; that becomes <see cref="ChangeType.Expired"/>, so the caller lists again
    /// instead of re-watching from a version the server no longer has.
    /// </summary>
    private static async IAsyncEnumerable<Change<TOut>> Watch<T, TOut>(
        Func<Action<Exception>, IAsyncEnumerable<(WatchEventType, T)>> start, Func<T, TOut> map, [EnumeratorCancellation] CancellationToken ct)
    {
        Exception? reported = null;
        await using var events = start(e => reported ??= e).GetAsyncEnumerator(ct);
        while (true)
        {
            if (reported is not null)
            {
                yield return new Change<TOut>(ChangeType.Expired, default);
                yield break;
            }
            (WatchEventType Type, T Item) current;
            try
            {
                if (!await events.MoveNextAsync().ConfigureAwait(false))
                {
                    if (reported is null)
                    {
                        yield break;
                    }
                    continue;
                }
                current = events.Current;
            }
            catch (HttpOperationException e) when (e.Response.StatusCode != HttpStatusCode.Gone)
            {
                throw Failure(e);
            }
            catch (Exception e) when (e is IOException or HttpRequestException)
            {
                // A broken stream ends the watch; the caller watches again from the last version it saw.
                yield break;
            }
            catch (Exception e) when (e is HttpOperationException or KubernetesException)
            {
                // 410 Gone or an ERROR event: the caller lists again.
                current = (WatchEventType.Error, default!);
            }
            switch (current.Type)
            {
                case WatchEventType.Added:
                    yield return new Change<TOut>(ChangeType.Added, map(current.Item));
                    break;
                case WatchEventType.Modified:
                    yield return new Change<TOut>(ChangeType.Modified, map(current.Item));
                    break;
                case WatchEventType.Deleted:
                    yield return new Change<TOut>(ChangeType.Deleted, map(current.Item));
                    break;
                case WatchEventType.Error:
                    yield return new Change<TOut>(ChangeType.Expired, default);
                    yield break;
            }
        }
    }

    private static async Task<T> Call<T>(Func<Task<T>> call)
    {
        try
        {
            return await call().ConfigureAwait(false);
        }
        catch (Exception e) when (e is HttpOperationException or HttpRequestException)
        {
            throw Failure(e);
        }
    }

    private static KubernetesApiException Failure(Exception e) => e switch
    {
        HttpOperationException h => new KubernetesApiException((int)h.Response.StatusCode, StatusMessage(h), h),
        _ => new KubernetesApiException(0, e.InnerException?.Message ?? e.Message, e),
    };

    private static string StatusMessage(HttpOperationException e)
    {
        try
        {
            var status = KubernetesJson.Deserialize<V1Status>(e.Response.Content);
            if (!string.IsNullOrEmpty(status?.Message))
            {
                return status.Message;
            }
        }
        catch (System.Text.Json.JsonException)
        {
            // Not a Status body; fall through to the HTTP status.
        }
        return $"{(int)e.Response.StatusCode} {e.Response.ReasonPhrase}";
    }
}
