using System.Text.Json.Nodes;

namespace KeelPortal.Sandbox.Cluster;

/// <summary>
/// The OpenAPI v3 documents Helm and kubectl download before they send manifests: an index of group-versions, and per
/// group-version permissive schemas carrying <c>x-kubernetes-group-version-kind</c> plus PATCH operations that declare
/// the <c>fieldValidation</c> parameter, which tells clients the server validates fields itself.
/// </summary>
internal static class KubeOpenApi
{
    private static string PathOf(string group, string version) => group.Length == 0 ? $"api/{version}" : $"apis/{group}/{version}";

    public static JsonObject Index() => new()
    {
        ["paths"] = new JsonObject([.. KubeResources.All.Select(r => PathOf(r.Group, r.Version)).Distinct().Select(p =>
            KeyValuePair.Create(p, (JsonNode?)new JsonObject { ["serverRelativeURL"] = $"/openapi/v3/{p}?hash=0" }))]),
    };

    /// <summary>The document of <c>api/v1</c> or <c>apis/{group}/{version}</c>, or null for one the server does not serve.</summary>
    public static JsonObject? Document(string path)
    {
        var resources = KubeResources.All.Where(r => PathOf(r.Group, r.Version) == path).ToList();
        if (resources.Count == 0)
        {
            return null;
        }
        var paths = new JsonObject();
        var schemas = new JsonObject();
        foreach (var r in resources)
        {
            var gvk = new JsonObject { ["group"] = r.Group, ["version"] = r.Version, ["kind"] = r.Kind };
            var item = r.Namespaced ? $"/{path}/namespaces/{{namespace}}/{r.Plural}/{{name}}" : $"/{path}/{r.Plural}/{{name}}";
            paths[item] = new JsonObject
            {
                ["patch"] = new JsonObject
                {
                    ["operationId"] = $"patch{r.Kind}",
                    ["x-kubernetes-action"] = "patch",
                    ["x-kubernetes-group-version-kind"] = gvk.DeepClone(),
                    ["parameters"] = new JsonArray(
                        new JsonObject { ["name"] = "fieldValidation", ["in"] = "query", ["schema"] = new JsonObject { ["type"] = "string" } },
                        new JsonObject { ["name"] = "fieldManager", ["in"] = "query", ["schema"] = new JsonObject { ["type"] = "string" } }),
                    ["responses"] = new JsonObject { ["200"] = new JsonObject { ["description"] = "OK" } },
                },
            };
            var prefix = r.Group.Length == 0 ? "io.k8s.api.core" : $"io.k8s.api.{r.Group.Split('.')[0]}";
            schemas[$"{prefix}.{r.Version}.{r.Kind}"] = new JsonObject
            {
                ["type"] = "object",
                ["x-kubernetes-preserve-unknown-fields"] = true,
                ["x-kubernetes-group-version-kind"] = new JsonArray(gvk),
            };
        }
        return new JsonObject
        {
            ["openapi"] = "3.0.0",
            ["info"] = new JsonObject { ["title"] = "Kubernetes", ["version"] = "v1.32.0" },
            ["paths"] = paths,
            ["components"] = new JsonObject { ["schemas"] = schemas },
        };
    }
}
