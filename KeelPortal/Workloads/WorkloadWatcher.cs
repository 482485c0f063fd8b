using Microsoft.Extensions.Options;

namespace KeelPortal.Workloads;

/// <summary>
/// Keeps <see cref="WorkloadCatalog"/> current: connects (and reconnects) to the cluster, then list-then-watch for
/// the four workload kinds, pods and nodes, with a full list again on 410 Gone and every resync interval, and a
/// re-watch from the last seen version when a watch simply ends. A single writer loop persists the changes.
/// </summary>
public sealed partial class WorkloadWatcher(
    ClusterConnection connection,
    ClusterLeadership leadership,
    WorkloadCatalog catalog,
    IEnumerable<IWorkloadProvider> providers,
    IOptions<WorkloadsOptions> options,
    TimeProvider time,
    ILogger<WorkloadWatcher> logger) : BackgroundService
{
    private readonly TaskCompletionSource firstSnapshot = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource listedOnce = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, string> failing = new(StringComparer.Ordinal);
    private int informersToSync;

    /// <summary>
    /// Completes once every list has been read and written to the database the first time; fails at once with the
    /// reason when no cluster is configured.
    /// </summary>
    public Task FirstSnapshot => firstSnapshot.Task;

    /// <summary>
    /// Whether this replica's catalog is the cluster as it is now: it watches (it leads), and its snapshot of this
    /// term is written. Only then may a rollout be judged from it.
    /// </summary>
    public bool Current { get; private set; }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (connection.Client is not { } client)
        {
            LogNoCluster(connection.Status.Message);
            firstSnapshot.TrySetException(new InvalidOperationException(connection.Status.Message));
            return;
        }
        await ConnectAsync(client, stoppingToken);
        // Only the replica holding the lease watches; one that loses it stops, and lists afresh if it leads again.
        while (!stoppingToken.IsCancellationRequested)
        {
            var lease = await leadership.LeadAsync(stoppingToken);
            using var watching = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, lease);
            try
            {
                await WatchAsync(client, watching.Token);
            }
            catch (OperationCanceledException) when (lease.IsCancellationRequested && !stoppingToken.IsCancellationRequested)
            {
                // Leadership moved to another replica.
            }
            finally
            {
                Current = false;
            }
        }
    }

    private async Task WatchAsync(IWorkloadClient client, CancellationToken ct)
    {
        var o = options.Value;
        var scopes = o.Scopes();
        var informers = new List<Func<Task>>();
        var host = new Host(this, client, ct);
        foreach (var scope in scopes)
        {
            foreach (var provider in providers)
            {
                foreach (var list in provider.Lists(client, scope))
                {
                    informers.Add(() => list.RunAsync(host, ct));
                }
            }
        }
        var nodes = new WatchedList<k8s.Models.V1Node>("nodes",
            (c, token) => client.ListNodesAsync(c, token), (rv, token) => client.WatchNodesAsync(rv, token),
            catalog.ReplaceNodes, (t, n) => catalog.ApplyNode(t, n), n => n.Metadata.ResourceVersion);
        informers.Add(() => nodes.RunAsync(host, ct));
        informersToSync = informers.Count;
        await Task.WhenAll([WriteLoopAsync(ct), .. informers.Select(i => Task.Run(i, ct))]);
        ct.ThrowIfCancellationRequested();
    }

    private sealed class Host(WorkloadWatcher watcher, IWorkloadClient client, CancellationToken stopping) : IInformerHost
    {
        public Task InformAsync<T>(WatchedList<T> list, CancellationToken ct) => watcher.InformAsync(list, client, stopping);
    }

    private async Task ConnectAsync(IWorkloadClient client, CancellationToken ct)
    {
        while (!ct.IsCancellationRequested)
        {
            try
            {
                var version = await client.ServerVersionAsync(ct);
                var target = client.Describe();
                connection.Report(ClusterState.Connected, target, $"connected to {target}", version);
                LogConnected(target, version);
                return;
            }
            catch (KubernetesApiException e)
            {
                ReportUnreachable(client, e);
                await Task.Delay(options.Value.ReconnectDelay, time, ct);
            }
        }
    }

    private async Task InformAsync<T>(WatchedList<T> source, IWorkloadClient client, CancellationToken ct)
    {
        var (what, list, watch, replace, apply, versionOf) = source;
        var synced = false;
        while (!ct.IsCancellationRequested)
        {
            try
            {
                var items = new List<T>();
                string? next = null;
                string version;
                do
                {
                    var page = await list(next, ct);
                    items.AddRange(page.Items);
                    next = page.Continue;
                    version = page.ResourceVersion;
                }
                while (next is not null);
                replace(items);
                failing.TryRemove(what, out _);
                if (failing.IsEmpty)
                {
                    connection.Report(ClusterState.Connected, client.Describe(), $"connected to {client.Describe()}", null);
                }
                if (!synced)
                {
                    synced = true;
                    if (Interlocked.Decrement(ref informersToSync) == 0)
                    {
                        listedOnce.TrySetResult();
                        catalog.Nudge();
                    }
                }
                version = await WatchUntilResyncAsync(what, watch, apply, versionOf, version, ct);
            }
            catch (KubernetesApiException e)
            {
                if (e.Status == 0)
                {
                    failing[what] = e.Message;
                    ReportUnreachable(client, e);
                }
                else
                {
                    LogListFailed(what, e.Status, e.Message);
                    ReportDegraded(client, what, $"listing {what} failed with {e.Status}: {e.Message}");
                }
                await Task.Delay(options.Value.ReconnectDelay, time, ct);
            }
#pragma warning disable CA1031 // An informer must outlive any one bad response; it logs and lists again.
            catch (Exception e) when (e is not OperationCanceledException)
#pragma warning restore CA1031
            {
                LogInformerFailed(e, what);
                ReportDegraded(client, what, $"following {what} failed: {e.Message}");
                await Task.Delay(options.Value.ReconnectDelay, time, ct);
            }
        }
    }

    /// <summary>Watches from <paramref name="version"/> until the resync time or a 410; a watch that just ends is resumed.</summary>
    private async Task<string> WatchUntilResyncAsync<T>(
        string what, Func<string, CancellationToken, IAsyncEnumerable<Change<T>>> watch, Action<ChangeType, T> apply,
        Func<T, string> versionOf, string version, CancellationToken ct)
    {
        using var resync = new CancellationTokenSource(options.Value.ResyncInterval, time);
        using var linked = CancellationTokenSource.CreateLinkedTokenSource(ct, resync.Token);
        try
        {
            while (!linked.IsCancellationRequested)
            {
                var started = time.GetTimestamp();
                var seen = 0;
                await foreach (var change in watch(version, linked.Token).WithCancellation(linked.Token))
                {
                    if (change.Type == ChangeType.Expired)
                    {
                        LogExpired(what, version);
                        return version;
                    }
                    apply(change.Type, change.Value!);
                    version = versionOf(change.Value!);
                    seen++;
                }
                if (seen == 0 && time.GetElapsedTime(started) < TimeSpan.FromSeconds(1))
                {
                    // A server that keeps closing watches at once must not be asked again in a tight loop.
                    await Task.Delay(options.Value.ReconnectDelay, time, linked.Token);
                }
            }
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            // Resync time: list again.
        }
        return version;
    }

    private async Task WriteLoopAsync(CancellationToken ct)
    {
        // The first write waits for every list, so each workload is written once with its pods and nodes known.
        await listedOnce.Task.WaitAsync(ct);
        var pruned = false;
        while (await catalog.WaitForChangesAsync(ct))
        {
            try
            {
                await catalog.FlushAsync(ct);
                if (!pruned)
                {
                    pruned = true;
                    await catalog.PruneAsync(ct);
                    Current = true;
                    LogFirstSnapshot(catalog.Count);
                    firstSnapshot.TrySetResult();
                }
            }
            catch (Exception e) when (e is Microsoft.EntityFrameworkCore.DbUpdateException or Microsoft.Data.Sqlite.SqliteException)
            {
                LogWriteFailed(e);
                await Task.Delay(options.Value.ReconnectDelay, time, ct);
            }
        }
    }

    /// <summary>The API server answers, but not as it should: the Overview says so (with since when) instead of "Connected".</summary>
    private void ReportDegraded(IWorkloadClient client, string what, string reason)
    {
        failing[what] = reason;
        var target = client.Describe();
        connection.Report(ClusterState.Degraded, target,
            $"{target} answers with errors: {reason}. Workloads may be out of date; KeelPortal keeps trying every {options.Value.ReconnectDelay.TotalSeconds:0.#} s.", null);
    }

    private void ReportUnreachable(IWorkloadClient client, KubernetesApiException e)
    {
        var message = $"cannot reach {client.Describe()}: {e.Message}. KeelPortal keeps trying every {options.Value.ReconnectDelay.TotalSeconds:0.#} s.";
        var target = client.Describe();
        if (connection.Status.State != ClusterState.Unreachable)
        {
            LogUnreachable(target, e.Message);
        }
        connection.Report(ClusterState.Unreachable, target, message, null);
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "No Kubernetes cluster: {Reason}")]
    private partial void LogNoCluster(string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Connected to {Cluster}, Kubernetes {Version}")]
    private partial void LogConnected(string cluster, string version);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cannot reach {Cluster}: {Reason}")]
    private partial void LogUnreachable(string cluster, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Listing {What} failed with {Status}: {Reason}")]
    private partial void LogListFailed(string what, int status, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "The watch of {What} from version {Version} expired; listing again")]
    private partial void LogExpired(string what, string version);

    [LoggerMessage(Level = LogLevel.Error, Message = "Following {What} failed; listing again")]
    private partial void LogInformerFailed(Exception exception, string what);

    [LoggerMessage(Level = LogLevel.Information, Message = "First snapshot of the cluster written: {Count} workloads")]
    private partial void LogFirstSnapshot(int count);

    [LoggerMessage(Level = LogLevel.Error, Message = "Writing workload snapshots to the database failed; retrying")]
    private partial void LogWriteFailed(Exception exception);
}
