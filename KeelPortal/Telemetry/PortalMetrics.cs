using System.Diagnostics.Metrics;

namespace KeelPortal.Telemetry;

/// <summary>
/// The instruments the slices record on, on the host's one meter (<see cref="IMeterFactory"/>, so two portals in one
/// process — the tests' replicas — each count their own). Where Keel has a metric for the same thing, it is recorded
/// under Keel's name too, so Keel's dashboards keep working.
/// </summary>
public sealed class PortalMetrics
{
    public PortalMetrics(IMeterFactory meters)
    {
        ArgumentNullException.ThrowIfNull(meters);
        Meter = meters.Create(PortalTelemetry.Name);
        RegistryRequests = Meter.CreateCounter<long>("keelportal.registry.requests", "{request}",
            "Requests sent to registries, by registry and HTTP status");
        RegistriesScanned = Meter.CreateCounter<long>("registries_scanned", "{scan}",
            "Keel's registries_scanned_total: repositories read by polls, by registry and image");
        PollCycles = Meter.CreateCounter<long>("keelportal.poll.cycles", "{cycle}", "Poll cycles of a repository, by outcome");
        PollDuration = Meter.CreateHistogram<double>("keelportal.poll.duration", "s", "Time of one poll of a repository");
        Webhooks = Meter.CreateCounter<long>("keelportal.webhooks", "{webhook}", "Webhooks received, by provider and outcome");
        Proposals = Meter.CreateCounter<long>("keelportal.proposals", "{proposal}", "Updates proposed, by whether they wait for votes");
        Votes = Meter.CreateCounter<long>("keelportal.votes", "{vote}", "Votes cast, by kind (approve or reject)");
        Applies = Meter.CreateCounter<long>("keelportal.applies", "{apply}", "Applies of approved updates, by provider and outcome");
        KubernetesVersionedUpdates = Meter.CreateCounter<long>("kubernetes_versioned_updates", "{update}",
            "Keel's kubernetes_versioned_updates_total: workloads updated to a new version, by workload (namespace/name)");
        KubernetesUnversionedUpdates = Meter.CreateCounter<long>("kubernetes_unversioned_updates", "{update}",
            "Keel's kubernetes_unversioned_updates_total: workloads updated without a new version (force, a tag's new digest), by workload");
        HelmVersionedUpdates = Meter.CreateCounter<long>("helm3_versioned_updates", "{update}",
            "Keel's helm3_versioned_updates_total: Helm releases updated to a new version, by release (namespace/name)");
        HelmUnversionedUpdates = Meter.CreateCounter<long>("helm3_unversioned_updates", "{update}",
            "Keel's helm3_unversioned_updates_total: Helm releases updated without a new version, by release");
        WebhookToApproval = Meter.CreateHistogram<double>("keelportal.webhook_to_approval.duration", "s",
            "From a webhook's arrival to its events planned (approval stored or nothing to do)");
        VoteToPatch = Meter.CreateHistogram<double>("keelportal.vote_to_patch.duration", "s",
            "From the final vote (approval approved) to the update sent to the cluster");
        Rollouts = Meter.CreateCounter<long>("keelportal.rollouts", "{rollout}", "Rollouts followed to their end, by outcome");
        Deliveries = Meter.CreateCounter<long>("keelportal.notification.deliveries", "{delivery}",
            "Notification delivery attempts, by channel kind and outcome");
    }

    public Meter Meter { get; }

    public Counter<long> RegistryRequests { get; }

    public Counter<long> RegistriesScanned { get; }

    public Counter<long> PollCycles { get; }

    public Histogram<double> PollDuration { get; }

    public Counter<long> Webhooks { get; }

    public Counter<long> Proposals { get; }

    public Counter<long> Votes { get; }

    public Counter<long> Applies { get; }

    public Counter<long> KubernetesVersionedUpdates { get; }

    public Counter<long> KubernetesUnversionedUpdates { get; }

    public Counter<long> HelmVersionedUpdates { get; }

    public Counter<long> HelmUnversionedUpdates { get; }

    /// <summary>
    /// Keel's update counters: <c>kubernetes_*</c> labelled <c>kubernetes="ns/name"</c>, <c>helm3_*</c> labelled
    /// <c>chart="ns/release"</c>; versioned when the new version is a version, unversioned otherwise.
    /// </summary>
    public void KeelUpdate(bool helm, string ns, string name, bool versioned)
    {
        var target = $"{ns}/{name}";
        var counter = (helm, versioned) switch
        {
            (true, true) => HelmVersionedUpdates,
            (true, false) => HelmUnversionedUpdates,
            (false, true) => KubernetesVersionedUpdates,
            _ => KubernetesUnversionedUpdates,
        };
        counter.Add(1, new KeyValuePair<string, object?>(helm ? "chart" : "kubernetes", target));
    }

    public Histogram<double> WebhookToApproval { get; }

    public Histogram<double> VoteToPatch { get; }

    public Counter<long> Rollouts { get; }

    public Counter<long> Deliveries { get; }

    /// <summary>The last <c>ratelimit-remaining</c> each registry answered (Docker Hub's pull limit), for a gauge.</summary>
    public System.Collections.Concurrent.ConcurrentDictionary<string, long> RateLimitRemaining { get; } = new(StringComparer.Ordinal);

    public void ObserveRateLimit(string registry, HttpResponseMessage response)
    {
        if (response.Headers.TryGetValues("ratelimit-remaining", out var values)
            && long.TryParse(values.First().Split(';')[0], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var remaining))
        {
            RateLimitRemaining[registry] = remaining;
        }
    }

    /// <summary>
    /// Keel's <c>&lt;provider&gt;_webhook_requests_total</c>, one counter per provider under Keel's name for it
    /// (<c>Github_webhook_requests_total</c>, <c>registry_notification_requests_total</c>), labelled by image.
    /// </summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, Counter<long>> keelWebhookCounters = new(StringComparer.Ordinal);

    public static string KeelWebhookMetric(string provider) => provider switch
    {
        "github" => "Github_webhook_requests",
        "registry" => "registry_notification_requests",
        _ => $"{provider}_webhook_requests",
    };

    public void KeelWebhook(string provider, IEnumerable<string> images)
    {
        ArgumentNullException.ThrowIfNull(images);
        var counter = keelWebhookCounters.GetOrAdd(provider, p => Meter.CreateCounter<long>(KeelWebhookMetric(p), "{request}", $"Keel's {KeelWebhookMetric(p)}_total, by image"));
        foreach (var image in images.Distinct(StringComparer.Ordinal))
        {
            counter.Add(1, new KeyValuePair<string, object?>("image", image));
        }
    }
}
