using System.Text;

namespace KeelPortal.Policies;

/// <summary>Accepts the Go (RE2) spelling Keel users write: <c>(?P&lt;name&gt;…)</c> becomes .NET's <c>(?&lt;name&gt;…)</c>.</summary>
internal static class GoRegex
{
    public static string ToDotNet(string pattern)
    {
        if (!pattern.Contains("(?P<", StringComparison.Ordinal))
        {
            return pattern;
        }
        var result = new StringBuilder(pattern.Length);
        var inClass = false;
        for (var i = 0; i < pattern.Length; i++)
        {
            var ch = pattern[i];
            if (ch == '\\' && i + 1 < pattern.Length)
            {
                result.Append(ch).Append(pattern[++i]);
                continue;
            }
            if (ch == '[')
            {
                inClass = true;
            }
            else if (ch == ']')
            {
                inClass = false;
            }
            else if (!inClass && ch == '(' && string.CompareOrdinal(pattern, i, "(?P<", 0, 4) == 0)
            {
                result.Append("(?<");
                i += 3;
                continue;
            }
            result.Append(ch);
        }
        return result.ToString();
    }
}
