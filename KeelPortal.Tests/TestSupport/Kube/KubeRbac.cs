using System.Text.Json.Nodes;
using YamlDotNet.Serialization;

namespace KeelPortal.Tests.TestSupport.Kube;

/// <summary>One RBAC rule as a Role or ClusterRole grants it; <see cref="Namespace"/> null for a ClusterRole's.</summary>
public sealed record RbacRule(string? Namespace, IReadOnlyList<string> ApiGroups, IReadOnlyList<string> Resources, IReadOnlyList<string> Verbs)
{
    public override string ToString() =>
        $"{Namespace ?? "cluster"}: [{string.Join(",", ApiGroups)}] {string.Join(",", Resources)} {string.Join(",", Verbs)}";
}

/// <summary>
/// RBAC as the API server enforces it for one bearer token: a request is allowed only when a rule grants its verb on
/// its resource, cluster-wide or in its namespace; anything else is a 403. Other tokens (and none) are not restricted.
/// Rules are read from rendered manifests (a chart's <c>helm template</c> output).
/// </summary>
public sealed class KubeRbac(string token, IReadOnlyList<RbacRule> rules)
{
    public string Token { get; } = token;

    public IReadOnlyList<RbacRule> Rules { get; } = rules;

    public KubeRbac Without(RbacRule rule) => new(Token, [.. Rules.Where(r => !ReferenceEquals(r, rule))]);

    public bool Allows(string verb, string group, string resource, string? ns) => Rules.Any(r =>
        (r.Namespace is null || r.Namespace == ns)
        && (r.ApiGroups.Contains("*") || r.ApiGroups.Contains(group))
        && (r.Resources.Contains("*") || r.Resources.Contains(resource))
        && (r.Verbs.Contains("*") || r.Verbs.Contains(verb)));

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
