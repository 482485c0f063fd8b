using System.Net.Http.Headers;

namespace KeelPortal.Registries;

/// <summary>A registry's <c>WWW-Authenticate</c> answer: Basic, or Bearer with the token service to ask.</summary>
internal sealed record AuthChallenge(string Scheme, string? Realm, string? Service)
{
    public bool IsBearer => Scheme.Equals("Bearer", StringComparison.OrdinalIgnoreCase);

    public static AuthChallenge? From(HttpResponseMessage response)
    {
        foreach (var header in response.Headers.WwwAuthenticate)
        {
            if (header.Scheme.Equals("Bearer", StringComparison.OrdinalIgnoreCase))
            {
                var values = Parameters(header);
                return new AuthChallenge("Bearer", values.GetValueOrDefault("realm"), values.GetValueOrDefault("service"));
            }
            if (header.Scheme.Equals("Basic", StringComparison.OrdinalIgnoreCase))
            {
                return new AuthChallenge("Basic", null, null);
            }
        }
        return null;
    }

    /// <summary>Reads <c>realm="…",service="…",scope="…"</c>; values may contain commas inside quotes.</summary>
    internal static Dictionary<string, string> Parameters(AuthenticationHeaderValue header)
    {
        var result = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        var text = header.Parameter ?? "";
        var i = 0;
        while (i < text.Length)
        {
            var eq = text.IndexOf('=', i);
            if (eq < 0)
            {
                break;
            }
            var key = text[i..eq].Trim().TrimStart(',').Trim();
            string value;
            if (eq + 1 < text.Length && text[eq + 1] == '"')
            {
                var end = text.IndexOf('"', eq + 2);
                end = end < 0 ? text.Length : end;
                value = text[(eq + 2)..end];
                i = end + 1;
            }
            else
            {
                var end = text.IndexOf(',', eq + 1);
                end = end < 0 ? text.Length : end;
                value = text[(eq + 1)..end].Trim();
                i = end;
            }
            result[key] = value;
            i = text.IndexOf(',', i) is var comma && comma >= 0 ? comma + 1 : text.Length;
        }
        return result;
    }
}
