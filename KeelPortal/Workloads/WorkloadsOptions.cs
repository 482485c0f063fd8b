using System.ComponentModel.DataAnnotations;

namespace KeelPortal.Workloads;

/// <summary>Whether replicas elect one cluster watcher: with the PostgreSQL provider (auto), always (on) or never (off).</summary>
[System.ComponentModel.TypeConverter(typeof(Data.ModeConverter<LeaderElectionMode>))]
public enum LeaderElectionMode { Auto, On, Off }

public sealed class WorkloadsOptions
{
    public const string Section = "Workloads";

    /// <summary>Kubeconfig file; unset: <c>$KUBECONFIG</c>, else <c>~/.kube/config</c>. Used outside a cluster.</summary>
    public string? Kubeconfig { get; set; }

    /// <summary>Kubeconfig context; unset: the file's current context.</summary>
    public string? Context { get; set; }

    /// <summary>An explicit API server URL (with <see cref="Token"/>); wins over kubeconfig and in-cluster settings.</summary>
    [Url(ErrorMessage = "Workloads:Server must be a URL such as https://10.0.0.1:6443.")]
    public string? Server { get; set; }

    /// <summary>Bearer token for <see cref="Server"/>. A secret: never logged.</summary>
    public string? Token { get; set; }

    /// <summary>Accept any certificate from <see cref="Server"/>. Only for test clusters.</summary>
    public bool SkipTlsVerify { get; set; }

    /// <summary>The poll schedule of workloads with <c>keel.sh/trigger: poll</c> and no valid <c>keel.sh/pollSchedule</c> (Keel's default).</summary>
    [Required(AllowEmptyStrings = false)]
    public string DefaultPollSchedule { get; set; } = "@every 1m";

    /// <summary>
    /// How <c>force</c> + <c>matchTag</c> applies a tag's new digest where a workload's <c>keel.sh/forceUpdate</c> does not
    /// say: <c>pin</c> (the default) writes <c>repo:tag@sha256:…</c>; <c>restart</c> keeps <c>repo:tag</c> and rolls the
    /// pods through <c>keel.sh/update-time</c>, as Keel does (the containers need <c>imagePullPolicy: Always</c>).
    /// </summary>
    [RegularExpression("^(pin|restart)$", ErrorMessage = "Workloads:ForceUpdate must be pin or restart.")]
    public string ForceUpdate { get; set; } = "pin";

    /// <summary>Off: no repository is polled, whatever the workloads ask (Keel's <c>POLL=0</c>, chart <c>polling.enabled: false</c>); webhooks still work.</summary>
    public bool Polling { get; set; } = true;

    /// <summary>Namespaces to watch; empty means all namespaces.</summary>
    public List<string> Namespaces { get; set; } = [];

    /// <summary>The scopes to list and watch: each namespace once, or null for all of them.</summary>
    public IReadOnlyList<string?> Scopes() => Namespaces.Count == 0 ? [null] : [.. Namespaces.Distinct(StringComparer.Ordinal)];

    /// <summary>How often every list is read again in full, in case a watch missed something.</summary>
    [Range(typeof(TimeSpan), "00:00:10", "1.00:00:00", ErrorMessage = "Workloads:ResyncInterval must be between 00:00:10 and 1.00:00:00.")]
    public TimeSpan ResyncInterval { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>Wait before trying an unreachable cluster again.</summary>
    [Range(typeof(TimeSpan), "00:00:00.050", "00:10:00", ErrorMessage = "Workloads:ReconnectDelay must be between 00:00:00.050 and 00:10:00.")]
    public TimeSpan ReconnectDelay { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>How long a rollout may take before it is reported as timed out.</summary>
    [Range(typeof(TimeSpan), "00:00:01", "1.00:00:00", ErrorMessage = "Workloads:RolloutTimeout must be between 00:00:01 and 1.00:00:00.")]
    public TimeSpan RolloutTimeout { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// Whether a failed or stuck rollout's diagnosis also reads the last lines of the failing containers' logs (needs
    /// <c>get</c> on <c>pods/log</c>: the chart's <c>diagnostics.podLogs</c>). Off by default: logs may hold secrets.
    /// </summary>
    public bool PodLogs { get; set; }

    /// <summary>Attempts of an apply that keeps meeting a newer version of the workload.</summary>
    [Range(1, 20, ErrorMessage = "Workloads:MaxConflictRetries must be between 1 and 20.")]
    public int MaxConflictRetries { get; set; } = 5;

    /// <summary>
    /// Whether replicas elect one cluster watcher with a Kubernetes Lease: <c>auto</c> (on with the PostgreSQL
    /// provider, the one that runs several replicas), <c>on</c> or <c>off</c> (this instance always watches).
    /// </summary>
    public LeaderElectionMode LeaderElection { get; set; } = LeaderElectionMode.Auto;

    /// <summary>The Lease the replicas hold, in <see cref="LeaseNamespace"/>.</summary>
    [Required(AllowEmptyStrings = false)]
    public string LeaseName { get; set; } = "keelportal-watcher";

    /// <summary>The Lease's namespace; unset: <c>POD_NAMESPACE</c>, else the service account's namespace, else <c>default</c>.</summary>
    public string? LeaseNamespace { get; set; }

    /// <summary>This replica's name in the Lease; unset: <c>POD_NAME</c>, else the machine name and process id.</summary>
    public string? ReplicaName { get; set; }

    /// <summary>How long a leader's lease lasts without renewal: a replica that died is replaced within it.</summary>
    [Range(typeof(TimeSpan), "00:00:02", "00:05:00", ErrorMessage = "Workloads:LeaseDuration must be between 00:00:02 and 00:05:00.")]
    public TimeSpan LeaseDuration { get; set; } = TimeSpan.FromSeconds(15);
}
