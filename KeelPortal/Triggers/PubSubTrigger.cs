using Google.Cloud.PubSub.V1;
using Grpc.Core;
using Microsoft.Extensions.Options;

namespace KeelPortal.Triggers;

/// <summary><c>Triggers:PubSub</c>: Google Container Registry's push notifications, as Keel reads them.</summary>
public sealed class PubSubOptions
{
    /// <summary>Subscribe (Keel: <c>PUBSUB</c> set to anything, chart <c>gcr.pubSub.enabled</c>).</summary>
    public bool Enabled { get; set; }

    /// <summary>The Google Cloud project whose registry publishes (Keel: <c>PROJECT_ID</c>).</summary>
    public string? ProjectId { get; set; }

    /// <summary>Names this cluster's subscription, so each cluster gets every message (Keel: <c>CLUSTER_NAME</c>).</summary>
    public string? ClusterName { get; set; }

    /// <summary>The topic the registry publishes to.</summary>
    public string Topic { get; set; } = "gcr";

    /// <summary>A Pub/Sub emulator's <c>host:port</c>, spoken to without TLS or credentials (<c>PUBSUB_EMULATOR_HOST</c>).</summary>
    public string? EmulatorHost { get; set; }

    /// <summary>The subscription Keel names: <c>keel-&lt;cluster&gt;-&lt;project&gt;-&lt;topic&gt;</c>.</summary>
    public string SubscriptionId => $"keel-{(string.IsNullOrWhiteSpace(ClusterName) ? "unknown" : ClusterName.Trim())}-{ProjectId}-{Topic}";
}

public enum PubSubState { Off, Connecting, Subscribed, Failing }

/// <summary>What the Overview and <c>/readyz</c> show of the subscription.</summary>
public sealed record PubSubStatus(PubSubState State, DateTimeOffset Since, string Message);

/// <summary>
/// Google Container Registry's notifications on Pub/Sub, as Keel's <c>PUBSUB</c> trigger: the topic and this cluster's
/// subscription are created when missing, and each <c>{"action":"INSERT","tag":…}</c> message is taken like a registry
/// webhook — checked by the same grammar, repeats dropped, committed with its planning (<see cref="WebhookInbox"/>) — and
/// acknowledged only after that commit: a message whose recording fails is refused (nack) and redelivered, never lost.
/// A broken stream is reopened with backoff.
/// </summary>
public sealed partial class PubSubTrigger(
    IOptions<TriggersOptions> options, WebhookInbox inbox, WebhookBursts bursts, TimeProvider time, ILogger<PubSubTrigger> logger) : BackgroundService
{
    private PubSubStatus status = new(PubSubState.Off, time.GetUtcNow(), "Pub/Sub is not enabled (Triggers:PubSub:Enabled, Keel's PUBSUB)");

    public PubSubStatus Status => Volatile.Read(ref status);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var settings = options.Value.PubSub;
        if (!settings.Enabled)
        {
            return;
        }
        var delay = TimeSpan.FromSeconds(1);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                Set(PubSubState.Connecting, $"connecting to {settings.SubscriptionId}");
                var subscription = await EnsureAsync(settings, stoppingToken);
                var subscriber = await new SubscriberClientBuilder
                {
                    SubscriptionName = subscription,
                    Endpoint = settings.EmulatorHost,
                    ChannelCredentials = settings.EmulatorHost is null ? null : ChannelCredentials.Insecure,
                    Settings = new SubscriberClient.Settings { AckDeadline = TimeSpan.FromSeconds(30) },
                }.BuildAsync(stoppingToken);
                var running = subscriber.StartAsync(HandleAsync);
                Set(PubSubState.Subscribed, $"subscribed to {subscription}");
                delay = TimeSpan.FromSeconds(1);
                await using (stoppingToken.Register(() => _ = subscriber.StopAsync(new SubscriberClient.ShutdownOptions { Timeout = TimeSpan.FromSeconds(10) }, CancellationToken.None)))
                {
                    await running;
                }
            }
            catch (Exception e) when (!stoppingToken.IsCancellationRequested && e is RpcException or InvalidOperationException or IOException or HttpRequestException)
            {
                var reason = e is RpcException rpc ? Explain(rpc, settings) : e.Message;
                if (Status.State != PubSubState.Failing || Status.Message != reason)
                {
                    LogFailing(settings.SubscriptionId, reason, delay);
                }
                Set(PubSubState.Failing, reason, keepSince: Status.State == PubSubState.Failing);
            }
            if (!stoppingToken.IsCancellationRequested)
            {
                await Task.Delay(delay, time, stoppingToken).ContinueWith(_ => { }, TaskScheduler.Default);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, TimeSpan.FromMinutes(1).Ticks));
            }
        }
    }

    /// <summary>The topic and the subscription, created when missing (as Keel does); the subscription's name.</summary>
    private static async Task<SubscriptionName> EnsureAsync(PubSubOptions settings, CancellationToken ct)
    {
        var topic = TopicName.FromProjectTopic(settings.ProjectId, settings.Topic);
        var subscription = SubscriptionName.FromProjectSubscription(settings.ProjectId, settings.SubscriptionId);
        var publisher = await new PublisherServiceApiClientBuilder
        {
            Endpoint = settings.EmulatorHost, ChannelCredentials = settings.EmulatorHost is null ? null : ChannelCredentials.Insecure,
        }.BuildAsync(ct);
        try
        {
            await publisher.GetTopicAsync(topic, ct);
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.NotFound)
        {
            await publisher.CreateTopicAsync(topic, ct);
        }
        var subscriber = await new SubscriberServiceApiClientBuilder
        {
            Endpoint = settings.EmulatorHost, ChannelCredentials = settings.EmulatorHost is null ? null : ChannelCredentials.Insecure,
        }.BuildAsync(ct);
        try
        {
            await subscriber.GetSubscriptionAsync(subscription, ct);
        }
        catch (RpcException e) when (e.StatusCode == StatusCode.NotFound)
        {
            await subscriber.CreateSubscriptionAsync(new Subscription { SubscriptionName = subscription, TopicAsTopicName = topic, AckDeadlineSeconds = 30 }, ct);
        }
        return subscription;
    }

    /// <summary>One message: recorded like a webhook, then acknowledged; refused (redelivered) when it could not be recorded.</summary>
    private async Task<SubscriberClient.Reply> HandleAsync(PubsubMessage message, CancellationToken ct)
    {
        var parsed = WebhookPayloads.PubSub(message.Data.Memory);
        if (parsed.Error is { } error)
        {
            // Hostile or foreign input is dropped with one log line: redelivering it would never make it readable.
            LogRefused(message.MessageId, Audit.LogText.Clean(error, 300));
            return SubscriberClient.Reply.Ack;
        }
        if (parsed.Events.Count == 0)
        {
            return SubscriberClient.Reply.Ack;
        }
        var fresh = bursts.TakeNew("pubsub", parsed.Events);
        try
        {
            await inbox.WriteAsync("pubsub/" + options.Value.PubSub.SubscriptionId,
                $"Pub/Sub message {message.MessageId}: {string.Join(", ", parsed.Events.Select(e => $"{e.Repository}:{e.Tag}"))}",
                fresh.Count > 0 ? new WebhookReceived("pubsub", fresh, System.Diagnostics.Activity.Current?.Id) : null, ct);
            return SubscriberClient.Reply.Ack;
        }
        catch (Exception e) when (e is InvalidOperationException or OperationCanceledException or Microsoft.EntityFrameworkCore.DbUpdateException)
        {
            bursts.Forget("pubsub", fresh);
            LogNotRecorded(message.MessageId, e.Message);
            return SubscriberClient.Reply.Nack;
        }
    }

    private static string Explain(RpcException e, PubSubOptions settings) => e.StatusCode switch
    {
        StatusCode.PermissionDenied => $"Pub/Sub refused ({e.Status.Detail}); grant roles/pubsub.subscriber on {settings.SubscriptionId} " +
            $"(and roles/pubsub.editor on project {settings.ProjectId} to create the topic and subscription)",
        StatusCode.Unauthenticated => $"Pub/Sub wants credentials ({e.Status.Detail}): set GOOGLE_APPLICATION_CREDENTIALS or use GKE workload identity",
        StatusCode.Unavailable => $"Pub/Sub is unreachable ({e.Status.Detail})",
        _ => $"Pub/Sub answered {e.StatusCode}: {e.Status.Detail}",
    };

    private void Set(PubSubState state, string message, bool keepSince = false) =>
        Volatile.Write(ref status, new PubSubStatus(state, keepSince ? Status.Since : time.GetUtcNow(), message));

    [LoggerMessage(Level = LogLevel.Warning, Message = "Pub/Sub subscription {Subscription} failing, trying again in {Delay}: {Reason}")]
    private partial void LogFailing(string subscription, string reason, TimeSpan delay);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Pub/Sub message {MessageId} refused: {Reason}")]
    private partial void LogRefused(string messageId, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Pub/Sub message {MessageId} was not recorded and will be delivered again: {Reason}")]
    private partial void LogNotRecorded(string messageId, string reason);
}
