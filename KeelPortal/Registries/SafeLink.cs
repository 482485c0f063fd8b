namespace KeelPortal.Registries;

/// <summary>
/// Links that come from outside (image labels, <c>keel.sh/releaseNotes</c>) are untrusted: only absolute http(s)
/// addresses are links at all, the one rule the console and every message share.
/// </summary>
public static class SafeLink
{
    /// <summary>The address as the console shows it, or null when it is not an absolute http(s) address.</summary>
    public static string? Of(string? text) => Parse(text)?.ToString().TrimEnd('/');

    /// <summary>
    /// The address for a chat message: escaped (<see cref="Uri.AbsoluteUri"/>), with the characters chat markup reads
    /// (<c>( ) [ ] * _ ~ | &lt; &gt; ` ' "</c> and <c>@</c>) percent-encoded as well, so it stays one link whatever
    /// format carries it; null when it is not an absolute http(s) address without credentials.
    /// </summary>
    public static string? ForMessage(string? text)
    {
        if (Parse(text) is not { } uri || uri.UserInfo.Length > 0)
        {
            return null;
        }
        var builder = new System.Text.StringBuilder(uri.AbsoluteUri.Length);
        foreach (var c in uri.AbsoluteUri)
        {
            builder.Append(c is '(' or ')' or '[' or ']' or '*' or '_' or '~' or '|' or '<' or '>' or '`' or '\'' or '"' or '@' or '!'
                ? $"%{(int)c:X2}"
                : c.ToString());
        }
        return builder.ToString();
    }

    private static Uri? Parse(string? text) =>
        Uri.TryCreate(text?.Trim(), UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttps || uri.Scheme == Uri.UriSchemeHttp) ? uri : null;
}
