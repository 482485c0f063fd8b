using System.Collections.Concurrent;
using Google.Cloud.PubSub.V1;
using Google.Protobuf;
using Google.Protobuf.WellKnownTypes;
using Grpc.Core;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace KeelPortal.Tests.TestSupport;

/// <summary>
/// Google Pub/Sub's <c>Publisher</c> and <c>Subscriber</c> gRPC services, hosted in-process from the client package's own
/// service definitions on a loopback HTTP/2 port (what <c>PUBSUB_EMULATOR_HOST</c> points at): topics, subscriptions,
/// StreamingPull with acknowledgements and redelivery — a message not acknowledged when its stream ends goes back to
/// the queue and is delivered again.
/// </summary>
public sealed class PubSubImitation : IAsyncDisposable
{
    private readonly WebApplication app;
    private readonly State state = new();

    private PubSubImitation()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.ConfigureKestrel(k => k.Listen(System.Net.IPAddress.Loopback, 0, l => l.Protocols = HttpProtocols.Http2));
        builder.Logging.ClearProviders();
        builder.Services.AddGrpc();
        builder.Services.AddSingleton(state);
        app = builder.Build();
        app.MapGrpcService<PublisherService>();
        app.MapGrpcService<SubscriberService>();
    }

    public string Host { get; private set; } = "";

    public IReadOnlyCollection<string> Topics => state.Topics.Keys.ToList();

    public IReadOnlyCollection<string> Subscriptions => state.Subscriptions.Keys.ToList();

    /// <summary>How often each message was delivered, and how often acknowledged.</summary>
    public ConcurrentDictionary<string, int> Deliveries => state.Deliveries;

    public ConcurrentDictionary<string, int> Acks => state.Acks;

    /// <summary>The next delivery's stream is broken right after the message is written, before it can be acknowledged.</summary>
    public bool BreakAfterNextDelivery
    {
        get => state.BreakAfterNextDelivery;
        set => state.BreakAfterNextDelivery = value;
    }

    public static async Task<PubSubImitation> StartAsync()
    {
        var imitation = new PubSubImitation();
        await imitation.app.StartAsync();
        imitation.Host = Loopback.Address(imitation.app).Replace("http://", "", StringComparison.Ordinal);
        return imitation;
    }

    public async ValueTask DisposeAsync() => await app.DisposeAsync();

    /// <summary>Publishes to every subscription of the topic; the message's id.</summary>
    public string Publish(string topic, string json)
    {
        var id = Guid.NewGuid().ToString("N");
        var message = new PubsubMessage { MessageId = id, Data = ByteString.CopyFromUtf8(json), PublishTime = Timestamp.FromDateTime(DateTime.UtcNow) };
        foreach (var subscription in state.Subscriptions.Values.Where(s => s.Topic == topic))
        {
            subscription.Queue.Enqueue(message);
            subscription.Arrived.Release();
        }
        return id;
    }

    internal sealed class Subscription(string topic)
    {
        public string Topic { get; } = topic;
        public ConcurrentQueue<PubsubMessage> Queue { get; } = new();
        public SemaphoreSlim Arrived { get; } = new(0);
        public ConcurrentDictionary<string, PubsubMessage> Outstanding { get; } = new();
    }

    internal sealed class State
    {
        public ConcurrentDictionary<string, Topic> Topics { get; } = new();
        public ConcurrentDictionary<string, (Google.Cloud.PubSub.V1.Subscription Config, Subscription Live)> SubscriptionEntries { get; } = new();
        public ConcurrentDictionary<string, Subscription> Subscriptions { get; } = new();
        public ConcurrentDictionary<string, int> Deliveries { get; } = new();
        public ConcurrentDictionary<string, int> Acks { get; } = new();
        public volatile bool BreakAfterNextDelivery;

        public void Ack(IEnumerable<string> ackIds)
        {
            foreach (var ackId in ackIds)
            {
                var name = ackId.Split('|')[0];
                if (Subscriptions.TryGetValue(name, out var subscription) && subscription.Outstanding.TryRemove(ackId, out var message))
                {
                    Acks.AddOrUpdate(message.MessageId, 1, (_, n) => n + 1);
                }
            }
        }

        public void Nack(IEnumerable<string> ackIds)
        {
            foreach (var ackId in ackIds)
            {
                var name = ackId.Split('|')[0];
                if (Subscriptions.TryGetValue(name, out var subscription) && subscription.Outstanding.TryRemove(ackId, out var message))
                {
                    subscription.Queue.Enqueue(message);
                    subscription.Arrived.Release();
                }
            }
        }
    }

    private sealed class PublisherService(State state) : Publisher.PublisherBase
    {
        public override Task<Topic> CreateTopic(Topic request, ServerCallContext context) =>
            state.Topics.TryAdd(request.Name, request) ? Task.FromResult(request) : throw new RpcException(new Status(StatusCode.AlreadyExists, "Topic already exists"));

        public override Task<Topic> GetTopic(GetTopicRequest request, ServerCallContext context) =>
            state.Topics.TryGetValue(request.Topic, out var topic) ? Task.FromResult(topic) : throw new RpcException(new Status(StatusCode.NotFound, "Topic not found"));
    }

    private sealed class SubscriberService(State state) : Subscriber.SubscriberBase
    {
        public override Task<Google.Cloud.PubSub.V1.Subscription> CreateSubscription(Google.Cloud.PubSub.V1.Subscription request, ServerCallContext context)
        {
            if (!state.Topics.ContainsKey(request.Topic))
            {
                throw new RpcException(new Status(StatusCode.NotFound, "Topic not found"));
            }
            if (!state.SubscriptionEntries.TryAdd(request.Name, (request, new Subscription(request.Topic))))
            {
                throw new RpcException(new Status(StatusCode.AlreadyExists, "Subscription already exists"));
            }
            state.Subscriptions[request.Name] = state.SubscriptionEntries[request.Name].Live;
            return Task.FromResult(request);
        }

        public override Task<Google.Cloud.PubSub.V1.Subscription> GetSubscription(GetSubscriptionRequest request, ServerCallContext context) =>
            state.SubscriptionEntries.TryGetValue(request.Subscription, out var entry)
                ? Task.FromResult(entry.Config)
                : throw new RpcException(new Status(StatusCode.NotFound, "Subscription does not exist"));

        public override Task<Empty> Acknowledge(AcknowledgeRequest request, ServerCallContext context)
        {
            state.Ack(request.AckIds);
            return Task.FromResult(new Empty());
        }

        public override Task<Empty> ModifyAckDeadline(ModifyAckDeadlineRequest request, ServerCallContext context)
        {
            if (request.AckDeadlineSeconds == 0)
            {
                state.Nack(request.AckIds);
            }
            return Task.FromResult(new Empty());
        }

        public override async Task StreamingPull(IAsyncStreamReader<StreamingPullRequest> requestStream, IServerStreamWriter<StreamingPullResponse> responseStream, ServerCallContext context)
        {
            if (!await requestStream.MoveNext(context.CancellationToken) || !state.Subscriptions.TryGetValue(requestStream.Current.Subscription, out var subscription))
            {
                throw new RpcException(new Status(StatusCode.NotFound, "Subscription does not exist"));
            }
            var name = requestStream.Current.Subscription;
            using var stream = CancellationTokenSource.CreateLinkedTokenSource(context.CancellationToken);
            var mine = new List<string>();
            var reading = Task.Run(async () =>
            {
                try
                {
                    while (await requestStream.MoveNext(stream.Token))
                    {
                        var request = requestStream.Current;
                        state.Ack(request.AckIds);
                        state.Nack(request.ModifyDeadlineAckIds.Zip(request.ModifyDeadlineSeconds).Where(p => p.Second == 0).Select(p => p.First));
                    }
                }
                catch (Exception e) when (e is OperationCanceledException or IOException or InvalidOperationException or RpcException)
                {
                }
            });
            try
            {
                while (!stream.IsCancellationRequested)
                {
                    await subscription.Arrived.WaitAsync(stream.Token);
                    if (!subscription.Queue.TryDequeue(out var message))
                    {
                        continue;
                    }
                    var ackId = $"{name}|{Guid.NewGuid():N}";
                    subscription.Outstanding[ackId] = message;
                    mine.Add(ackId);
                    var attempt = state.Deliveries.AddOrUpdate(message.MessageId, 1, (_, n) => n + 1);
                    await responseStream.WriteAsync(new StreamingPullResponse { ReceivedMessages = { new Google.Cloud.PubSub.V1.ReceivedMessage { AckId = ackId, Message = message, DeliveryAttempt = attempt } } });
                    if (state.BreakAfterNextDelivery)
                    {
                        state.BreakAfterNextDelivery = false;
                        throw new RpcException(new Status(StatusCode.Unavailable, "the stream was broken"));
                    }
                }
            }
            catch (OperationCanceledException) when (stream.IsCancellationRequested)
            {
            }
            finally
            {
                // What this stream delivered and nobody acknowledged goes back to the queue.
                state.Nack(mine);
                await stream.CancelAsync();
                await reading;
            }
        }
    }
}
