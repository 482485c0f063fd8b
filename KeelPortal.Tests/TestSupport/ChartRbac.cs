using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using KeelPortal.Sandbox.Cluster;
using YamlDotNet.Serialization;

namespace KeelPortal.Tests.TestSupport;

/// <summary>
/// The RBAC rules of the portal's own chart (<c>deploy/chart/keelportal</c>), rendered by the real <c>helm template</c>
/// with the given <c>--set</c> values, read once per value set.
/// </summary>
public static class ChartRbac
{
    public const string PortalToken = "keelportal-service-account-token";

    private static readonly ConcurrentDictionary<string, Lazy<Task<IReadOnlyList<RbacRule>>>> Rendered = new(StringComparer.Ordinal);

    public static string Chart => Path.Combine(RepoPaths.Root, "deploy", "chart", "keelportal");

    public static Task<IReadOnlyList<RbacRule>> RulesAsync(params string[] sets) =>
        Rendered.GetOrAdd(string.Join('\n', sets), _ => new(() => RenderAsync(sets))).Value;

    public static async Task<KubeRbac> ForPortalAsync(params string[] sets) => new(PortalToken, await RulesAsync(sets));

    /// <summary>The image every rendering names (the chart requires one: the project publishes none).</summary>
    public const string Image = "registry.example.com/team/keelportal";

    public static async Task<string> TemplateAsync(params string[] sets)
    {
        var args = new List<string> { "template", "kp", Chart, "--namespace", "keel", "--set", $"image.repository={Image}" };
        foreach (var set in sets)
        {
            args.AddRange(["--set", set]);
        }
        var (code, output, error) = await HelmTool.RunRawAsync("/dev/null", null, [.. args]);
        return code == 0 ? output : throw new InvalidOperationException($"helm template failed: {error}");
    }

    private static async Task<IReadOnlyList<RbacRule>> RenderAsync(string[] sets) => FromManifests(await TemplateAsync(sets));

    /// <summary>The rules of every Role and ClusterRole in a multi-document YAML stream.</summary>
    public static IReadOnlyList<RbacRule> FromManifests(string yaml)
    {
        var deserializer = new DeserializerBuilder().Build();
        var serializer = new SerializerBuilder().JsonCompatible().Build();
        var rules = new List<RbacRule>();
        foreach (var document in yaml.Split("\n---", StringSplitOptions.RemoveEmptyEntries))
        {
            var parsed = deserializer.Deserialize<object?>(document);
            if (parsed is null || JsonNode.Parse(serializer.Serialize(parsed)) is not JsonObject manifest)
            {
                continue;
            }
            var kind = manifest["kind"]?.GetValue<string>();
            if (kind is not ("Role" or "ClusterRole"))
            {
                continue;
            }
            var ns = kind == "Role" ? manifest["metadata"]?["namespace"]?.GetValue<string>() ?? "default" : null;
            foreach (var rule in manifest["rules"]?.AsArray() ?? [])
            {
                rules.Add(new RbacRule(ns, Strings(rule?["apiGroups"]), Strings(rule?["resources"]), Strings(rule?["verbs"])));
            }
        }
        return rules;
    }

    private static List<string> Strings(JsonNode? node) => node?.AsArray().Select(n => n?.GetValue<string>() ?? "").ToList() ?? [];

}
