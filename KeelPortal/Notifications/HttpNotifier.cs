using System.Net;
using System.Net.Http.Headers;
using System.Net.Mime;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.Options;

namespace KeelPortal.Notifications;

/// <summary>How one attempt to post a message went: what the receiver answered, and whether trying again may help.</summary>
public sealed record DeliveryAttempt(bool Delivered, bool Retryable, int? StatusCode, string Answer, TimeSpan? RetryAfter = null)
{
    /// <summary>Not sent: the fence said no as the body was about to leave (nothing reached the receiver).</summary>
    public bool FencedOff { get; init; }
}

/// <summary>
/// What makes a delivery's post safe to attempt more than once. <paramref name="IdempotencyKey"/> names the delivery,
/// the same on every attempt (sent as <c>Idempotency-Key</c>): a receiver that keeps them can drop a second copy — what
/// an at-least-once sender cannot rule out when it stops between the receiver's answer and recording it.
/// <paramref name="StillHolds"/> is asked as the body's first byte is written (the connection up, the headers not yet
/// sent): false sends nothing.
/// </summary>
public sealed record DeliveryFence(string IdempotencyKey, Func<bool> StillHolds);

/// <summary>The outside world of this slice: posting one message to one channel.</summary>
public interface INotifier
{
    /// <summary>One attempt; a delivery's attempts pass its <paramref name="fence"/> (a test message has none).</summary>
    Task<DeliveryAttempt> SendAsync(ChannelSettings channel, Notification notification, CancellationToken ct, DeliveryFence? fence = null);
}

/// <summary>
/// Posts composed JSON to a channel's incoming webhook (or Slack's <c>chat.postMessage</c> with a bot token), with a
/// time limit per attempt. Its HTTP client logs nothing, so the target never reaches a log line.
/// </summary>
public sealed class HttpNotifier(HttpClient http, IOptions<NotificationsOptions> options, IChatActions chat, TimeProvider time) : INotifier
{
    public const int AnswerLength = 300;

    public async Task<DeliveryAttempt> SendAsync(ChannelSettings channel, Notification notification, CancellationToken ct, DeliveryFence? fence = null)
    {
        var o = options.Value;
        var body = MessageComposer.Compose(notification, channel, o.PublicBaseUrl, chat.ActionsFor(notification, channel));
        using var content = new FencedContent(Encoding.UTF8.GetBytes(body.ToJsonString()), fence?.StillHolds);
        content.Headers.ContentType = new MediaTypeHeaderValue(MediaTypeNames.Application.Json) { CharSet = Encoding.UTF8.WebName };
        var destination = channel.Type switch
        {
            _ when channel.IsSlackToken => o.SlackApiUrl,
            ChannelType.Telegram => new Uri(o.TelegramApiUrl, $"./bot{channel.Target.Trim()}/sendMessage"),
            ChannelType.Pushover => o.PushoverApiUrl,
            _ => new Uri(channel.Target.Trim()),
        };
        using var request = new HttpRequestMessage(HttpMethod.Post, destination) { Content = content };
        if (fence is not null)
        {
            request.Headers.TryAddWithoutValidation("Idempotency-Key", fence.IdempotencyKey);
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
        catch (Exception) when (content.Refused)
        {
            return new DeliveryAttempt(false, false, null, "not sent: the claim ran out before the message left") { FencedOff = true };
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

/// <summary>
/// A request body that leaves only while its fence holds, asked as its first byte is written: the connection is up and
/// the request's headers wait in the client's buffer, so a refusal here puts nothing on the wire (the connection is
/// dropped). It is the last moment at which the sender can still take the request back.
/// </summary>
internal sealed class FencedContent(byte[] body, Func<bool>? stillHolds) : ByteArrayContent(body)
{
    /// <summary>The fence said no: nothing was sent.</summary>
    public bool Refused { get; private set; }

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context)
    {
        Check();
        return base.SerializeToStreamAsync(stream, context);
    }

    protected override Task SerializeToStreamAsync(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        Check();
        return base.SerializeToStreamAsync(stream, context, cancellationToken);
    }

    protected override void SerializeToStream(Stream stream, TransportContext? context, CancellationToken cancellationToken)
    {
        Check();
        base.SerializeToStream(stream, context, cancellationToken);
    }

    private void Check()
    {
        if (stillHolds is not null && !stillHolds())
        {
            Refused = true;
            throw new IOException("The delivery's claim ran out before its message left; it is not sent.");
        }
    }
}
