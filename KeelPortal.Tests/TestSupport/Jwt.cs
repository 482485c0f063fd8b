using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace KeelPortal.Tests.TestSupport;

/// <summary>RS256 JSON Web Tokens as the imitations of token services sign and check them.</summary>
public static class Jwt
{
    public static string Sign(object claims, RSA key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var unsigned = $"{Base64Url(JsonSerializer.SerializeToUtf8Bytes(new { alg = "RS256", typ = "JWT" }))}.{Base64Url(JsonSerializer.SerializeToUtf8Bytes(claims))}";
        return $"{unsigned}.{Base64Url(key.SignData(Encoding.ASCII.GetBytes(unsigned), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1))}";
    }

    /// <summary>The token's claims when <paramref name="key"/> signed it (RS256); null when it did not, or it is not a JWT.</summary>
    public static JsonDocument? Verified(string? token, RSA key)
    {
        ArgumentNullException.ThrowIfNull(key);
        var parts = (token ?? "").Split('.');
        try
        {
            return parts.Length == 3 && key.VerifyData(Encoding.ASCII.GetBytes($"{parts[0]}.{parts[1]}"), FromBase64Url(parts[2]), HashAlgorithmName.SHA256, RSASignaturePadding.Pkcs1)
                ? JsonDocument.Parse(FromBase64Url(parts[1]))
                : null;
        }
        catch (FormatException)
        {
            return null;
        }
    }

    public static string Base64Url(byte[] bytes) => Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    public static byte[] FromBase64Url(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var padded = text.Replace('-', '+').Replace('_', '/');
        return Convert.FromBase64String(padded + new string('=', (4 - (padded.Length % 4)) % 4));
    }
}
