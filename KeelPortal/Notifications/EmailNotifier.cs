using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography.X509Certificates;
using MailKit;
using MailKit.Net.Smtp;
using MailKit.Security;
using Microsoft.Extensions.Options;
using MimeKit;

namespace KeelPortal.Notifications;

/// <summary>
/// Sends a notification as an e-mail (plain text and HTML) through the channel's SMTP server, with MailKit: STARTTLS or
/// TLS as the target says, AUTH when it names a user. A 4xx answer or a lost connection may be tried again; a 5xx
/// answer or refused credentials may not. The target's password never reaches an answer or a log line.
/// </summary>
public sealed class EmailNotifier(IOptions<NotificationsOptions> options, TimeProvider time)
{
    public async Task<DeliveryAttempt> SendAsync(ChannelSettings channel, Notification notification, CancellationToken ct, DeliveryFence? fence = null)
    {
        ArgumentNullException.ThrowIfNull(channel);
        ArgumentNullException.ThrowIfNull(notification);
        if (!SmtpTarget.TryParse(channel.Target, out var target, out var problem))
        {
            return new DeliveryAttempt(false, false, null, problem!);
        }
        var message = Compose(notification, target!, options.Value.PublicBaseUrl, fence);
        using var attempt = CancellationTokenSource.CreateLinkedTokenSource(ct);
        attempt.CancelAfter(options.Value.AttemptTimeout);
        using var client = new SmtpClient { Timeout = (int)options.Value.AttemptTimeout.TotalMilliseconds };
        if (options.Value.SmtpCaBundlePath is { Length: > 0 } bundle)
        {
            client.ServerCertificateValidationCallback = (_, certificate, _, errors) => TrustedBy(bundle, certificate, errors);
        }
        try
        {
            await client.ConnectAsync(target!.Host, target.Port, Security(target.Security), attempt.Token);
            if (target.User is { } user)
            {
                await client.AuthenticateAsync(user, target.Password ?? "", attempt.Token);
            }
            if (fence is not null && !fence.StillHolds())
            {
                return new DeliveryAttempt(false, false, null, "not sent: the claim ran out before the message left") { FencedOff = true };
            }
            var answer = await client.SendAsync(message, attempt.Token);
            await client.DisconnectAsync(quit: true, attempt.Token);
            return new DeliveryAttempt(true, false, 250, Scrub($"250 {answer}", target));
        }
        catch (AuthenticationException e)
        {
            return new DeliveryAttempt(false, false, null, Scrub($"the SMTP server refused the credentials: {e.Message}", target!));
        }
        catch (SmtpCommandException e)
        {
            var code = (int)e.StatusCode;
            return new DeliveryAttempt(false, code is >= 400 and < 500, code, Scrub($"{code} {e.Message}", target!));
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            return new DeliveryAttempt(false, true, null, $"no answer within {options.Value.AttemptTimeout.TotalSeconds:0.#} s");
        }
        catch (Exception e) when (e is SmtpProtocolException or IOException or SocketException or ServiceNotConnectedException or SslHandshakeException)
        {
            return new DeliveryAttempt(false, e is not SslHandshakeException, null, Scrub(e.Message, target!));
        }
    }

    private static SecureSocketOptions Security(SmtpSecurity security) => security switch
    {
        SmtpSecurity.StartTls => SecureSocketOptions.StartTls,
        SmtpSecurity.ImplicitTls => SecureSocketOptions.SslOnConnect,
        SmtpSecurity.None => SecureSocketOptions.None,
        _ => SecureSocketOptions.StartTlsWhenAvailable,
    };

    /// <summary>A certificate the system does not trust is accepted only when it chains to <paramref name="bundle"/>'s CA certificates.</summary>
    private static bool TrustedBy(string bundle, X509Certificate? certificate, System.Net.Security.SslPolicyErrors errors)
    {
        if (errors == System.Net.Security.SslPolicyErrors.None)
        {
            return true;
        }
        if (certificate is null || (errors & System.Net.Security.SslPolicyErrors.RemoteCertificateNameMismatch) != 0)
        {
            return false;
        }
        using var chain = new X509Chain { ChainPolicy = Registries.RegistryEndpoint.TrustingOnly(bundle) };
        using var leaf = X509CertificateLoader.LoadCertificate(certificate.GetRawCertData());
        return chain.Build(leaf);
    }

    private MimeMessage Compose(Notification n, SmtpTarget target, Uri? baseUrl, DeliveryFence? fence)
    {
        var message = new MimeMessage();
        message.From.Add(MailboxAddress.Parse(target.From));
        foreach (var to in target.To)
        {
            message.To.Add(MailboxAddress.Parse(to));
        }
        message.Subject = $"[KeelPortal] {n.Title}{(n.Identifier is { } id ? $": {id}" : "")}";
        message.Date = time.GetUtcNow();
        if (fence is not null)
        {
            // One message id per delivery: a retried send is the same message to the receiving side.
            message.MessageId = $"{fence.IdempotencyKey}@keelportal";
        }
        var link = MessageComposer.LinkOf(n, baseUrl);
        var facts = n.Facts();
        var text = MessageComposer.PlainText(n, link) + "\n";
        var html = $"""
            <div style="border-left:4px solid {n.Level.Color()};padding:8px 12px;font-family:sans-serif">
            <h2 style="margin:0 0 8px">{WebUtility.HtmlEncode(n.Title)}</h2>
            <p>{WebUtility.HtmlEncode(n.Message)}</p>
            <table>{string.Concat(facts.Select(f => $"<tr><th align=\"left\">{WebUtility.HtmlEncode(f.Name)}</th><td>{WebUtility.HtmlEncode(f.Value)}</td></tr>"))}</table>
            {(link is null ? "" : $"<p><a href=\"{WebUtility.HtmlEncode(link)}\">Open in KeelPortal</a></p>")}
            </div>
            """;
        message.Body = new BodyBuilder { TextBody = text, HtmlBody = html }.ToMessageBody();
        return message;
    }

    private static string Scrub(string text, SmtpTarget target)
    {
        var cleaned = target.Password is { Length: > 0 } password ? text.Replace(password, "[password]", StringComparison.Ordinal) : text;
        return cleaned.Length <= HttpNotifier.AnswerLength ? cleaned : cleaned[..HttpNotifier.AnswerLength];
    }
}

/// <summary>Sends each message the way its channel takes it: e-mail through SMTP, everything else over HTTP.</summary>
public sealed class ChannelNotifier(HttpNotifier http, EmailNotifier email) : INotifier
{
    public Task<DeliveryAttempt> SendAsync(ChannelSettings channel, Notification notification, CancellationToken ct, DeliveryFence? fence = null) =>
        channel?.Type == ChannelType.Email ? email.SendAsync(channel, notification, ct, fence) : http.SendAsync(channel!, notification, ct, fence);
}
