using k8s.LeaderElection;
using KeelPortal.Data;
using Microsoft.Extensions.Options;

namespace KeelPortal.Workloads;

/// <summary>Published when the replica that watches the cluster changes.</summary>
public sealed record ClusterLeaderChanged(string? Leader, bool ThisReplica);

/// <summary>
/// Decides which replica watches the cluster and writes the workload catalog: with leader election on, the holder of a
/// Kubernetes Lease (KubernetesClient's leader election); otherwise this instance, always. The watcher runs only while
/// <see cref="LeadAsync"/> says so and stops when the lease is lost; another replica takes over within the lease's
/// duration and starts from a fresh list.
/// </summary>
public sealed partial class ClusterLeadership(
    ClusterConnection connection,
    IOptions<WorkloadsOptions> options,
    IOptions<DataOptions> data,
    EventHub events,
    ILogger<ClusterLeadership> logger) : BackgroundService
{
    private readonly Lock gate = new();
    private TaskCompletionSource<CancellationToken> leading = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private CancellationTokenSource? term;
    private ILock? leaseLock;

    /// <summary>This replica's name in the Lease: the pod's name in a cluster.</summary>
    public string Identity { get; } = options.Value.ReplicaName is { Length: > 0 } named ? named
        : Environment.GetEnvironmentVariable("POD_NAME") is { Length: > 0 } pod ? pod : $"{Environment.MachineName}-{Environment.ProcessId}";

    public bool Enabled => options.Value.LeaderElection switch
    {
        LeaderElectionMode.On => true,
        LeaderElectionMode.Off => false,
        _ => data.Value.IsPostgres,
    };

    /// <summary>The replica that watches the cluster now, as last seen; null while nobody holds the lease.</summary>
    public string? Leader { get; private set; }

    public bool IsLeader { get; private set; }

    /// <summary>Waits until this replica leads; the token it returns is cancelled when it stops leading.</summary>
    public Task<CancellationToken> LeadAsync(CancellationToken ct) => leading.Task.WaitAsync(ct);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!Enabled || connection.Client is not { } client)
        {
            Started(Identity);
            return;
        }
        var o = options.Value;
        var leaseNamespace = LeaseNamespace(o);
        leaseLock = client.LeaseLock(leaseNamespace, o.LeaseName, Identity);
        var config = new LeaderElectionConfig(leaseLock)
        {
            LeaseDuration = o.LeaseDuration,
            RenewDeadline = o.LeaseDuration * 2 / 3,
            RetryPeriod = o.LeaseDuration / 7,
        };
        LogElecting(Identity, leaseNamespace, o.LeaseName);
        while (!stoppingToken.IsCancellationRequested)
        {
            using var elector = new LeaderElector(config);
            elector.OnStartedLeading += () => Started(Identity);
            elector.OnStoppedLeading += Stopped;
            elector.OnNewLeader += NewLeader;
            try
            {
                await elector.RunUntilLeadershipLostAsync(stoppingToken);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                LogElectionFailed(e.Message);
                await Task.Delay(config.RetryPeriod, stoppingToken);
            }
            Stopped();
        }
        Stopped();
    }

    /// <summary>
    /// A replica that stops while leading (a rolling update, a drained node) gives the lease up, so another takes
    /// over at its next try instead of waiting for the lease to run out; one that dies is replaced when it runs out.
    /// </summary>
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        var wasLeading = IsLeader;
        await base.StopAsync(cancellationToken);
        if (wasLeading && leaseLock is { } held)
        {
            try
            {
                using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                bounded.CancelAfter(TimeSpan.FromSeconds(2));
                var record = await held.GetAsync(bounded.Token);
                if (record.HolderIdentity == Identity)
                {
                    record.HolderIdentity = "";
                    record.LeaseDurationSeconds = 1;
                    await held.UpdateAsync(record, bounded.Token);
                    LogReleased(Identity);
                }
            }
            catch (Exception e) when (e is OperationCanceledException or HttpRequestException or k8s.Autorest.HttpOperationException)
            {
                LogReleaseFailed(e.Message);
            }
        }
    }

    private void Started(string identity)
    {
        lock (gate)
        {
            term = new CancellationTokenSource();
            IsLeader = true;
            Leader = identity;
            leading.TrySetResult(term.Token);
        }
        LogLeading(identity);
        events.Publish(new ClusterLeaderChanged(identity, true));
    }

    private void Stopped()
    {
        CancellationTokenSource? ended;
        lock (gate)
        {
            if (!IsLeader)
            {
                return;
            }
            IsLeader = false;
            ended = term;
            term = null;
            leading = new TaskCompletionSource<CancellationToken>(TaskCreationOptions.RunContinuationsAsynchronously);
        }
        LogStoppedLeading(Identity);
        ended?.Cancel();
        ended?.Dispose();
        events.Publish(new ClusterLeaderChanged(Leader == Identity ? null : Leader, false));
    }

    private void NewLeader(string identity)
    {
        Leader = identity;
        events.Publish(new ClusterLeaderChanged(identity, identity == Identity));
    }

    private static string LeaseNamespace(WorkloadsOptions o)
    {
        if (o.LeaseNamespace is { Length: > 0 } configured)
        {
            return configured;
        }
        if (Environment.GetEnvironmentVariable("POD_NAMESPACE") is { Length: > 0 } pod)
        {
            return pod;
        }
        const string serviceAccount = "/var/run/secrets/kubernetes.io/serviceaccount/namespace";
        return File.Exists(serviceAccount) ? File.ReadAllText(serviceAccount).Trim() : "default";
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Replica {Identity} takes part in the election of the cluster watcher (Lease {Namespace}/{Name})")]
    private partial void LogElecting(string identity, string @namespace, string name);

    [LoggerMessage(Level = LogLevel.Information, Message = "Replica {Identity} watches the cluster")]
    private partial void LogLeading(string identity);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Replica {Identity} lost the lease: it stops watching the cluster")]
    private partial void LogStoppedLeading(string identity);

    [LoggerMessage(Level = LogLevel.Information, Message = "Replica {Identity} stopped and gave up the cluster watcher's lease")]
    private partial void LogReleased(string identity);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The cluster watcher's lease could not be given up; another replica takes it when it runs out: {Reason}")]
    private partial void LogReleaseFailed(string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The cluster watcher's election failed and is tried again: {Reason}")]
    private partial void LogElectionFailed(string reason);
}
