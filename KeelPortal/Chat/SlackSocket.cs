using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using KeelPortal.Data;
using KeelPortal.Workloads;
using Microsoft.Extensions.Options;

namespace KeelPortal.Chat;

public enum SlackSocketState { Off, Standby, Connecting, Connected, Failing }

/// <summary>The Socket Mode connection as last seen: its state, since when, and why (a failure's reason, the next try).</summary>
public sealed record SlackSocketStatus(SlackSocketState State, DateTime SinceUtc, string Detail);

/// <summary>
/// Slack's Socket Mode (with <see cref="ChatOptions.SlackAppToken"/>): asks <c>apps.connections.open</c> for a WebSocket
/// address, connects, and for each envelope writes it to the outbox (<see cref="SlackEnvelopeReceived"/>, acted on once by
/// <see cref="SlackBot"/>) and then acknowledges it — well within Slack's 3 s, and never before it is stored, so an
/// envelope is either kept or sent again by Slack. A <c>disconnect</c> (a refresh, or its warning) opens a new
/// connection at once; failures are tried again with a growing delay. Only the replica that watches the cluster
/// (<see cref="ClusterLeadership"/>) holds the connection: one connection across replicas, and an envelope Slack sends
/// again reaches the replica that already has it.
/// </summary>
public sealed partial class SlackSocket(
    IServiceScopeFactory scopes, ClusterLeadership leadership, Outbox outbox, IOptions<ChatOptions> options, IOptions<Notifications.NotificationsOptions> notifications,
    TimeProvider time, ILogger<SlackSocket> logger) : BackgroundService
{
    private const int MaxFrame = 512 * 1024;
    private const int Remembered = 2048;
    private static readonly TimeSpan ConnectTimeout = TimeSpan.FromSeconds(10);
    private readonly HashSet<string> seen = new(StringComparer.Ordinal);
    private readonly Queue<string> seenOrder = new();

    public SlackSocketStatus Status { get; private set; } = new(SlackSocketState.Off, time.GetUtcNow().UtcDateTime, "no app-level token (Chat:SlackAppToken) is set");

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (string.IsNullOrEmpty(options.Value.SlackAppToken))
        {
            return;
        }
        while (!stoppingToken.IsCancellationRequested)
        {
            Set(SlackSocketState.Standby, "another replica holds the connection (the one that watches the cluster)");
            CancellationToken term;
            try
            {
                term = await leadership.LeadAsync(stoppingToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
            using var both = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, term);
            await ConnectLoopAsync(both.Token);
        }
    }

    private async Task ConnectLoopAsync(CancellationToken ct)
    {
        var failures = 0;
        while (!ct.IsCancellationRequested)
        {
            bool greeted;
            string why;
            try
            {
                (greeted, why) = await OneConnectionAsync(ct);
            }
            catch (OperationCanceledException) when (ct.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is WebSocketException or HttpRequestException or OperationCanceledException or JsonException or InvalidOperationException)
            {
                (greeted, why) = (false, e is OperationCanceledException ? "Slack did not answer in time" : e.Message);
            }
            failures = greeted ? 0 : failures + 1;
            if (greeted && why is "refresh_requested" or "warning")
            {
                LogReconnecting(why);
                continue;
            }
            var delay = Backoff(why == "link_disabled" ? 7 : failures);
            Set(SlackSocketState.Failing, $"{Explain(why)}; trying again in {delay.TotalSeconds:0} s");
            LogFailed(Explain(why), delay.TotalSeconds);
            try
            {
                await Task.Delay(delay, time, ct);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>One connection, from <c>apps.connections.open</c> to its end: whether Slack said hello on it, and why it ended.</summary>
    private async Task<(bool Greeted, string Why)> OneConnectionAsync(CancellationToken ct)
    {
        Set(SlackSocketState.Connecting, "asking Slack for a connection");
        SlackCall open;
        using (var scope = scopes.CreateScope())
        {
            open = await scope.ServiceProvider.GetRequiredService<SlackWebApi>().OpenConnectionAsync(ct);
        }
        if (!open.Ok)
        {
            return (false, $"apps.connections.open: {open.Error}");
        }
        if (!Uri.TryCreate(open.Answer!["url"]?.GetValue<string>(), UriKind.Absolute, out var url) || !Allowed(url))
        {
            return (false, "apps.connections.open answered no wss:// address");
        }
        using var socket = new ClientWebSocket();
        socket.Options.KeepAliveInterval = TimeSpan.FromSeconds(20);
        socket.Options.KeepAliveTimeout = TimeSpan.FromSeconds(20);
        using (var connecting = CancellationTokenSource.CreateLinkedTokenSource(ct))
        {
            connecting.CancelAfter(ConnectTimeout);
            await socket.ConnectAsync(url, connecting.Token);
        }
        var ended = await ReceiveAsync(socket, ct);
        if (socket.State == WebSocketState.Open)
        {
            using var closing = CancellationTokenSource.CreateLinkedTokenSource(ct);
            closing.CancelAfter(TimeSpan.FromSeconds(2));
            try
            {
                await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "reconnecting", closing.Token);
            }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException)
            {
                // The next connection does not wait for this one's goodbye.
            }
        }
        return ended;
    }

    private bool Allowed(Uri url) =>
        url.Scheme == "wss" || (url.Scheme == "ws" && notifications.Value.SlackApiUrl.Scheme == Uri.UriSchemeHttp && url.IsLoopback);

    private async Task<(bool Greeted, string Why)> ReceiveAsync(ClientWebSocket socket, CancellationToken ct)
    {
        var greeted = false;
        var chunk = new byte[16 * 1024];
        using var frame = new MemoryStream();
        while (true)
        {
            var read = await socket.ReceiveAsync(chunk, ct);
            if (read.MessageType == WebSocketMessageType.Close)
            {
                return (greeted, "closed");
            }
            frame.Write(chunk, 0, read.Count);
            if (frame.Length > MaxFrame)
            {
                return (greeted, $"Slack sent a message over {MaxFrame / 1024} KiB");
            }
            if (!read.EndOfMessage)
            {
                continue;
            }
            var text = Encoding.UTF8.GetString(frame.GetBuffer(), 0, (int)frame.Length);
            frame.SetLength(0);
            var root = JsonNode.Parse(text) as JsonObject;
            switch (root?["type"]?.GetValue<string>())
            {
                case "hello":
                    greeted = true;
                    Set(SlackSocketState.Connected, $"{root!["num_connections"]?.ToJsonString() ?? "1"} connection(s) of this app open");
                    LogConnected();
                    break;
                case "disconnect":
                    return (greeted, root!["reason"]?.GetValue<string>() ?? "closed");
                default:
                    if (root?["envelope_id"]?.GetValue<string>() is { Length: > 0 and <= 128 } envelope)
                    {
                        await EnvelopeAsync(socket, envelope, root, ct);
                    }
                    break;
            }
        }
    }

    /// <summary>Stores the envelope's work, then acknowledges it; one seen before (Slack sends again what it thinks was not acknowledged) is only acknowledged.</summary>
    private async Task EnvelopeAsync(ClientWebSocket socket, string envelope, JsonObject root, CancellationToken ct)
    {
        var type = root["type"]?.GetValue<string>() ?? "";
        if (!seen.Contains(envelope) && type is "interactive" or "events_api" && root["payload"] is JsonObject payload)
        {
            try
            {
                await outbox.PublishAsync(new SlackEnvelopeReceived(envelope, type, payload.ToJsonString()), ct);
            }
            catch (Exception e) when (e is Microsoft.EntityFrameworkCore.DbUpdateException or InvalidOperationException or System.Data.Common.DbException)
            {
                LogNotStored(type, e.Message);
                return; // Not acknowledged: Slack sends it again.
            }
        }
        Remember(envelope);
        var ack = Encoding.UTF8.GetBytes(new JsonObject { ["envelope_id"] = envelope }.ToJsonString());
        await socket.SendAsync(ack, WebSocketMessageType.Text, endOfMessage: true, ct);
    }

    private void Remember(string envelope)
    {
        if (seen.Add(envelope))
        {
            seenOrder.Enqueue(envelope);
            if (seenOrder.Count > Remembered)
            {
                seen.Remove(seenOrder.Dequeue());
            }
        }
    }

    private void Set(SlackSocketState state, string detail)
    {
        var since = Status.State == state ? Status.SinceUtc : time.GetUtcNow().UtcDateTime;
        Status = new SlackSocketStatus(state, since, detail);
    }

    private static string Explain(string why) => why switch
    {
        "link_disabled" => "Socket Mode was turned off for this Slack app",
        "closed" => "Slack closed the connection",
        "apps.connections.open: invalid_auth" or "apps.connections.open: not_authed" => "Slack refused the app-level token (Chat:SlackAppToken)",
        "apps.connections.open: not_allowed_token_type" => "the token is not an app-level token (xapp-…)",
        "apps.connections.open: missing_scope" => "the app-level token lacks the connections:write scope",
        _ => why,
    };

    /// <summary>1, 2, 4 … 60 s, each with up to a fifth more at random, so replicas and restarts do not knock in step.</summary>
    private static TimeSpan Backoff(int failures)
    {
        var seconds = Math.Min(60, Math.Pow(2, Math.Max(0, failures - 1)));
        return TimeSpan.FromSeconds(seconds * (1 + (RandomNumberGenerator.GetInt32(200) / 1000.0)));
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Connected to Slack in Socket Mode")]
    private partial void LogConnected();

    [LoggerMessage(Level = LogLevel.Information, Message = "Slack asked for a new connection ({Why}); reconnecting")]
    private partial void LogReconnecting(string why);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Slack's Socket Mode connection failed: {Why}; trying again in {Seconds:0} s")]
    private partial void LogFailed(string why, double seconds);

    [LoggerMessage(Level = LogLevel.Error, Message = "A Slack {Type} envelope could not be stored and was not acknowledged (Slack sends it again): {Why}")]
    private partial void LogNotStored(string type, string why);
}
