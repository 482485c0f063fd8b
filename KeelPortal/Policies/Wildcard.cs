namespace KeelPortal.Policies;

/// <summary>Keel's glob: the whole tag must match and <c>*</c> (any run of characters) is the only wildcard.</summary>
internal static class Wildcard
{
    public static string[] Compile(string pattern) => pattern.Split('*');

    /// <summary>Whether <paramref name="text"/> matches the pattern split at its stars by <see cref="Compile"/>.</summary>
    public static bool Matches(string[] parts, string text)
    {
        if (parts.Length == 1)
        {
            return parts[0] == text;
        }
        var span = text.AsSpan();
        if (!span.StartsWith(parts[0], StringComparison.Ordinal))
        {
            return false;
        }
        span = span[parts[0].Length..];
        for (var i = 1; i < parts.Length - 1; i++)
        {
            var at = span.IndexOf(parts[i], StringComparison.Ordinal);
            if (at < 0)
            {
                return false;
            }
            span = span[(at + parts[i].Length)..];
        }
        return span.EndsWith(parts[^1], StringComparison.Ordinal);
    }
}
