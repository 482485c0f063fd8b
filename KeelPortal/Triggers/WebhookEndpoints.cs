using System.Security.Cryptography;
using System.Text;
using KeelPortal.Audit;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace KeelPortal.Triggers;

/// <summary>The answer to a webhook: the image events it carried, how many were queued (not repeats), and a note when it carried none.</summary>
public sealed record WebhookAccepted(int Accepted, int Queued, string? Note);

/// <summary>
/// Keel's webhook endpoints at Keel's paths. Each checks the webhook secret, parses the body (400 with a reason and
/// nothing queued when it cannot), and before answering has what arrived committed — its audit entry and the outbox row
/// that carries the planning, in one transaction (<see cref="WebhookInbox"/>); the events are planned right after
/// (<see cref="WebhookWork"/>). It never waits for a registry.
/// </summary>
public static partial class WebhookEndpoints
{
    private const int MaxBody = 1 << 20;

    public static IEndpointRouteBuilder MapWebhooks(this IEndpointRouteBuilder app)
    {
        // Authenticated by the webhook secret (or open, as configured), not by a sign-in.
        app.MapGroup("/v1/webhooks").AllowAnonymous().DisableAntiforgery().WithTags("Keel").MapPost("/{provider}", ReceiveAsync);
        return app;
    }

    private static async Task<Results<Ok<WebhookAccepted>, ProblemHttpResult>> ReceiveAsync(
        string provider, HttpContext context, IOptions<TriggersOptions> options, WebhookBursts bursts, WebhookTraffic traffic, WebhookInbox inbox,
        Telemetry.PortalMetrics metrics, ILoggerFactory logs)
    {
        if (!WebhookPayloads.Providers.Contains(provider))
        {
            return TypedResults.Problem(statusCode: 404, title: "Unknown webhook",
                detail: $"there is no /v1/webhooks/{LogText.Clean(provider, 40)}; use one of {string.Join(", ", WebhookPayloads.Providers)}");
        }
        if (Authenticate(provider, context, options.Value) is { } denied)
        {
            return denied;
        }
        var logger = logs.CreateLogger(typeof(WebhookEndpoints).FullName!);
        var body = await ReadBoundedAsync(context);
        if (body is null)
        {
            LogRejected(logger, provider, context.Connection.RemoteIpAddress, $"the body is larger than {MaxBody} bytes");
            return TypedResults.Problem(statusCode: 413, title: "Webhook body too large", detail: $"bodies are limited to {MaxBody} bytes");
        }
        var parsed = WebhookPayloads.Parse(provider, body.Value, context.Request.Headers["X-GitHub-Event"].FirstOrDefault(), options.Value.JfrogRegistry);
        if (parsed.Error is { } error)
        {
            metrics.Webhooks.Add(1, new("provider", provider), new("outcome", "refused"));
            // Refused input is logged (cleaned and cut), never recorded as a detection or queued.
            LogRejected(logger, provider, context.Connection.RemoteIpAddress, LogText.Clean(error, 300));
            return TypedResults.Problem(statusCode: 400, title: "Webhook body not usable", detail: error);
        }
        metrics.Webhooks.Add(1, new("provider", provider), new("outcome", "accepted"));
        metrics.KeelWebhook(provider, parsed.Events.Select(e => e.Repository));
        traffic.Arrived();
        var fresh = bursts.TakeNew(provider, parsed.Events);
        var source = $"{provider} webhook from {context.Connection.RemoteIpAddress}";
        var summary = parsed.Events.Count == 0 ? parsed.Note ?? "no new tags" : string.Join(", ", parsed.Events.Select(e => $"{e.Repository}:{e.Tag}"));
        var repeated = parsed.Events.Count - fresh.Count;
        // What arrived and the work it makes are committed (with other webhooks arriving meanwhile) before the answer.
        var webhook = fresh.Count > 0 ? new WebhookReceived(provider, fresh, System.Diagnostics.Activity.Current?.Id) : null;
        try
        {
            await inbox.WriteAsync($"/v1/webhooks/{provider}",
                $"{source}: {summary}{(repeated > 0 ? $" ({repeated} already received moments ago; not queued again)" : "")}", webhook, context.RequestAborted);
        }
        catch (Exception e) when (e is InvalidOperationException or OperationCanceledException && !context.RequestAborted.IsCancellationRequested)
        {
            return TypedResults.Problem(statusCode: 503, title: "The portal is stopping", detail: "the webhook was not taken; send it again (another replica may take it)");
        }
        return TypedResults.Ok(new WebhookAccepted(parsed.Events.Count, fresh.Count, parsed.Note));
    }

    /// <summary>
    /// The body, read up to the limit whatever the headers say (a chunked body has no Content-Length); null when it is
    /// longer. The rest of an oversized body is never read.
    /// </summary>
    private static async Task<ReadOnlyMemory<byte>?> ReadBoundedAsync(HttpContext context)
    {
        if (context.Request.ContentLength > MaxBody)
        {
            return null;
        }
        using var buffer = new MemoryStream();
        var chunk = new byte[16 * 1024];
        int read;
        while ((read = await context.Request.Body.ReadAsync(chunk, context.RequestAborted)) > 0)
        {
            if (buffer.Length + read > MaxBody)
            {
                return null;
            }
            buffer.Write(chunk, 0, read);
        }
        return buffer.GetBuffer().AsMemory(0, (int)buffer.Length);
    }

    /// <summary>
    /// Lets a webhook in by the portal's secret (bearer or <c>?token=</c>), by Keel's Basic credentials when they are
    /// set, or — for the Distribution endpoint only, from a configured network — by where it comes from.
    /// </summary>
    private static ProblemHttpResult? Authenticate(string provider, HttpContext context, TriggersOptions options)
    {
        if (!options.RequireWebhookSecret)
        {
            return null;
        }
        if (provider == "registry" && context.Connection.RemoteIpAddress is { } from && FromNotifySource(from, options.RegistryNotifySources))
        {
            return null;
        }
        if (string.IsNullOrEmpty(options.WebhookSecret) && !options.HasBasic)
        {
            return TypedResults.Problem(statusCode: 401, title: "Webhooks are not set up",
                detail: "no webhook secret is configured: set Triggers:WebhookSecret (for example through the Triggers__WebhookSecret environment variable), " +
                    "or set Triggers:RequireWebhookSecret to false to accept unauthenticated webhooks as Keel does");
        }
        var header = context.Request.Headers.Authorization.FirstOrDefault();
        if (header is not null && header.StartsWith("Basic ", StringComparison.OrdinalIgnoreCase))
        {
            return options.HasBasic && BasicMatches(header["Basic ".Length..].Trim(), options.WebhookBasicUser!, options.WebhookBasicPassword!)
                ? null
                : TypedResults.Problem(statusCode: 401, title: "Webhook credentials missing or wrong",
                    detail: options.HasBasic ? "the Basic credentials are not the webhook's" : "Basic credentials are not accepted here: send the webhook secret as 'Authorization: Bearer <secret>' or as '?token=<secret>'");
        }
        var presented = header is not null && header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)
            ? header["Bearer ".Length..].Trim()
            : context.Request.Query["token"].FirstOrDefault();
        if (presented is null || string.IsNullOrEmpty(options.WebhookSecret) || !Same(presented, options.WebhookSecret))
        {
            return TypedResults.Problem(statusCode: 401, title: "Webhook secret missing or wrong",
                detail: options.HasBasic
                    ? "send the webhook secret as 'Authorization: Bearer <secret>' or '?token=<secret>', or the webhook's Basic credentials"
                    : "send the webhook secret as 'Authorization: Bearer <secret>' or as '?token=<secret>'");
        }
        return null;
    }

    private static bool Same(string presented, string expected) =>
        CryptographicOperations.FixedTimeEquals(SHA256.HashData(Encoding.UTF8.GetBytes(presented)), SHA256.HashData(Encoding.UTF8.GetBytes(expected)));

    /// <summary>Both parts are compared, each in constant time, whatever the first one says.</summary>
    private static bool BasicMatches(string encoded, string user, string password)
    {
        string decoded;
        try
        {
            decoded = Encoding.UTF8.GetString(Convert.FromBase64String(encoded));
        }
        catch (FormatException)
        {
            return false;
        }
        var colon = decoded.IndexOf(':', StringComparison.Ordinal);
        if (colon < 0)
        {
            return false;
        }
        var userMatches = Same(decoded[..colon], user);
        var passwordMatches = Same(decoded[(colon + 1)..], password);
        return userMatches & passwordMatches;
    }

    private static bool FromNotifySource(System.Net.IPAddress address, IEnumerable<string> sources)
    {
        var from = address.IsIPv4MappedToIPv6 ? address.MapToIPv4() : address;
        foreach (var source in sources)
        {
            if (Access.TrustedProxiesValidation.TryParse(source, out var single, out var network)
                && (single is not null ? single.Equals(from) : network.Contains(from)))
            {
                return true;
            }
        }
        return false;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "A {Provider} webhook from {Address} was refused: {Reason}")]
    private static partial void LogRejected(ILogger logger, string provider, System.Net.IPAddress? address, string reason);
}
