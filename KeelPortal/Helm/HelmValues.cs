using System.Text.Json.Nodes;
using System.Text.RegularExpressions;

namespace KeelPortal.Helm;

/// <summary>Helm values as JSON: coalescing a chart's defaults with a release's own values, and reading by value path.</summary>
public static partial class HelmValues
{
    /// <summary>
    /// The values a release renders with: the chart's defaults overlaid by the release's values, maps merged deeply,
    /// the release winning, and a <c>null</c> in the release's values removing the default (as Helm does).
    /// </summary>
    public static JsonObject Coalesce(JsonObject? chartValues, JsonObject? releaseValues)
    {
        var result = (chartValues?.DeepClone() as JsonObject) ?? [];
        Overlay(result, releaseValues);
        return result;
    }

    private static void Overlay(JsonObject target, JsonObject? overlay)
    {
        foreach (var (key, value) in overlay ?? [])
        {
            if (value is null)
            {
                target.Remove(key);
            }
            else if (value is JsonObject map && target[key] is JsonObject existing)
            {
                Overlay(existing, map);
            }
            else
            {
                target[key] = value.DeepClone();
            }
        }
    }

    /// <summary>A value path as Keel's block names them: dotted keys with optional list indexes (<c>image.tag</c>, <c>images[0].tag</c>).</summary>
    public static bool IsPath(string? path) => path is { Length: > 0 and <= 256 } && PathGrammar().IsMatch(path);

    /// <summary>The scalar at <paramref name="path"/> as text, or null when it is missing or not a scalar.</summary>
    public static string? Get(JsonObject values, string path)
    {
        JsonNode? node = values;
        foreach (var segment in Segments(path))
        {
            node = segment.Index is { } index
                ? (node as JsonObject)?[segment.Key] is JsonArray list && index < list.Count ? list[index] : null
                : (node as JsonObject)?[segment.Key];
            if (node is null)
            {
                return null;
            }
        }
        return node is JsonValue scalar ? scalar.ToString() : null;
    }

    private static IEnumerable<(string Key, int? Index)> Segments(string path) =>
        path.Split('.').Select(part =>
        {
            var bracket = part.IndexOf('[', StringComparison.Ordinal);
            return bracket < 0 ? (part, (int?)null) : (part[..bracket], int.Parse(part[(bracket + 1)..^1], System.Globalization.CultureInfo.InvariantCulture));
        });

    [GeneratedRegex(@"^[A-Za-z0-9_-]+(\[[0-9]{1,4}\])?(\.[A-Za-z0-9_-]+(\[[0-9]{1,4}\])?)*$", RegexOptions.CultureInvariant)]
    private static partial Regex PathGrammar();
}
