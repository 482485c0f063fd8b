using System.Globalization;
using System.Text;

namespace KeelPortal.Audit;

/// <summary>
/// Text from outside (webhook fields, user names from failed sign-ins) made safe for a log line or the audit: control
/// characters are written as escapes, so a newline cannot forge a second entry, and long values are cut.
/// </summary>
public static class LogText
{
    public static string Clean(string? text, int maxLength = 200)
    {
        if (string.IsNullOrEmpty(text))
        {
            return "";
        }
        var builder = new StringBuilder(Math.Min(text.Length, maxLength) + 8);
        foreach (var ch in text)
        {
            if (builder.Length >= maxLength)
            {
                builder.Append('…');
                break;
            }
            if (char.IsControl(ch) || ch is '\u2028' or '\u2029')
            {
                builder.Append("\\u").Append(((int)ch).ToString("x4", CultureInfo.InvariantCulture));
            }
            else
            {
                builder.Append(ch);
            }
        }
        return builder.ToString();
    }
}
