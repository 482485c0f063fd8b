using System.Text;

namespace KeelPortal.Notifications;

/// <summary>
/// Every value in a message that came from a workload, a registry or a person (names, tags, reasons, comments, voters)
/// is text in the format it goes into: it can neither format, link, mention nor break out of its line.
/// </summary>
public static partial class MessageComposer
{
    /// <summary>Slack (mrkdwn and the top-level <c>text</c>): its three control characters as entities — no <c>&lt;!channel&gt;</c>, no <c>&lt;url|label&gt;</c>.</summary>
    internal static string SlackText(string text) =>
        OneLine(text).Replace("&", "&amp;", StringComparison.Ordinal).Replace("<", "&lt;", StringComparison.Ordinal).Replace(">", "&gt;", StringComparison.Ordinal);

    /// <summary>
    /// Markdown (Mattermost, Teams, Discord): the characters that start emphasis, code, links and images, strike-through
    /// and tables are backslash-escaped, and every <c>@</c> is followed by a word joiner, so <c>@channel</c> mentions no one.
    /// </summary>
    internal static string MarkdownText(string text)
    {
        var line = OneLine(text);
        var escaped = new StringBuilder(line.Length + 8);
        foreach (var c in line)
        {
            if (c is '\\' or '*' or '_' or '`' or '~' or '[' or ']' or '|')
            {
                escaped.Append('\\');
            }
            escaped.Append(c);
            if (c == '@')
            {
                escaped.Append('\u2060');
            }
        }
        return escaped.ToString();
    }

    /// <summary>Plain text a chat shows as it is (Mattermost's fallback, Teams' summary): one line, mentions broken.</summary>
    internal static string PlainText(string text) => OneLine(text).Replace("@", "@\u2060", StringComparison.Ordinal);

    /// <summary>Line breaks and other control characters become spaces: a value cannot start a heading, a quote or a list.</summary>
    private static string OneLine(string text) =>
        text.Any(char.IsControl) ? new string(text.Select(c => char.IsControl(c) ? ' ' : c).ToArray()) : text;
}
