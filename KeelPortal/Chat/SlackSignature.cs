using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace KeelPortal.Chat;

public enum SignatureVerdict { Valid, Missing, Stale, Mismatch }

/// <summary>
/// Slack's request signing: <c>v0=</c> and the hex HMAC-SHA256, keyed by the app's signing secret, of
/// <c>v0:{X-Slack-Request-Timestamp}:{raw body}</c>. A timestamp further than the allowed age from now (either way) is a
/// replay; the comparison takes the same time whatever the bytes.
/// </summary>
public static class SlackSignature
{
    public static string Sign(string secret, string timestamp, ReadOnlySpan<byte> body)
    {
        ArgumentNullException.ThrowIfNull(secret);
        var prefix = Encoding.UTF8.GetBytes($"v0:{timestamp}:");
        var message = new byte[prefix.Length + body.Length];
        prefix.CopyTo(message, 0);
        body.CopyTo(message.AsSpan(prefix.Length));
        return "v0=" + Convert.ToHexStringLower(HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), message));
    }

    public static SignatureVerdict Check(string secret, string? timestamp, string? signature, ReadOnlySpan<byte> body, DateTimeOffset now, TimeSpan maxAge)
    {
        if (string.IsNullOrEmpty(timestamp) || string.IsNullOrEmpty(signature) || timestamp.Length > 20
            || !long.TryParse(timestamp, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds))
        {
            return SignatureVerdict.Missing;
        }
        if (Math.Abs(now.ToUnixTimeSeconds() - seconds) > maxAge.TotalSeconds)
        {
            return SignatureVerdict.Stale;
        }
        var expected = Encoding.ASCII.GetBytes(Sign(secret, timestamp, body));
        var given = Encoding.ASCII.GetBytes(signature);
        return CryptographicOperations.FixedTimeEquals(expected, given) ? SignatureVerdict.Valid : SignatureVerdict.Mismatch;
    }
}
