using System.Collections.Concurrent;
using System.Text;
using System.Text.Json.Nodes;

namespace KeelPortal.Sandbox.Cluster;

public sealed partial class KubeApiServer
{
    private sealed record ResourcePath(KubeResource Resource, string? Namespace, string? Name, string? Subresource);

    /// <summary>
    /// <c>api/v1/…</c> or <c>apis/{group}/{version}/…</c> followed by <c>{plural}[/{name}[/{sub}]]</c> or
    /// <c>namespaces/{ns}/{plural}[/{name}[/{sub}]]</c>.
    /// </summary>
    private static bool TryParseResourcePath(string[] parts, out ResourcePath target)
    {
        target = null!;
        var (group, version, rest) = parts switch
        {
            ["api", var v, .. var r] => ("", v, r),
            ["apis", var g, var v, .. var r] => (g, v, r),
            _ => ("", "", Array.Empty<string>()),
        };
        if (rest.Length == 0)
        {
            return false;
        }
        string? ns = null;
        if (rest is ["namespaces", var n, var plural, ..] && KubeResources.Find(group, version, plural) is { Namespaced: true })
        {
            ns = n;
            rest = rest[2..];
        }
        var resource = KubeResources.Find(group, version, rest[0]);
        if (resource is null)
        {
            return false;
        }
        target = new ResourcePath(resource, ns, rest.Length > 1 ? rest[1] : null, rest.Length > 2 ? rest[2] : null);
        return true;
    }

    private async Task WatchAsync(HttpContext context, KubeResource resource, string? ns)
    {
        var from = long.TryParse(context.Request.Query["resourceVersion"], out var rv) ? rv : Store.Revision;
        var timeout = int.TryParse(context.Request.Query["timeoutSeconds"], out var seconds) ? TimeSpan.FromSeconds(seconds) : TimeSpan.FromMinutes(30);
        context.Response.StatusCode = 200;
        context.Response.ContentType = "application/json";
        // Headers go on the wire now: clients wait for them before reading events.
        await context.Response.StartAsync();
        await context.Response.Body.FlushAsync();
        var subscription = Store.Subscribe(from);
        if (subscription is not { } live)
        {
            await WriteEventAsync(context, "ERROR", new JsonObject
            {
                ["kind"] = "Status", ["apiVersion"] = "v1", ["status"] = "Failure", ["code"] = 410, ["reason"] = "Expired",
                ["message"] = $"too old resource version: {from} ({Store.Revision})",
            });
            return;
        }
        using var ends = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, stopping.Token);
        ends.CancelAfter(timeout);
        try
        {
            foreach (var change in live.Backlog)
            {
                await WriteIfMatchingAsync(context, change, resource, ns);
            }
            await foreach (var change in live.Live.Reader.ReadAllAsync(ends.Token))
            {
                await WriteIfMatchingAsync(context, change, resource, ns);
            }
        }
        catch (OperationCanceledException)
        {
            // Timeout, client gone or server stopping: the watch ends as a real one does.
        }
        finally
        {
            Store.Unsubscribe(live.Live);
        }
    }

    private static async Task WriteIfMatchingAsync(HttpContext context, KubeEvent change, KubeResource resource, string? ns)
    {
        if (change.Resource == resource && (ns is null || change.Namespace == ns)
            && Selectors.Match(change.Value, context.Request.Query["labelSelector"], context.Request.Query["fieldSelector"]))
        {
            await WriteEventAsync(context, change.Type, (JsonObject)change.Value.DeepClone());
        }
    }

    private static async Task WriteEventAsync(HttpContext context, string type, JsonObject value)
    {
        var line = new JsonObject { ["type"] = type, ["object"] = value }.ToJsonString() + "\n";
        await context.Response.Body.WriteAsync(Encoding.UTF8.GetBytes(line));
        await context.Response.Body.FlushAsync();
    }

    private static async Task JsonAsync(HttpContext context, int status, JsonNode body)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(body.ToJsonString());
    }

    private static Task StatusAsync(HttpContext context, int code, string reason, string message) =>
        JsonAsync(context, code, new JsonObject
        {
            ["kind"] = "Status", ["apiVersion"] = "v1", ["metadata"] = new JsonObject(), ["status"] = "Failure",
            ["message"] = message, ["reason"] = reason, ["code"] = code,
        });

    /// <summary>Writes an object's status as its controller would (a separate MODIFIED event).</summary>
    public JsonObject SetStatus(string kind, string ns, string name, JsonObject status) =>
        Store.Update(KubeResources.ByKind(kind), ns, name, current =>
        {
            current["status"] = status.DeepClone();
            current["metadata"]!.AsObject().Remove("resourceVersion");
            return current;
        }, statusOnly: true);

    /// <summary>The status a controller writes when every replica runs the current generation.</summary>
    public JsonObject CompleteRollout(string kind, string ns, string name)
    {
        var resource = KubeResources.ByKind(kind);
        var current = Store.Get(resource, ns, name) ?? throw new NotFoundException(name);
        var generation = current["metadata"]!["generation"]!.GetValue<long>();
        var replicas = current["spec"]?["replicas"]?.GetValue<int>() ?? 1;
        JsonObject status = kind.ToLowerInvariant() switch
        {
            "deployment" => new JsonObject
            {
                ["observedGeneration"] = generation, ["replicas"] = replicas, ["updatedReplicas"] = replicas,
                ["readyReplicas"] = replicas, ["availableReplicas"] = replicas,
                ["conditions"] = new JsonArray(
                    Condition("Available", "True", "MinimumReplicasAvailable", "Deployment has minimum availability."),
                    Condition("Progressing", "True", "NewReplicaSetAvailable", $"ReplicaSet \"{name}-{generation}\" has successfully progressed.")),
            },
            "statefulset" => new JsonObject
            {
                ["observedGeneration"] = generation, ["replicas"] = replicas, ["readyReplicas"] = replicas, ["updatedReplicas"] = replicas,
                ["availableReplicas"] = replicas, ["currentRevision"] = $"{name}-{generation}", ["updateRevision"] = $"{name}-{generation}",
            },
            "daemonset" => new JsonObject
            {
                ["observedGeneration"] = generation, ["desiredNumberScheduled"] = 2, ["currentNumberScheduled"] = 2,
                ["updatedNumberScheduled"] = 2, ["numberAvailable"] = 2, ["numberReady"] = 2, ["numberMisscheduled"] = 0,
            },
            _ => new JsonObject(),
        };
        return SetStatus(kind, ns, name, status);
    }

    /// <summary>A Deployment whose new ReplicaSet did not become available in time.</summary>
    public JsonObject FailRollout(string ns, string name)
    {
        var current = Store.Get(KubeResources.ByKind("Deployment"), ns, name) ?? throw new NotFoundException(name);
        var generation = current["metadata"]!["generation"]!.GetValue<long>();
        return SetStatus("Deployment", ns, name, new JsonObject
        {
            ["observedGeneration"] = generation, ["replicas"] = 2, ["updatedReplicas"] = 1, ["readyReplicas"] = 1,
            ["availableReplicas"] = 1, ["unavailableReplicas"] = 1,
            ["conditions"] = new JsonArray(
                Condition("Available", "True", "MinimumReplicasAvailable", "Deployment has minimum availability."),
                Condition("Progressing", "False", "ProgressDeadlineExceeded", $"ReplicaSet \"{name}-{generation}\" has timed out progressing.")),
        });
    }

    private void FollowWithRollout(KubeResource resource, string ns, string name)
    {
        if (AutoRollout && resource.Kind is "Deployment" or "StatefulSet" or "DaemonSet")
        {
            // The status is written whether or not anyone listens (a ?.Invoke would skip its arguments).
            var succeeded = !(resource.Kind == "Deployment" && RolloutFails is { } fails && Store.Get(resource, ns, name) is { } current && fails(current));
            var rolled = succeeded ? CompleteRollout(resource.Kind, ns, name) : FailRollout(ns, name);
            Rolled?.Invoke(resource.Kind, ns, name, rolled, succeeded);
        }
    }

    private static JsonObject Condition(string type, string status, string reason, string message) => new()
    {
        ["type"] = type, ["status"] = status, ["reason"] = reason, ["message"] = message,
        ["lastUpdateTime"] = "2026-01-01T00:00:00Z", ["lastTransitionTime"] = "2026-01-01T00:00:00Z",
    };

    /// <summary>Creates an object from its manifest (kind and metadata.namespace say where).</summary>
    /// <summary>What <c>pods/{pod}/log</c> answers for one container (its current or, with <paramref name="previous"/>, its last run).</summary>
    public void SetLog(string ns, string pod, string container, string text, bool previous = false) => logs[(ns, pod, container, previous)] = text;

    private readonly ConcurrentDictionary<(string Ns, string Pod, string Container, bool Previous), string> logs = new();

    /// <summary>A container's log as the kubelet serves it: the last <c>tailLines</c> lines, cut at <c>limitBytes</c>.</summary>
    private async Task LogAsync(HttpContext context, string ns, string pod)
    {
        var query = context.Request.Query;
        var container = query["container"].ToString();
        var previous = query["previous"] == "true";
        if (!logs.TryGetValue((ns, pod, container, previous), out var text))
        {
            await StatusAsync(context, 400, "BadRequest", previous
                ? $"previous terminated container \"{container}\" in pod \"{pod}\" not found"
                : $"container \"{container}\" in pod \"{pod}\" is waiting to start");
            return;
        }
        var lines = text.Split('\n');
        if (int.TryParse(query["tailLines"], out var tail) && tail < lines.Length)
        {
            lines = lines[^tail..];
        }
        var bytes = System.Text.Encoding.UTF8.GetBytes(string.Join('\n', lines));
        if (int.TryParse(query["limitBytes"], out var limit) && limit < bytes.Length)
        {
            bytes = bytes[..limit];
        }
        context.Response.StatusCode = 200;
        context.Response.ContentType = "text/plain";
        await context.Response.Body.WriteAsync(bytes);
    }

    public JsonObject Create(JsonObject manifest)
    {
        var resource = KubeResources.ByKind(manifest["kind"]!.GetValue<string>());
        var ns = resource.Namespaced ? manifest["metadata"]?["namespace"]?.GetValue<string>() ?? "default" : "";
        return Store.Create(resource, ns, manifest);
    }

    public JsonObject? Get(string kind, string ns, string name) => Store.Get(KubeResources.ByKind(kind), ns, name);

    /// <summary>Changes an object as another client would (kubectl, a GitOps tool).</summary>
    public JsonObject Modify(string kind, string ns, string name, Action<JsonObject> change) =>
        Store.Update(KubeResources.ByKind(kind), ns, name, current =>
        {
            change(current);
            current["metadata"]!.AsObject().Remove("resourceVersion");
            return current;
        });

    /// <summary>A kubeconfig file pointing at this server. The token is not checked: the server listens on loopback only.</summary>
    public string WriteKubeconfig(string folder, string context = "test")
    {
        var path = Path.Combine(folder, "kubeconfig");
        File.WriteAllText(path, $"""
            apiVersion: v1
            kind: Config
            clusters:
            - name: test
              cluster:
                server: {Url}
            users:
            - name: test
              user:
                token: loopback-test-token
            contexts:
            - name: {context}
              context:
                cluster: test
                user: test
                namespace: default
            current-context: {context}
            """);
        return path;
    }

    public int CountRequests(string method, string? pathContains = null) =>
        Requests.Count(r => r.Method == method && (pathContains is null || r.Path.Contains(pathContains, StringComparison.Ordinal)));

    /// <summary>The answers to those requests in order (<c>200, 409</c>): a conflict retried is not a second write.</summary>
    public IReadOnlyList<int> Answers(string method, string? pathContains = null) =>
        Requests.Where(r => r.Method == method && (pathContains is null || r.Path.Contains(pathContains, StringComparison.Ordinal))).Select(r => r.Status).ToList();
}

internal static class Discovery
{
    public static JsonObject Groups() => new()
    {
        ["kind"] = "APIGroupList",
        ["apiVersion"] = "v1",
        ["groups"] = new JsonArray([.. KubeResources.All.Where(r => r.Group.Length > 0).Select(r => r.Group).Distinct().Select(g =>
        {
            var version = KubeResources.All.First(r => r.Group == g).Version;
            var gv = new JsonObject { ["groupVersion"] = $"{g}/{version}", ["version"] = version };
            return (JsonNode)new JsonObject { ["name"] = g, ["versions"] = new JsonArray(gv), ["preferredVersion"] = gv.DeepClone() };
        })]),
    };

    public static JsonObject Resources(string group, string version) => new()
    {
        ["kind"] = "APIResourceList",
        ["apiVersion"] = "v1",
        ["groupVersion"] = group.Length == 0 ? version : $"{group}/{version}",
        ["resources"] = new JsonArray([.. KubeResources.All.Where(r => r.Group == group && r.Version == version).SelectMany(r => new JsonNode[]
        {
            new JsonObject
            {
                ["name"] = r.Plural, ["singularName"] = r.Singular, ["namespaced"] = r.Namespaced, ["kind"] = r.Kind,
                ["verbs"] = new JsonArray("create", "delete", "get", "list", "patch", "update", "watch"),
                ["shortNames"] = new JsonArray([.. r.ShortNames.Select(s => (JsonNode)s)]),
            },
            new JsonObject
            {
                ["name"] = r.Plural + "/status", ["singularName"] = "", ["namespaced"] = r.Namespaced, ["kind"] = r.Kind,
                ["verbs"] = new JsonArray("get", "patch", "update"),
            },
        })]),
    };
}

internal static class Selectors
{
    /// <summary>Equality label selectors (<c>a=b,c!=d</c>) and the field selectors kubectl sends (<c>metadata.name=x</c>).</summary>
    public static bool Match(JsonObject item, string? labelSelector, string? fieldSelector)
    {
        var labels = item["metadata"]?["labels"] as JsonObject;
        foreach (var term in Terms(labelSelector))
        {
            var value = labels?[term.Key]?.GetValue<string>();
            if (term.Equal ? value != term.Value : value == term.Value)
            {
                return false;
            }
        }
        foreach (var term in Terms(fieldSelector))
        {
            var value = term.Key switch
            {
                "metadata.name" => item["metadata"]?["name"]?.GetValue<string>(),
                "metadata.namespace" => item["metadata"]?["namespace"]?.GetValue<string>(),
                "type" => item["type"]?.GetValue<string>(),
                "involvedObject.name" => item["involvedObject"]?["name"]?.GetValue<string>(),
                "involvedObject.kind" => item["involvedObject"]?["kind"]?.GetValue<string>(),
                _ => null,
            };
            if (term.Equal ? value != term.Value : value == term.Value)
            {
                return false;
            }
        }
        return true;
    }

    private static IEnumerable<(string Key, string Value, bool Equal)> Terms(string? selector) =>
        string.IsNullOrEmpty(selector)
            ? []
            : selector.Split(',', StringSplitOptions.RemoveEmptyEntries).Select(term =>
            {
                var notEqual = term.IndexOf("!=", StringComparison.Ordinal);
                if (notEqual >= 0)
                {
                    return (term[..notEqual], term[(notEqual + 2)..], false);
                }
                var parts = term.Split(term.Contains("==", StringComparison.Ordinal) ? "==" : "=", 2);
                return (parts[0], parts.Length > 1 ? parts[1] : "", true);
            });
}
