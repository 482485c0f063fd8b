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
        KeelVersionedUpdates = Meter.CreateCounter<long>("kubernetes_versioned_updates", "{update}",
            "Keel's kubernetes_versioned_updates_total: updates applied to workloads, by image");
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

    public Counter<long> KeelVersionedUpdates { get; }

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

    /// <summary>Keel's <c>&lt;provider&gt;_webhook_requests_total</c>, one counter per provider as Keel names them.</summary>
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, Counter<long>> keelWebhookCounters = new(StringComparer.Ordinal);

    public void KeelWebhook(string provider) =>
        keelWebhookCounters.GetOrAdd(provider, p => Meter.CreateCounter<long>($"{p}_webhook_requests", "{request}", $"Keel's {p}_webhook_requests_total")).Add(1);
}
