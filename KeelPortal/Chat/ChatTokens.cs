using System.Globalization;
using Microsoft.AspNetCore.DataProtection;

namespace KeelPortal.Chat;

/// <summary>
/// Signed, expiring tokens from the portal's key ring (shared by every replica): a Mattermost action's per-message
/// secret, a decision link for Teams, Discord and webhooks, and the link that lets a chat user link their account.
/// Each names its purpose, so one kind never passes for another; expiry is checked against the portal's clock.
/// </summary>
public sealed class ChatTokens(IDataProtectionProvider protection, TimeProvider time)
{
    public const string Action = "action";
    public const string Decision = "decision";
    public const string Link = "link";

    private readonly IDataProtector protector = protection.CreateProtector("KeelPortal.Chat.v1");

    public string Create(string purpose, string subject, string detail, DateTime expiresUtc) =>
        protector.Protect(string.Join('\n', purpose, subject, detail, expiresUtc.Ticks.ToString(CultureInfo.InvariantCulture)));

    /// <summary>The subject and detail of a valid, unexpired token of <paramref name="purpose"/>; null otherwise (and why).</summary>
    public (string Subject, string Detail)? Read(string? token, string purpose, out string? problem)
    {
        problem = null;
        string text;
        try
        {
            text = string.IsNullOrEmpty(token) || token.Length > 4096 ? throw new FormatException() : protector.Unprotect(token);
        }
        catch (Exception e) when (e is System.Security.Cryptography.CryptographicException or FormatException)
        {
            problem = "the link or secret is not one the portal signed (or its key is gone)";
            return null;
        }
        var parts = text.Split('\n');
        if (parts.Length != 4 || parts[0] != purpose || !long.TryParse(parts[3], CultureInfo.InvariantCulture, out var ticks))
        {
            problem = "the link or secret was signed for something else";
            return null;
        }
        if (time.GetUtcNow().UtcDateTime.Ticks >= ticks)
        {
            problem = $"the link or secret expired at {new DateTime(ticks, DateTimeKind.Utc):yyyy-MM-dd HH:mm}Z";
            return null;
        }
        return (parts[1], parts[2]);
    }
}
