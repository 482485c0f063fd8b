using System.Net;
using System.Net.Http.Headers;
using System.Net.Mime;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;

namespace KeelPortal.Notifications;

/// <summary>How one attempt to post a message went: what the receiver answered, and whether trying again may help.</summary>
public sealed record DeliveryAttempt(bool Delivered, bool Retryable, int? StatusCode, string Answer, TimeSpan? RetryAfter = null);

/// <summary>The outside world of this slice: posting one message to one channel.</summary>
public interface INotifier
{
    /// <summary>
    /// One attempt. <paramref name="idempotencyKey"/> names the delivery, the same on every attempt of it (sent as
    /// <c>Idempotency-Key</c>): a receiver that keeps them can drop a second copy — what an at-least-once sender cannot
    /// rule out when it stops between the receiver's answer and recording it.
    /// </summary>
    Task<DeliveryAttempt> SendAsync(ChannelSettings channel, Notification notification, CancellationToken ct, string? idempotencyKey = null);
}

/// <summary>
/// Posts composed JSON to a channel's incoming webhook (or Slack's <c>chat.postMessage</c> with a bot token), with a
/// time limit per attempt. Its HTTP client logs nothing, so the target never reaches a log line.
/// </summary>
public sealed class HttpNotifier(HttpClient http, IOptions<NotificationsOptions> options, IChatActions chat, TimeProvider time) : INotifier
{
    public const int AnswerLength = 300;

    public async Task<DeliveryAttempt> SendAsync(ChannelSettings channel, Notification notification, CancellationToken ct, string? idempotencyKey = null)
    {
        var o = options.Value;
        var body = MessageComposer.Compose(notification, channel, o.PublicBaseUrl, chat.ActionsFor(notification, channel));
        using var request = new HttpRequestMessage(HttpMethod.Post, channel.IsSlackToken ? o.SlackApiUrl : new Uri(channel.Target.Trim()))
        {
            Content = new StringContent(body.ToJsonString(), Encoding.UTF8, MediaTypeNames.Application.Json),
        };
        if (idempotencyKey is not null)
        {
            request.Headers.TryAddWithoutValidation("Idempotency-Key", idempotencyKey);
        }
        if (channel.IsSlackToken)
        {
            request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", channel.Target.Trim());
        }
        using var attempt = CancellationTokenSource.CreateLinkedTokenSource(ct);
        attempt.CancelAfter(o.AttemptTimeout);
        try
        {
            using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, attempt.Token);
            var text = ChannelTargets.Scrub(await ReadShortAsync(response, attempt.Token), channel.Target);
            var status = (int)response.StatusCode;
            var answer = $"{status} {response.ReasonPhrase}{(text.Length > 0 ? ": " + text : "")}";
            if (response.IsSuccessStatusCode)
            {
                return channel.IsSlackToken ? SlackApiAnswer(status, text, answer) : new DeliveryAttempt(true, false, status, answer);
            }
            var retryable = response.StatusCode is HttpStatusCode.TooManyRequests or HttpStatusCode.RequestTimeout || status >= 500;
            if (status is >= 300 and < 400)
            {
                answer += " (redirects are not followed: enter the final webhook URL)";
            }
            return new DeliveryAttempt(false, retryable, status, answer, RetryAfterOf(response));
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return new DeliveryAttempt(false, true, null, $"no answer within {o.AttemptTimeout.TotalSeconds:0.#} s");
        }
        catch (HttpRequestException e)
        {
            return new DeliveryAttempt(false, true, null, ChannelTargets.Scrub(e.Message, channel.Target));
        }
    }

    /// <summary>Slack's Web API answers 200 with <c>{"ok":false,"error":"channel_not_found"}</c> when it refuses.</summary>
    private static DeliveryAttempt SlackApiAnswer(int status, string text, string answer)
    {
        try
        {
            if (JsonNode.Parse(text) is JsonObject json && json["ok"]?.GetValue<bool>() == false)
            {
                var error = json["error"]?.GetValue<string>() ?? "unknown error";
                return new DeliveryAttempt(false, error == "ratelimited", status, $"Slack refused the message: {error}");
            }
        }
        catch (JsonException)
        {
            // Not JSON: a proxy's page; the status decides.
        }
        return new DeliveryAttempt(true, false, status, answer);
    }

    private TimeSpan? RetryAfterOf(HttpResponseMessage response) =>
        response.Headers.RetryAfter?.Delta ?? (response.Headers.RetryAfter?.Date is { } date ? date - time.GetUtcNow() : null);

    private static async Task<string> ReadShortAsync(HttpResponseMessage response, CancellationToken ct)
    {
        var buffer = new char[AnswerLength + 1];
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(ct), Encoding.UTF8);
        var read = await reader.ReadBlockAsync(buffer.AsMemory(), ct);
        var text = new string(buffer, 0, Math.Min(read, AnswerLength)).Trim();
        return read > AnswerLength ? text + "…" : text;
    }
}
