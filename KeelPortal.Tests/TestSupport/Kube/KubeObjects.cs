using System.Text;
using System.Text.Json.Nodes;

namespace KeelPortal.Tests.TestSupport.Kube;

/// <summary>Manifests for tests, shaped as kubectl would send them.</summary>
public static class KubeObjects
{
    public static JsonObject Workload(
        string kind, string ns, string name,
        IReadOnlyDictionary<string, string>? labels = null,
        IReadOnlyDictionary<string, string>? annotations = null,
        (string Name, string Image)[]? containers = null,
        (string Name, string Image)[]? initContainers = null,
        int replicas = 2)
    {
        var selector = new JsonObject { ["app"] = name };
        var podSpec = new JsonObject
        {
            ["containers"] = Containers(containers ?? [("app", "nginx:1.25.0")]),
            ["restartPolicy"] = kind == "CronJob" ? "OnFailure" : "Always",
        };
        if (initContainers is not null)
        {
            podSpec["initContainers"] = Containers(initContainers);
        }
        var template = new JsonObject
        {
            ["metadata"] = new JsonObject { ["labels"] = selector.DeepClone() },
            ["spec"] = podSpec,
        };
        JsonObject spec = kind switch
        {
            "CronJob" => new JsonObject
            {
                ["schedule"] = "*/5 * * * *",
                ["jobTemplate"] = new JsonObject { ["spec"] = new JsonObject { ["template"] = template } },
            },
            "DaemonSet" => new JsonObject { ["selector"] = new JsonObject { ["matchLabels"] = selector }, ["template"] = template },
            _ => new JsonObject { ["replicas"] = replicas, ["selector"] = new JsonObject { ["matchLabels"] = selector }, ["template"] = template },
        };
        if (kind == "StatefulSet")
        {
            spec["serviceName"] = name;
        }
        return new JsonObject
        {
            ["apiVersion"] = kind == "CronJob" ? "batch/v1" : "apps/v1",
            ["kind"] = kind,
            ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = ns, ["labels"] = Map(labels), ["annotations"] = Map(annotations) },
            ["spec"] = spec,
        };
    }

    public static JsonObject Pod(string ns, string name, string app, string node, params (string Container, string Image, string ImageId)[] statuses) => new()
    {
        ["apiVersion"] = "v1",
        ["kind"] = "Pod",
        ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = ns, ["labels"] = new JsonObject { ["app"] = app } },
        ["spec"] = new JsonObject { ["nodeName"] = node, ["containers"] = Containers([.. statuses.Select(s => (s.Container, s.Image))]) },
        ["status"] = new JsonObject
        {
            ["phase"] = "Running",
            ["containerStatuses"] = new JsonArray([.. statuses.Select(s => (JsonNode)new JsonObject
            {
                ["name"] = s.Container, ["image"] = s.Image, ["imageID"] = s.ImageId, ["ready"] = true, ["restartCount"] = 0,
            })]),
        },
    };

    public static JsonObject Node(string name, string os = "linux", string arch = "amd64", string? variant = null)
    {
        var labels = new JsonObject { ["kubernetes.io/os"] = os, ["kubernetes.io/arch"] = arch };
        if (variant is not null)
        {
            labels["kubernetes.io/arch-variant"] = variant;
        }
        return new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Node",
            ["metadata"] = new JsonObject { ["name"] = name, ["labels"] = labels },
            ["status"] = new JsonObject { ["nodeInfo"] = new JsonObject { ["operatingSystem"] = os, ["architecture"] = arch } },
        };
    }

    public static JsonObject PullSecret(string ns, string name, string registry, string user, string password)
    {
        var auth = Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}"));
        var config = new JsonObject { ["auths"] = new JsonObject { [registry] = new JsonObject { ["auth"] = auth } } }.ToJsonString();
        return new JsonObject
        {
            ["apiVersion"] = "v1",
            ["kind"] = "Secret",
            ["type"] = "kubernetes.io/dockerconfigjson",
            ["metadata"] = new JsonObject { ["name"] = name, ["namespace"] = ns },
            ["data"] = new JsonObject { [".dockerconfigjson"] = Convert.ToBase64String(Encoding.UTF8.GetBytes(config)) },
        };
    }

    public static JsonObject Namespace(string name) => new()
    {
        ["apiVersion"] = "v1", ["kind"] = "Namespace", ["metadata"] = new JsonObject { ["name"] = name },
    };

    private static JsonArray Containers((string Name, string Image)[] containers) =>
        new([.. containers.Select(c => (JsonNode)new JsonObject
        {
            ["name"] = c.Name, ["image"] = c.Image, ["imagePullPolicy"] = "IfNotPresent",
            ["ports"] = new JsonArray(new JsonObject { ["containerPort"] = 8080, ["protocol"] = "TCP" }),
            ["env"] = new JsonArray(new JsonObject { ["name"] = "MODE", ["value"] = "production" }),
        })]);

    private static JsonObject Map(IReadOnlyDictionary<string, string>? values) =>
        new(values?.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value)) ?? []);
}
