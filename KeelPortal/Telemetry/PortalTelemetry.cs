using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace KeelPortal.Telemetry;

/// <summary>
/// The portal's one <see cref="Meter"/> and <see cref="ActivitySource"/>, and the instruments the slices record on.
/// Where Keel has a metric for the same thing, it is recorded under Keel's name too, so Keel's dashboards keep working.
/// </summary>
public static class PortalTelemetry
{
    public const string Name = "KeelPortal";

    public static readonly ActivitySource Source = new(Name);

    public static readonly Meter Meter = new(Name);

    public static readonly Counter<long> RegistryRequests = Meter.CreateCounter<long>("keelportal.registry.requests", "{request}",
        "Requests sent to registries, by registry and HTTP status");

    public static readonly Counter<long> RegistriesScanned = Meter.CreateCounter<long>("registries_scanned", "{scan}",
        "Keel's registries_scanned_total: repositories read by polls, by registry and image");

    public static readonly Counter<long> PollCycles = Meter.CreateCounter<long>("keelportal.poll.cycles", "{cycle}", "Poll cycles of a repository, by outcome");

    public static readonly Histogram<double> PollDuration = Meter.CreateHistogram<double>("keelportal.poll.duration", "s", "Time of one poll of a repository");

    public static readonly Counter<long> Webhooks = Meter.CreateCounter<long>("keelportal.webhooks", "{webhook}", "Webhooks received, by provider and outcome");

    public static readonly Counter<long> Proposals = Meter.CreateCounter<long>("keelportal.proposals", "{proposal}", "Updates proposed, by whether they wait for votes");

    public static readonly Counter<long> Votes = Meter.CreateCounter<long>("keelportal.votes", "{vote}", "Votes cast, by kind (approve or reject)");

    public static readonly Counter<long> Applies = Meter.CreateCounter<long>("keelportal.applies", "{apply}", "Applies of approved updates, by provider and outcome");

    public static readonly Counter<long> KeelVersionedUpdates = Meter.CreateCounter<long>("kubernetes_versioned_updates", "{update}",
        "Keel's kubernetes_versioned_updates_total: updates applied to workloads, by image");

    public static readonly Histogram<double> WebhookToApproval = Meter.CreateHistogram<double>("keelportal.webhook_to_approval.duration", "s",
        "From a webhook's arrival to its events planned (approval stored or nothing to do)");

    public static readonly Histogram<double> VoteToPatch = Meter.CreateHistogram<double>("keelportal.vote_to_patch.duration", "s",
        "From the final vote (approval approved) to the update sent to the cluster");

    public static readonly Counter<long> Rollouts = Meter.CreateCounter<long>("keelportal.rollouts", "{rollout}", "Rollouts followed to their end, by outcome");

    public static readonly Counter<long> Deliveries = Meter.CreateCounter<long>("keelportal.notification.deliveries", "{delivery}",
        "Notification delivery attempts, by channel kind and outcome");

    /// <summary>Starts a span that continues the trace a stored W3C context names (a new trace when there is none).</summary>
    public static Activity? StartIn(string name, string? traceParent, params (string Key, object? Value)[] tags)
    {
        var parent = ActivityContext.TryParse(traceParent, null, out var context) ? context : default;
        var activity = Source.StartActivity(name, ActivityKind.Internal, parent);
        foreach (var (key, value) in tags)
        {
            activity?.SetTag(key, value);
        }
        return activity;
    }

    /// <summary>Records a span that already happened (a rollout followed from watch events) in the trace it belongs to.</summary>
    public static void Finished(string name, string? traceParent, DateTimeOffset started, DateTimeOffset ended, params (string Key, object? Value)[] tags)
    {
        using var activity = StartIn(name, traceParent, tags);
        activity?.SetStartTime(started.UtcDateTime);
        activity?.SetEndTime(ended.UtcDateTime);
    }

    /// <summary>The last <c>ratelimit-remaining</c> each registry answered (Docker Hub's pull limit), for a gauge.</summary>
    public static readonly System.Collections.Concurrent.ConcurrentDictionary<string, long> RateLimitRemaining = new(StringComparer.Ordinal);

    public static void ObserveRateLimit(string registry, HttpResponseMessage response)
    {
        if (response.Headers.TryGetValues("ratelimit-remaining", out var values)
            && long.TryParse(values.First().Split(';')[0], System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var remaining))
        {
            RateLimitRemaining[registry] = remaining;
        }
    }

    /// <summary>Keel's <c>&lt;provider&gt;_webhook_requests_total</c>, one counter per provider as Keel names them.</summary>
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, Counter<long>> KeelWebhookCounters = new(StringComparer.Ordinal);

    public static void KeelWebhook(string provider) =>
        KeelWebhookCounters.GetOrAdd(provider, p => Meter.CreateCounter<long>($"{p}_webhook_requests", "{request}", $"Keel's {p}_webhook_requests_total")).Add(1);
}
