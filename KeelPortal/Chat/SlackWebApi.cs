using System.Net;
using System.Net.Http.Headers;
using System.Net.Mime;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using KeelPortal.Notifications;
using Microsoft.Extensions.Options;

namespace KeelPortal.Chat;

/// <summary>What one Slack Web API call came to: its answer, or Slack's error (or why there was no answer) and whether trying again may help.</summary>
public sealed record SlackCall(bool Ok, JsonObject? Answer, string? Error, bool Retryable)
{
    public static SlackCall Failed(string error, bool retryable) => new(false, null, error, retryable);
}

/// <summary>
/// The Slack Web API methods the Socket Mode bot uses (<c>apps.connections.open</c> with the app-level token;
/// <c>auth.test</c>, <c>users.conversations</c> and <c>chat.postMessage</c> with the bot token) and posts to an
/// interaction's <c>response_url</c>. The methods live beside <c>Notifications:SlackApiUrl</c>. No logging handlers: the
/// tokens, the socket's ticket and <c>response_url</c> are bearers.
/// </summary>
public sealed partial class SlackWebApi(HttpClient http, IOptions<ChatOptions> options, IOptions<NotificationsOptions> notifications, ILogger<SlackWebApi> logger)
{
    /// <summary>Slack's errors that say "later", not "never".</summary>
    private static readonly HashSet<string> Transient = new(StringComparer.Ordinal) { "ratelimited", "internal_error", "fatal_error", "request_timeout", "service_unavailable" };

    /// <summary>A Web API method's address: beside <c>Notifications:SlackApiUrl</c> (<c>https://slack.com/api/</c>).</summary>
    public Uri MethodUrl(string method) => new(notifications.Value.SlackApiUrl, method);

    /// <summary>A WebSocket address for Socket Mode (<c>apps.connections.open</c>, with the app-level token); valid once.</summary>
    public async Task<SlackCall> OpenConnectionAsync(CancellationToken ct) =>
        await CallAsync(HttpMethod.Post, "apps.connections.open", options.Value.SlackAppToken, null, ct);

    /// <summary>The bot's own user id (<c>auth.test</c>): its mentions are stripped and its own messages ignored.</summary>
    public async Task<SlackCall> WhoAmIAsync(CancellationToken ct) => await CallAsync(HttpMethod.Post, "auth.test", options.Value.SlackBotToken, null, ct);

    /// <summary>The id of the channel named <paramref name="name"/> among those the bot is a member of (<c>users.conversations</c>, paged), or null.</summary>
    public async Task<(string? Id, SlackCall Last)> ChannelIdAsync(string name, CancellationToken ct)
    {
        var cursor = "";
        for (var page = 0; page < 50; page++)
        {
            var query = $"users.conversations?types=public_channel,private_channel&exclude_archived=true&limit=200{(cursor.Length > 0 ? "&cursor=" + Uri.EscapeDataString(cursor) : "")}";
            var call = await CallAsync(HttpMethod.Get, query, options.Value.SlackBotToken, null, ct);
            if (!call.Ok)
            {
                return (null, call);
            }
            var found = (call.Answer!["channels"] as JsonArray)?.OfType<JsonObject>()
                .FirstOrDefault(c => string.Equals(c["name"]?.GetValue<string>(), name, StringComparison.OrdinalIgnoreCase));
            if (found?["id"]?.GetValue<string>() is { } id)
            {
                return (id, call);
            }
            cursor = call.Answer["response_metadata"]?["next_cursor"]?.GetValue<string>() ?? "";
            if (cursor.Length == 0)
            {
                return (null, call);
            }
        }
        return (null, SlackCall.Failed("too many pages of channels", false));
    }

    /// <summary>Posts <paramref name="text"/> (Slack's mrkdwn) to <paramref name="channel"/>, in the thread of <paramref name="threadTs"/>.</summary>
    public async Task<SlackCall> PostAsync(string channel, string text, string? threadTs, CancellationToken ct)
    {
        var body = new JsonObject { ["channel"] = channel, ["text"] = text, ["unfurl_links"] = false, ["unfurl_media"] = false };
        if (threadTs is not null)
        {
            body["thread_ts"] = threadTs;
        }
        return await CallAsync(HttpMethod.Post, "chat.postMessage", options.Value.SlackBotToken, body, ct);
    }

    /// <summary>Posts to an interaction's <c>response_url</c>, only where <see cref="ChatOptions.ResponseUrlPrefixes"/> allows.</summary>
    public async Task<SlackCall> RespondAsync(string responseUrl, JsonObject answer, CancellationToken ct)
    {
        if (!Uri.TryCreate(responseUrl, UriKind.Absolute, out var target)
            || !options.Value.ResponseUrlPrefixes.Any(p => target.AbsoluteUri.StartsWith(p, StringComparison.OrdinalIgnoreCase)))
        {
            LogResponseRefused(target?.Host ?? "(not a URL)");
            return SlackCall.Failed("response_url is not an allowed prefix (Chat:ResponseUrlPrefixes)", false);
        }
        using var content = new StringContent(answer.ToJsonString(), Encoding.UTF8, MediaTypeNames.Application.Json);
        using var request = new HttpRequestMessage(HttpMethod.Post, target) { Content = content };
        var call = await SendAsync(request, expectJson: false, ct);
        if (!call.Ok)
        {
            LogResponseFailed(target.Host, call.Error ?? "");
        }
        return call;
    }

    private async Task<SlackCall> CallAsync(HttpMethod method, string pathAndQuery, string? token, JsonObject? body, CancellationToken ct)
    {
        if (string.IsNullOrEmpty(token))
        {
            return SlackCall.Failed("no token is set for this call", false);
        }
        using var request = new HttpRequestMessage(method, MethodUrl(pathAndQuery));
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
        if (body is not null)
        {
            request.Content = new StringContent(body.ToJsonString(), Encoding.UTF8, MediaTypeNames.Application.Json);
        }
        else if (method == HttpMethod.Post)
        {
            request.Content = new FormUrlEncodedContent([]);
        }
        return await SendAsync(request, expectJson: true, ct);
    }

    private async Task<SlackCall> SendAsync(HttpRequestMessage request, bool expectJson, CancellationToken ct)
    {
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
            timeout.CancelAfter(TimeSpan.FromSeconds(10));
            using var response = await http.SendAsync(request, timeout.Token);
            var text = await response.Content.ReadAsStringAsync(timeout.Token);
            if (response.StatusCode == HttpStatusCode.TooManyRequests || (int)response.StatusCode >= 500)
            {
                return SlackCall.Failed($"Slack answered {(int)response.StatusCode}", true);
            }
            if (!response.IsSuccessStatusCode)
            {
                return SlackCall.Failed($"Slack answered {(int)response.StatusCode}", false);
            }
            if (!expectJson)
            {
                return new SlackCall(true, null, null, false);
            }
            if (JsonNode.Parse(text) is not JsonObject answer)
            {
                return SlackCall.Failed("Slack's answer is not a JSON object", true);
            }
            if (answer["ok"]?.GetValue<bool>() == true)
            {
                return new SlackCall(true, answer, null, false);
            }
            var error = answer["error"]?.GetValue<string>() ?? "unknown error";
            return SlackCall.Failed(error, Transient.Contains(error));
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return SlackCall.Failed("Slack did not answer within 10 s", true);
        }
        catch (Exception e) when (e is HttpRequestException or JsonException or InvalidOperationException)
        {
            return SlackCall.Failed(e is HttpRequestException ? $"no answer from Slack ({e.Message})" : "Slack's answer could not be read", true);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Slack's response_url on {Host} is not an allowed prefix (Chat:ResponseUrlPrefixes); the message was not updated")]
    private partial void LogResponseRefused(string host);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Updating the Slack message on {Host} failed: {Why}")]
    private partial void LogResponseFailed(string host, string why);
}
