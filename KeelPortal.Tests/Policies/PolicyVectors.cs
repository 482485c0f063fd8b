using System.Text.Json;
using System.Text.Json.Nodes;
using KeelPortal.Tests.TestSupport;

namespace KeelPortal.Tests.Policies;

/// <summary>Reads the cases of Keel's own policy tests from the copy of the shared vectors file.</summary>
public static class PolicyVectors
{
    public const string FileName = "Policies/keel-policy-vectors.json";

    private static readonly Lazy<JsonObject> Document = new(() =>
        JsonNode.Parse(File.ReadAllText(RepoPaths.TestFile(FileName)))!.AsObject());

    /// <summary>One theory row per case of a group; the row shows as the case's JSON in test output.</summary>
    public static TheoryData<VectorCase> Cases(string group)
    {
        var data = new TheoryData<VectorCase>();
        foreach (var node in Document.Value[group]!["cases"]!.AsArray())
        {
            data.Add(new VectorCase(node!.AsObject()));
        }
        return data;
    }
}

public sealed class VectorCase(JsonObject json)
{
    public JsonObject Json { get; } = json;

    public string Str(string key) => Json[key]!.GetValue<string>();

    public string? OptionalStr(string key) => Json[key] is JsonValue v && v.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : null;

    public bool Bool(string key, bool fallback = false) => Json[key] is JsonValue v ? v.GetValue<bool>() : fallback;

    public bool Has(string key) => Json.ContainsKey(key);

    public string[] Strings(string key) => Json[key]!.AsArray().Select(n => n!.GetValue<string>()).ToArray();

    public override string ToString() => Json.ToJsonString();
}
