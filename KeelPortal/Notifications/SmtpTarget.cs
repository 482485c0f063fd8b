using System.Net.Mail;

namespace KeelPortal.Notifications;

/// <summary>How the SMTP connection is secured: STARTTLS when offered (<c>auto</c>), required, TLS from the first byte, or none.</summary>
public enum SmtpSecurity { Auto, StartTls, ImplicitTls, None }

/// <summary>
/// An e-mail channel's target, as shoutrrr writes it: <c>smtp://user:password@host:port/?from=a@example.com&amp;to=b@example.com,c@example.com</c>,
/// with <c>encryption=auto|explicittls|implicittls|none</c> (shoutrrr's names; <c>starttls</c> and <c>tls</c> too). The
/// password is the secret: it is stored encrypted with the rest of the target and never shown.
/// </summary>
public sealed record SmtpTarget(string Host, int Port, string? User, string? Password, string From, IReadOnlyList<string> To, SmtpSecurity Security)
{
    public static bool TryParse(string? text, out SmtpTarget? target, out string? problem)
    {
        target = null;
        if (!Uri.TryCreate(text?.Trim(), UriKind.Absolute, out var uri) || uri.Scheme != "smtp" || uri.Host.Length == 0)
        {
            problem = "Enter an SMTP URL: smtp://user:password@host:587/?from=portal@example.com&to=team@example.com.";
            return false;
        }
        var query = System.Web.HttpUtility.ParseQueryString(uri.Query);
        var from = query["from"]?.Trim();
        var to = (query["to"] ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (from is null || !MailAddress.TryCreate(from, out _))
        {
            problem = "The SMTP URL needs ?from= with the sender's address.";
            return false;
        }
        if (to.Length == 0)
        {
            problem = "The SMTP URL needs &to= with at least one recipient.";
            return false;
        }
        if (to.FirstOrDefault(a => !MailAddress.TryCreate(a, out _)) is { } wrong)
        {
            problem = $"'{wrong}' is not an e-mail address.";
            return false;
        }
        SmtpSecurity? security = (query["encryption"] ?? query["tls"] ?? "auto").Trim().ToLowerInvariant() switch
        {
            "auto" or "" => SmtpSecurity.Auto,
            "explicittls" or "starttls" => SmtpSecurity.StartTls,
            "implicittls" or "tls" or "ssl" => SmtpSecurity.ImplicitTls,
            "none" or "false" => SmtpSecurity.None,
            _ => null,
        };
        if (security is null)
        {
            problem = "encryption is auto, starttls, implicittls or none.";
            return false;
        }
        var user = uri.UserInfo.Length == 0 ? null : Uri.UnescapeDataString(uri.UserInfo.Split(':', 2)[0]);
        var password = uri.UserInfo.Contains(':', StringComparison.Ordinal) ? Uri.UnescapeDataString(uri.UserInfo.Split(':', 2)[1]) : null;
        var port = uri.IsDefaultPort || uri.Port <= 0 ? security == SmtpSecurity.ImplicitTls ? 465 : 25 : uri.Port;
        target = new SmtpTarget(uri.Host, port, user, password, from, to, security.Value);
        problem = null;
        return true;
    }

    /// <summary>Keel's <c>MAIL_*</c> variables as an SMTP URL (null when no server is named).</summary>
    public static string? FromKeel(string? server, string? port, string? user, string? password, string? from, string? to)
    {
        if (string.IsNullOrWhiteSpace(server))
        {
            return null;
        }
        var credentials = string.IsNullOrWhiteSpace(user) ? "" : $"{Uri.EscapeDataString(user.Trim())}{(password is null ? "" : ":" + Uri.EscapeDataString(password))}@";
        var at = string.IsNullOrWhiteSpace(port) ? "" : ":" + port.Trim();
        return $"smtp://{credentials}{server.Trim()}{at}/?from={Uri.EscapeDataString(from?.Trim() ?? "")}&to={Uri.EscapeDataString(to?.Trim() ?? "")}";
    }
}
