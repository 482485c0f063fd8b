using System.Collections.Concurrent;
using System.Globalization;
using System.Net.WebSockets;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace KeelPortal.Tests.TestSupport;

/// <summary>
/// Slack's Socket Mode and the Web API methods the bot uses, on a loopback port, checking what Slack checks:
/// <c>apps.connections.open</c> takes only the app-level token and hands out a single-use WebSocket ticket;
/// <c>auth.test</c>, <c>users.conversations</c> (paged) and <c>chat.postMessage</c> take only the bot token. On a
/// connection it says <c>hello</c>, sends envelopes, and — as Slack does — sends an envelope again (its
/// <c>retry_attempt</c> counted up) when it is not acknowledged within 3 s. <c>/respond/…</c> records what is posted to
/// an interaction's <c>response_url</c>.
/// </summary>
public sealed class SlackImitation : IAsyncDisposable
{
    public const string AppToken = "xapp-1-A0KEEL-1-socket-secret";
    public const string BotToken = "xoxb-0000-keel-bot-secret";
    public const string BotUserId = "U0KEELBOT";
    public const string ApprovalsChannelId = "C0APPROVALS";
    public const string GeneralChannelId = "C0GENERAL";
    private static readonly TimeSpan AckWithin = TimeSpan.FromSeconds(3);

    private readonly WebApplication app;
    private readonly ConcurrentDictionary<string, bool> tickets = new();
    private readonly ConcurrentQueue<Connection> connections = new();
    private readonly ConcurrentDictionary<string, TaskCompletionSource> acks = new();
    private readonly ConcurrentDictionary<string, (string Type, JsonObject Payload)> sent = new();
    private readonly ConcurrentQueue<JsonObject> posts = new();
    private readonly ConcurrentQueue<JsonObject> responses = new();
    private readonly CancellationTokenSource stopping = new();
    private int refusedOpens;
    private int retries;
    private long nextTs = 1_765_000_000;

    private SlackImitation()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls(Loopback.AnyPort);
        builder.Logging.ClearProviders();
        app = builder.Build();
        app.UseWebSockets();
        app.MapPost("/api/apps.connections.open", OpenAsync);
        app.MapPost("/api/auth.test", (HttpContext c) => Bot(c, () => new JsonObject { ["ok"] = true, ["user_id"] = BotUserId, ["user"] = "keel", ["bot_id"] = "B0KEEL" }));
        app.MapGet("/api/users.conversations", (HttpContext c) => Bot(c, () => Conversations(c.Request.Query["cursor"].ToString())));
        app.MapPost("/api/chat.postMessage", (Delegate)PostMessageAsync);
        app.MapPost("/respond/{**path}", async (HttpContext c) =>
        {
            var body = JsonNode.Parse(await new StreamReader(c.Request.Body).ReadToEndAsync(c.RequestAborted))!.AsObject();
            body["_path"] = c.Request.Path.Value;
            responses.Enqueue(body);
            return Results.Ok();
        });
        app.Map("/link/", LinkAsync);
    }

    public Uri BaseUrl { get; private set; } = null!;

    /// <summary>Where the portal's <c>Notifications:SlackApiUrl</c> points: the methods live beside it.</summary>
    public Uri ApiUrl => new(BaseUrl, "api/chat.postMessage");

    public Uri ResponseUrl(string path) => new(BaseUrl, "respond/" + path);

    /// <summary>Calls of <c>apps.connections.open</c> refused for their token.</summary>
    public int RefusedOpens => refusedOpens;

    /// <summary>Envelopes sent again because they were not acknowledged within 3 s.</summary>
    public int Retries => retries;

    /// <summary>Every WebSocket connection made, in order.</summary>
    public IReadOnlyList<Connection> Connections => connections.ToArray();

    public IReadOnlyList<Connection> Open => connections.Where(c => c.IsOpen).ToArray();

    /// <summary>Messages posted with <c>chat.postMessage</c>.</summary>
    public IReadOnlyList<JsonObject> Posts => posts.ToArray();

    /// <summary>Bodies posted to a <c>response_url</c> (<c>_path</c> says which).</summary>
    public IReadOnlyList<JsonObject> Responses => responses.ToArray();

    public static async Task<SlackImitation> StartAsync()
    {
        var slack = new SlackImitation();
        await slack.app.StartAsync();
        slack.BaseUrl = new Uri(Loopback.Address(slack.app) + "/");
        return slack;
    }

    /// <summary>Waits until <paramref name="count"/> connections were made and the newest is open (Slack said hello on it).</summary>
    public async Task<Connection> ConnectedAsync(int count = 1, TimeSpan? timeout = null)
    {
        await Eventually.TrueAsync(() => Connections.Count >= count && Connections[count - 1].IsOpen, timeout ?? TimeSpan.FromSeconds(30),
            $"{count} Socket Mode connection(s); {Connections.Count} made, {Open.Count} open, {RefusedOpens} refused");
        return Connections[count - 1];
    }

    /// <summary>Sends an envelope on the newest open connection; its id (given, to send one again as Slack would) is returned.</summary>
    public async Task<string> SendAsync(string type, JsonObject payload, string? envelopeId = null, int retryAttempt = 0)
    {
        var open = Open;
        var connection = (open.Count > 0 ? open[^1] : null) ?? throw new InvalidOperationException("no Socket Mode connection is open");
        var id = envelopeId ?? "env-" + Convert.ToHexString(RandomNumberGenerator.GetBytes(6)).ToLowerInvariant();
        sent[id] = (type, payload);
        var acked = acks.GetOrAdd(id, _ => new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        var envelope = new JsonObject
        {
            ["envelope_id"] = id, ["type"] = type, ["payload"] = payload.DeepClone(), ["accepts_response_payload"] = false,
            ["retry_attempt"] = retryAttempt, ["retry_reason"] = retryAttempt > 0 ? "timeout" : "",
        };
        await connection.SendAsync(envelope);
        if (retryAttempt < 3)
        {
            _ = RetryUnlessAckedAsync(acked.Task, type, payload, id, retryAttempt + 1);
        }
        return id;
    }

    /// <summary>A person's message as the Events API sends it (<c>message</c> or <c>app_mention</c>); its <c>ts</c> is returned.</summary>
    public async Task<(string Envelope, string Ts)> SayAsync(string user, string channel, string text, string eventType = "message", string channelType = "channel",
        string? botId = null, string? subtype = null)
    {
        var ts = NextTs();
        var e = new JsonObject { ["type"] = eventType, ["user"] = user, ["channel"] = channel, ["channel_type"] = channelType, ["text"] = text, ["ts"] = ts, ["event_ts"] = ts };
        if (botId is not null)
        {
            e["bot_id"] = botId;
        }
        if (subtype is not null)
        {
            e["subtype"] = subtype;
        }
        var payload = new JsonObject
        {
            ["token"] = "verification-token-unused", ["team_id"] = "T0TEAM", ["api_app_id"] = "A0KEEL", ["event"] = e, ["type"] = "event_callback",
            ["event_id"] = "Ev" + ts.Replace(".", "", StringComparison.Ordinal), ["event_time"] = long.Parse(ts.Split('.')[0], CultureInfo.InvariantCulture),
        };
        return (await SendAsync("events_api", payload), ts);
    }

    /// <summary>A click on a message's button as Slack's <c>block_actions</c> payload.</summary>
    public Task<string> ClickAsync(string user, string actionId, long approvalId, string responsePath) =>
        SendAsync("interactive", new JsonObject
        {
            ["type"] = "block_actions",
            ["user"] = new JsonObject { ["id"] = user, ["username"] = user.ToLowerInvariant(), ["team_id"] = "T0TEAM" },
            ["actions"] = new JsonArray(new JsonObject { ["action_id"] = actionId, ["value"] = approvalId.ToString(CultureInfo.InvariantCulture), ["type"] = "button" }),
            ["response_url"] = ResponseUrl(responsePath).AbsoluteUri,
            ["trigger_id"] = "1.2.3",
        });

    /// <summary>Sends an envelope again with its id, as Slack does when it thinks the first was not acknowledged.</summary>
    public Task<string> ResendAsync(string envelopeId) => SendAsync(sent[envelopeId].Type, sent[envelopeId].Payload, envelopeId, 1);

    /// <summary>Every envelope id sent so far.</summary>
    public IReadOnlyCollection<string> Sent => sent.Keys.ToArray();

    public async Task AckedAsync(string envelopeId, TimeSpan? timeout = null) =>
        await acks[envelopeId].Task.WaitAsync(timeout ?? TimeSpan.FromSeconds(30));

    public bool Acked(string envelopeId) => acks.TryGetValue(envelopeId, out var ack) && ack.Task.IsCompleted;

    /// <summary>The bot's replies in the thread of <paramref name="ts"/>.</summary>
    public IReadOnlyList<JsonObject> RepliesTo(string ts) => Posts.Where(p => p["thread_ts"]?.GetValue<string>() == ts).ToList();

    public async Task<JsonObject> ReplyToAsync(string ts, TimeSpan? timeout = null)
    {
        await Eventually.TrueAsync(() => RepliesTo(ts).Count > 0, timeout ?? TimeSpan.FromSeconds(30), $"a reply in the thread of {ts}");
        return RepliesTo(ts)[0];
    }

    public async Task<JsonObject> ResponseAsync(string path, TimeSpan? timeout = null)
    {
        await Eventually.TrueAsync(() => Responses.Any(r => r["_path"]!.GetValue<string>() == "/respond/" + path), timeout ?? TimeSpan.FromSeconds(30), $"a response at {path}");
        return Responses.First(r => r["_path"]!.GetValue<string>() == "/respond/" + path);
    }

    private string NextTs() => string.Create(CultureInfo.InvariantCulture, $"{Interlocked.Increment(ref nextTs)}.000100");

    private async Task RetryUnlessAckedAsync(Task acked, string type, JsonObject payload, string id, int attempt)
    {
        try
        {
            await acked.WaitAsync(AckWithin, stopping.Token);
        }
        catch (TimeoutException)
        {
            if (Open.Count > 0)
            {
                Interlocked.Increment(ref retries);
                await SendAsync(type, payload, id, attempt);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    private static IResult Bot(HttpContext c, Func<JsonObject> answer) =>
        Results.Json(Bearer(c) == BotToken ? answer() : new JsonObject { ["ok"] = false, ["error"] = Bearer(c) == AppToken ? "not_allowed_token_type" : "invalid_auth" });

    private static string? Bearer(HttpContext c) =>
        c.Request.Headers.Authorization.ToString() is { } h && h.StartsWith("Bearer ", StringComparison.Ordinal) ? h["Bearer ".Length..] : null;

    private IResult OpenAsync(HttpContext c)
    {
        if (Bearer(c) != AppToken)
        {
            Interlocked.Increment(ref refusedOpens);
            return Results.Json(new JsonObject { ["ok"] = false, ["error"] = Bearer(c) == BotToken ? "not_allowed_token_type" : "invalid_auth" });
        }
        var ticket = Convert.ToHexString(RandomNumberGenerator.GetBytes(12));
        tickets[ticket] = true;
        var url = new UriBuilder(BaseUrl) { Scheme = "ws", Path = "/link/", Query = $"ticket={ticket}&app_id=A0KEEL" }.Uri;
        return Results.Json(new JsonObject { ["ok"] = true, ["url"] = url.AbsoluteUri });
    }

    private static JsonObject Conversations(string cursor) => cursor == "page2"
        ? new JsonObject
        {
            ["ok"] = true, ["channels"] = new JsonArray(new JsonObject { ["id"] = ApprovalsChannelId, ["name"] = "approvals" }),
            ["response_metadata"] = new JsonObject { ["next_cursor"] = "" },
        }
        : new JsonObject
        {
            ["ok"] = true, ["channels"] = new JsonArray(new JsonObject { ["id"] = GeneralChannelId, ["name"] = "general" }),
            ["response_metadata"] = new JsonObject { ["next_cursor"] = "page2" },
        };

    private async Task<IResult> PostMessageAsync(HttpContext c)
    {
        if (Bearer(c) != BotToken)
        {
            return Results.Json(new JsonObject { ["ok"] = false, ["error"] = "invalid_auth" });
        }
        var body = JsonNode.Parse(await new StreamReader(c.Request.Body).ReadToEndAsync(c.RequestAborted)) as JsonObject;
        if (body?["channel"]?.GetValue<string>() is not { Length: > 0 } channel)
        {
            return Results.Json(new JsonObject { ["ok"] = false, ["error"] = "channel_not_found" });
        }
        posts.Enqueue(body);
        return Results.Json(new JsonObject { ["ok"] = true, ["channel"] = channel, ["ts"] = NextTs() });
    }

    private async Task LinkAsync(HttpContext c)
    {
        if (!c.WebSockets.IsWebSocketRequest || !tickets.TryRemove(c.Request.Query["ticket"].ToString(), out _))
        {
            c.Response.StatusCode = StatusCodes.Status401Unauthorized; // No ticket, or one used before.
            return;
        }
        using var socket = await c.WebSockets.AcceptWebSocketAsync();
        var connection = new Connection(socket);
        connections.Enqueue(connection);
        await connection.SendAsync(new JsonObject
        {
            ["type"] = "hello", ["num_connections"] = Open.Count + 1,
            ["debug_info"] = new JsonObject { ["host"] = "applink-imitation", ["approximate_connection_time"] = 18060 },
            ["connection_info"] = new JsonObject { ["app_id"] = "A0KEEL" },
        });
        connection.IsOpen = true;
        await connection.ReadAcksAsync(id => { if (acks.TryGetValue(id, out var ack)) { ack.TrySetResult(); } }, stopping.Token);
    }

    public async ValueTask DisposeAsync()
    {
        await stopping.CancelAsync();
        foreach (var connection in Connections)
        {
            connection.Abort();
        }
        await app.StopAsync();
        await app.DisposeAsync();
        foreach (var connection in Connections)
        {
            connection.Dispose();
        }
        stopping.Dispose();
    }

    /// <summary>One WebSocket connection from the portal.</summary>
    public sealed class Connection(WebSocket socket) : IDisposable
    {
        private readonly SemaphoreSlim sending = new(1, 1);

        public bool IsOpen { get; internal set; }

        /// <summary>Envelope ids acknowledged on this connection, in order.</summary>
        public ConcurrentQueue<string> Acks { get; } = new();

        public async Task SendAsync(JsonObject message)
        {
            await sending.WaitAsync();
            try
            {
                await socket.SendAsync(Encoding.UTF8.GetBytes(message.ToJsonString()), WebSocketMessageType.Text, true, CancellationToken.None);
            }
            finally
            {
                sending.Release();
            }
        }

        /// <summary>Slack's <c>disconnect</c> (<c>refresh_requested</c>, <c>warning</c>, <c>link_disabled</c>): the portal should connect anew.</summary>
        public Task DisconnectAsync(string reason) =>
            SendAsync(new JsonObject { ["type"] = "disconnect", ["reason"] = reason, ["debug_info"] = new JsonObject { ["host"] = "applink-imitation" } });

        internal async Task ReadAcksAsync(Action<string> acked, CancellationToken ct)
        {
            var buffer = new byte[64 * 1024];
            try
            {
                while (true)
                {
                    var read = await socket.ReceiveAsync(buffer, ct);
                    if (read.MessageType == WebSocketMessageType.Close)
                    {
                        await socket.CloseOutputAsync(WebSocketCloseStatus.NormalClosure, "bye", CancellationToken.None);
                        return;
                    }
                    if (JsonNode.Parse(Encoding.UTF8.GetString(buffer, 0, read.Count))?["envelope_id"]?.GetValue<string>() is { } id)
                    {
                        Acks.Enqueue(id);
                        acked(id);
                    }
                }
            }
            catch (Exception e) when (e is WebSocketException or OperationCanceledException)
            {
            }
            finally
            {
                IsOpen = false;
            }
        }

        internal void Abort() => socket.Abort();

        public void Dispose() => sending.Dispose();
    }
}
