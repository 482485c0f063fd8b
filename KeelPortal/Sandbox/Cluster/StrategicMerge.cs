using System.Text.Json.Nodes;

namespace KeelPortal.Sandbox.Cluster;

/// <summary>
/// The patch formats the API server accepts, as Kubernetes applies them: JSON merge patch (RFC 7386), strategic
/// merge patch (lists of containers, env, volumes… merged by their key) and JSON patch (RFC 6902).
/// </summary>
public static class Patches
{
    private static readonly Dictionary<string, string> MergeKeys = new(StringComparer.Ordinal)
    {
        ["containers"] = "name", ["initContainers"] = "name", ["ephemeralContainers"] = "name", ["env"] = "name",
        ["volumes"] = "name", ["volumeMounts"] = "mountPath", ["imagePullSecrets"] = "name", ["ports"] = "containerPort",
        ["conditions"] = "type", ["tolerations"] = "key",
    };

    public static JsonNode? Merge(JsonNode? target, JsonNode? patch, bool strategic)
    {
        if (patch is not JsonObject patchObject)
        {
            return patch?.DeepClone();
        }
        var result = target is JsonObject targetObject ? (JsonObject)targetObject.DeepClone() : [];
        foreach (var (key, value) in patchObject)
        {
            if (value is null)
            {
                result.Remove(key);
            }
            else if (strategic && value is JsonArray items && MergeKeys.TryGetValue(key, out var mergeKey) && result[key] is JsonArray existing)
            {
                result[key] = MergeList(existing, items, mergeKey);
            }
            else
            {
                result[key] = Merge(result[key], value, strategic);
            }
        }
        return result;
    }

    private static JsonArray MergeList(JsonArray existing, JsonArray patch, string key)
    {
        var merged = existing.Select(e => e?.DeepClone()).ToList();
        foreach (var item in patch)
        {
            var id = item?[key]?.ToJsonString();
            var index = merged.FindIndex(e => e?[key]?.ToJsonString() == id);
            if (item?["$patch"]?.GetValue<string>() == "delete")
            {
                if (index >= 0)
                {
                    merged.RemoveAt(index);
                }
            }
            else if (index >= 0)
            {
                merged[index] = Merge(merged[index], item, strategic: true);
            }
            else
            {
                merged.Add(item?.DeepClone());
            }
        }
        return new JsonArray([.. merged]);
    }

    /// <summary>RFC 6902 with the operations Kubernetes clients send; a failed <c>test</c> or a missing parent throws.</summary>
    public static JsonNode ApplyJsonPatch(JsonNode target, JsonArray operations)
    {
        var document = target.DeepClone();
        foreach (var operation in operations)
        {
            var op = operation!["op"]!.GetValue<string>();
            var path = Pointer(operation["path"]!.GetValue<string>());
            var value = operation["value"];
            var (parent, last) = Resolve(document, path);
            switch (op)
            {
                case "test":
                    if (!JsonNode.DeepEquals(Get(parent, last), value))
                    {
                        throw new PatchConflictException($"test failed at {operation["path"]}");
                    }
                    break;
                case "add":
                case "replace":
                    Set(parent, last, value?.DeepClone(), op == "add");
                    break;
                case "remove":
                    Remove(parent, last);
                    break;
                default:
                    throw new InvalidPatchException($"unsupported operation {op}");
            }
        }
        return document;
    }

    private static string[] Pointer(string path) =>
        path.Split('/').Skip(1).Select(p => p.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal)).ToArray();

    private static (JsonNode Parent, string Last) Resolve(JsonNode document, string[] path)
    {
        var node = document;
        foreach (var part in path[..^1])
        {
            node = (node is JsonArray array ? array[int.Parse(part, System.Globalization.CultureInfo.InvariantCulture)] : node[part])
                ?? throw new InvalidPatchException($"missing path element {part}");
        }
        return (node, path[^1]);
    }

    private static JsonNode? Get(JsonNode parent, string last) =>
        parent is JsonArray array ? array[int.Parse(last, System.Globalization.CultureInfo.InvariantCulture)] : parent[last];

    private static void Set(JsonNode parent, string last, JsonNode? value, bool insert)
    {
        if (parent is JsonArray array)
        {
            if (last == "-")
            {
                array.Add(value);
            }
            else if (insert)
            {
                array.Insert(int.Parse(last, System.Globalization.CultureInfo.InvariantCulture), value);
            }
            else
            {
                array[int.Parse(last, System.Globalization.CultureInfo.InvariantCulture)] = value;
            }
        }
        else
        {
            parent.AsObject()[last] = value;
        }
    }

    private static void Remove(JsonNode parent, string last)
    {
        if (parent is JsonArray array)
        {
            array.RemoveAt(int.Parse(last, System.Globalization.CultureInfo.InvariantCulture));
        }
        else
        {
            parent.AsObject().Remove(last);
        }
    }
}

public sealed class InvalidPatchException(string message) : Exception(message);

public sealed class PatchConflictException(string message) : Exception(message);
