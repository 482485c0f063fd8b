using System.Globalization;
using System.Security.Claims;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using KeelPortal.Access;
using KeelPortal.Notifications;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.WebUtilities;
using Microsoft.Extensions.Options;

namespace KeelPortal.Chat;

/// <summary><c>POST /v1/chat-links</c> body: the platform (<c>slack</c> or <c>mattermost</c>), the chat user id and the portal account.</summary>
public sealed record ChatLinkRequest(string? Platform, string? ChatUserId, string? User);

/// <summary>A chat user linked to a portal account, as <c>GET /v1/chat-links</c> lists it.</summary>
public sealed record ChatLinkView(string Platform, string ChatUserId, string User, string LinkedBy, DateTime LinkedAt);

/// <summary>Mattermost's answer to an action: a message only the person who clicked sees.</summary>
public sealed record MattermostAnswer([property: System.Text.Json.Serialization.JsonPropertyName("ephemeral_text")] string EphemeralText);

/// <summary>
/// Slack's interactivity endpoint and Mattermost's action callback (both anonymous: Slack's signature proves the
/// clicker; Mattermost's per-message secret only the message, so its click is answered with a sign-in link), and the
/// links between chat users and accounts (Admin).
/// </summary>
public static partial class ChatEndpoints
{
    private const int MaxBody = 64 * 1024;

    public static WebApplication MapChat(this WebApplication app)
    {
        // Signed by the chat platform (Slack) or by the portal's own action token (Mattermost), not by a sign-in.
        var platforms = app.MapGroup("/v1/chat").AllowAnonymous().DisableAntiforgery().WithTags("Chat");
        platforms.MapPost("/slack/interactions", SlackAsync);
        platforms.MapPost("/mattermost/actions", MattermostAsync);
        var v1 = app.MapGroup("/v1/chat-links").RequireAuthorization(AccessSetup.ApiAdminPolicy).DisableAntiforgery().WithTags("Chat");
        v1.MapGet("", async (ChatLinks links, CancellationToken ct) =>
            TypedResults.Ok((await links.AllAsync(ct)).Select(l => new ChatLinkView(l.Platform, l.ChatUserId, l.UserName, l.LinkedBy, l.LinkedAtUtc)).ToList()));
        v1.MapPost("", async (ChatLinkRequest? body, ClaimsPrincipal user, ChatLinks links, CancellationToken ct) =>
            Linked(await links.LinkAsync(body?.Platform?.Trim().ToLowerInvariant(), body?.ChatUserId?.Trim(), body?.User, user.Identity!.Name!, ct)));
        v1.MapDelete("/{platform}/{chatUserId}", async Task<Results<Ok<ApiMessage>, ProblemHttpResult>> (string platform, string chatUserId, ClaimsPrincipal user, ChatLinks links, CancellationToken ct) =>
            await links.UnlinkAsync(platform.ToLowerInvariant(), chatUserId, user.Identity!.Name!, ct) is { Done: true } done
                ? ApiAnswers.Done(done.Message)
                : TypedResults.Problem(statusCode: 404, title: "Not linked", detail: $"{platform} user {chatUserId} is not linked"));
        return app;
    }

    private static Results<Ok<ApiMessage>, ProblemHttpResult> Linked(ChatLinkResult result) =>
        result.Done ? ApiAnswers.Done(result.Message) : TypedResults.Problem(statusCode: 422, title: "Not accepted", detail: result.Message);

    private static async Task<Results<Ok, ProblemHttpResult>> SlackAsync(
        HttpRequest request, SlackBot bot, SlackWebApi slack, IOptions<ChatOptions> options, TimeProvider time, ILoggerFactory loggers, CancellationToken ct)
    {
        var logger = loggers.CreateLogger("KeelPortal.Chat.Slack");
        var o = options.Value;
        if (string.IsNullOrEmpty(o.SlackSigningSecret))
        {
            return TypedResults.Problem(statusCode: 404, title: "Slack interactivity is not set up", detail: "set Chat:SlackSigningSecret to the Slack app's signing secret");
        }
        var body = await ReadBodyAsync(request, ct);
        if (body is null)
        {
            return TypedResults.Problem(statusCode: 413, title: "Too large", detail: $"an interaction is at most {MaxBody} bytes");
        }
        var verdict = SlackSignature.Check(o.SlackSigningSecret, request.Headers["X-Slack-Request-Timestamp"], request.Headers["X-Slack-Signature"], body,
            time.GetUtcNow(), o.SlackMaxAge);
        if (verdict != SignatureVerdict.Valid)
        {
            var why = verdict switch
            {
                SignatureVerdict.Missing => "the X-Slack-Request-Timestamp or X-Slack-Signature header is missing or malformed",
                SignatureVerdict.Stale => $"its timestamp is more than {o.SlackMaxAge.TotalMinutes:0.#} minutes from now (a replay?)",
                _ => "its signature does not match the signing secret",
            };
            LogSlackRefused(logger, why);
            return TypedResults.Problem(statusCode: 401, title: "Not signed by Slack", detail: $"the request was refused: {why}");
        }
        if (SlackAction.Parse(Encoding.UTF8.GetString(body)) is not { } action)
        {
            return TypedResults.Problem(statusCode: 400, title: "Not an approval action",
                detail: "expected a block_actions payload with a user id, a keelportal.approve or keelportal.reject action whose value is an approval id, and a response_url");
        }
        await slack.RespondAsync(action.ResponseUrl, await bot.AnswerClickAsync(action, ct), ct);
        return TypedResults.Ok();
    }

    /// <summary>How long the private link a Mattermost click answers with may be used.</summary>
    public static readonly TimeSpan ClickLinkLifetime = TimeSpan.FromMinutes(10);

    /// <summary>
    /// A Mattermost button click. Mattermost signs nothing, so the body's <c>user_id</c> proves no one: the click counts
    /// no vote. The per-button secret shows the click came from the portal's message; it is answered, to the clicker only,
    /// with a short-lived signed link that opens the decision in the console, where the person signs in and votes as
    /// themselves (as Teams' links do). No chat link is ever offered from here.
    /// </summary>
    private static async Task<Results<Ok<MattermostAnswer>, ProblemHttpResult>> MattermostAsync(
        HttpRequest request, ChatTokens tokens, ChatActionsFactory chat, Approvals.ApprovalBook book, IOptions<NotificationsOptions> notifications,
        TimeProvider time, ILoggerFactory loggers, CancellationToken ct)
    {
        var logger = loggers.CreateLogger("KeelPortal.Chat.Mattermost");
        var body = await ReadBodyAsync(request, ct);
        if (body is null)
        {
            return TypedResults.Problem(statusCode: 413, title: "Too large", detail: $"an action is at most {MaxBody} bytes");
        }
        if (MattermostAction.Parse(body) is not { } action)
        {
            return TypedResults.Problem(statusCode: 400, title: "Not an approval action",
                detail: "expected {\"user_id\": \"…\", \"context\": {\"approval\": <id>, \"action\": \"approve|reject\", \"secret\": \"…\"}}");
        }
        var id = action.ApprovalId.ToString(CultureInfo.InvariantCulture);
        var decision = action.Approve ? "approve" : "reject";
        if (tokens.Read(action.Secret, ChatTokens.Action, out var problem) is not { } signed || signed.Subject != id || signed.Detail != decision)
        {
            var why = problem ?? "the secret belongs to another approval or decision";
            LogMattermostRefused(logger, action.UserId, why);
            return TypedResults.Problem(statusCode: 401, title: "Not a portal action", detail: $"the action was refused: {why}");
        }
        var approval = await book.GetAsync(action.ApprovalId, ct);
        if (approval is not { State: Approvals.ApprovalState.Pending })
        {
            return TypedResults.Ok(new MattermostAnswer(approval is null ? "This approval no longer exists." : $"{approval.Identifier} is {approval.State.ToString().ToLowerInvariant()}; votes are closed."));
        }
        if (notifications.Value.PublicBaseUrl is not { } baseUrl)
        {
            return TypedResults.Ok(new MattermostAnswer($"Vote on {approval.Identifier} in the KeelPortal console."));
        }
        var link = chat.DecisionLink(baseUrl, id, decision, time.GetUtcNow().UtcDateTime + ClickLinkLifetime);
        LogMattermostClick(logger, action.UserId, action.ApprovalId, decision);
        return TypedResults.Ok(new MattermostAnswer($"To {decision} {approval.Identifier}, open this link and sign in to KeelPortal; your vote counts as the person " +
            $"who signs in (the link works for {ClickLinkLifetime.TotalMinutes:0} minutes): {link}"));
    }

    private static async Task<byte[]?> ReadBodyAsync(HttpRequest request, CancellationToken ct)
    {
        if (request.ContentLength > MaxBody)
        {
            return null;
        }
        using var buffer = new MemoryStream();
        var chunk = new byte[8192];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, ct)) > 0)
        {
            if (buffer.Length + read > MaxBody)
            {
                return null;
            }
            buffer.Write(chunk, 0, read);
        }
        return buffer.ToArray();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "A Slack interaction was refused: {Why}")]
    private static partial void LogSlackRefused(ILogger logger, string why);

    [LoggerMessage(Level = LogLevel.Information, Message = "A Mattermost click by user {ChatUser} to {Decision} approval {ApprovalId} was answered with a sign-in link")]
    private static partial void LogMattermostClick(ILogger logger, string chatUser, long approvalId, string decision);

    [LoggerMessage(Level = LogLevel.Warning, Message = "A Mattermost action from user {ChatUser} was refused: {Why}")]
    private static partial void LogMattermostRefused(ILogger logger, string chatUser, string why);

}

/// <summary>The parts of a Slack <c>block_actions</c> payload a vote needs, validated.</summary>
public sealed record SlackAction(string UserId, long ApprovalId, bool Approve, string ResponseUrl)
{
    /// <summary>From the Interactivity URL's form body (<c>payload=…</c>).</summary>
    public static SlackAction? Parse(string form)
    {
        try
        {
            var payload = QueryHelpers.ParseQuery(form).TryGetValue("payload", out var values) ? values.ToString() : null;
            return payload is null ? null : FromPayload(JsonNode.Parse(payload) as JsonObject);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    /// <summary>From the payload itself (a Socket Mode <c>interactive</c> envelope carries it as JSON).</summary>
    public static SlackAction? FromPayload(JsonObject? root)
    {
        try
        {
            if (root is null || root["type"]?.GetValue<string>() != "block_actions")
            {
                return null;
            }
            var user = root["user"]?["id"]?.GetValue<string>();
            var first = (root["actions"] as JsonArray)?.FirstOrDefault();
            var actionId = first?["action_id"]?.GetValue<string>();
            var value = first?["value"]?.GetValue<string>();
            var responseUrl = root["response_url"]?.GetValue<string>();
            return ChatLinks.IsChatUserId(user) && actionId is MessageComposer.ApproveActionId or MessageComposer.RejectActionId
                && long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var id) && responseUrl is { Length: > 0 and < 2048 }
                ? new SlackAction(user!, id, actionId == MessageComposer.ApproveActionId, responseUrl)
                : null;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            return null;
        }
    }
}

/// <summary>The parts of a Mattermost action callback a vote needs, validated.</summary>
internal sealed record MattermostAction(string UserId, long ApprovalId, bool Approve, string Secret)
{
    public static MattermostAction? Parse(byte[] body)
    {
        try
        {
            if (JsonNode.Parse(body) is not JsonObject root || root["context"] is not JsonObject context)
            {
                return null;
            }
            var user = root["user_id"]?.GetValue<string>();
            var action = context["action"]?.GetValue<string>();
            var secret = context["secret"]?.GetValue<string>();
            var id = context["approval"]?.GetValue<long>();
            return ChatLinks.IsChatUserId(user) && action is "approve" or "reject" && id is > 0 && secret is { Length: > 0 and < 4096 }
                ? new MattermostAction(user!, id.Value, action == "approve", secret)
                : null;
        }
        catch (Exception e) when (e is JsonException or InvalidOperationException or FormatException)
        {
            return null;
        }
    }
}
