using System.Text.Json.Nodes;

namespace KeelPortal.Sandbox;

/// <summary>A chat message as its app shows it: a title line, text lines, facts, buttons and links.</summary>
public sealed record SandboxMessageView(string App, string? Title, IReadOnlyList<string> Lines, IReadOnlyList<(string Name, string Value)> Facts, IReadOnlyList<string> Buttons)
{
    /// <summary>Reads a Slack body (its blocks, else its attachments' blocks, else its text) or a Mattermost one (its attachments).</summary>
    public static SandboxMessageView Of(SandboxMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var body = message.Body;
        return message.Channel.Contains("mattermost", StringComparison.Ordinal) ? Mattermost(body) : Slack(body);
    }

    private static SandboxMessageView Slack(JsonObject body)
    {
        var blocks = (body["blocks"] as JsonArray ?? [])
            .Concat((body["attachments"] as JsonArray ?? []).SelectMany(a => a?["blocks"] as JsonArray ?? [])).OfType<JsonObject>().ToList();
        string? title = null;
        var lines = new List<string>();
        var facts = new List<(string, string)>();
        var buttons = new List<string>();
        foreach (var block in blocks)
        {
            switch (Text(block["type"]))
            {
                case "header":
                    title ??= Text(block["text"]?["text"]);
                    break;
                case "section":
                    AddIf(lines, Text(block["text"]?["text"]));
                    foreach (var field in block["fields"] as JsonArray ?? [])
                    {
                        AddIf(lines, Text(field?["text"]));
                    }
                    break;
                case "context":
                    foreach (var element in block["elements"] as JsonArray ?? [])
                    {
                        AddIf(lines, Text(element?["text"]));
                    }
                    break;
                case "actions":
                    buttons.AddRange((block["elements"] as JsonArray ?? []).Select(e => Text(e?["text"]?["text"])).OfType<string>());
                    break;
            }
        }
        if (lines.Count == 0)
        {
            AddIf(lines, Text(body["text"]));
        }
        return new("Slack", title, lines, facts, buttons);
    }

    private static SandboxMessageView Mattermost(JsonObject body)
    {
        var attachment = (body["attachments"] as JsonArray)?.OfType<JsonObject>().FirstOrDefault();
        var lines = new List<string>();
        AddIf(lines, Text(attachment?["pretext"]));
        AddIf(lines, Text(attachment?["text"]) ?? Text(body["text"]));
        var facts = (attachment?["fields"] as JsonArray ?? []).OfType<JsonObject>()
            .Select(f => (Text(f["title"]) ?? "", Text(f["value"]) ?? "")).ToList();
        var buttons = (attachment?["actions"] as JsonArray ?? []).Select(a => Text(a?["name"])).OfType<string>().ToList();
        return new("Mattermost", Text(attachment?["title"]), lines, facts, buttons);
    }

    private static void AddIf(List<string> lines, string? text)
    {
        if (!string.IsNullOrWhiteSpace(text))
        {
            lines.Add(text);
        }
    }

    private static string? Text(JsonNode? node) => node is JsonValue v && v.TryGetValue<string>(out var s) ? s : null;
}
