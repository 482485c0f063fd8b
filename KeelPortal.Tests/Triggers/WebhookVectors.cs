using System.Text.Json.Nodes;
using KeelPortal.Tests.Policies;
using KeelPortal.Tests.TestSupport;

namespace KeelPortal.Tests.Triggers;

/// <summary>The webhook bodies of the shared vectors (a copy kept in this folder; the test command checks it).</summary>
public static class WebhookVectors
{
    private static readonly Lazy<JsonObject> Document = new(() =>
        JsonNode.Parse(File.ReadAllText(RepoPaths.TestFile("Triggers/webhooks.json")))!.AsObject());

    public static TheoryData<VectorCase> Cases(string group)
    {
        var data = new TheoryData<VectorCase>();
        foreach (var node in Document.Value[group]!.AsArray())
        {
            data.Add(new VectorCase(node!.AsObject()));
        }
        return data;
    }

    public static string Provider(VectorCase c) => c.Json["endpoint"]!.GetValue<string>().Split('/')[^1];

    public static string Body(VectorCase c) => c.Json["body"] is JsonValue v && v.TryGetValue<string>(out var raw) ? raw : c.Json["body"]!.ToJsonString();

    public static string? Header(VectorCase c, string name) => c.Json["headers"]?[name]?.GetValue<string>();
}
