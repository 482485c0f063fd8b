using System.IO.Compression;
using System.Text.Json;
using System.Text.Json.Nodes;
using KeelPortal.Workloads;

namespace KeelPortal.Helm;

/// <summary>What the portal keeps of a deployed revision: its chart, the chart's subcharts and the values it renders with.</summary>
public sealed record DecodedRelease(string Chart, string ChartVersion, string? AppVersion, IReadOnlyList<string> Dependencies, JsonObject Values);

/// <summary>One revision in Helm's storage as the portal keeps it; only a deployed revision is decoded.</summary>
public sealed partial record StoredRevision(
    HelmDriver Driver, string Namespace, string Release, string ObjectName, int Revision, string Status, string? ModifiedAt,
    DecodedRelease? Deployed, string? Error)
{
    public string ReleaseId => WorkloadId.Of(WorkloadKind.HelmRelease, Namespace, Release);

    /// <summary>
    /// Reads a storage object: identity and status from its labels (<c>name</c>, <c>version</c>, <c>status</c>), and
    /// for the deployed revision its payload. Whatever the payload holds, the result says what went wrong instead of throwing.
    /// </summary>
    public static StoredRevision? From(HelmStorageObject stored)
    {
        if (!stored.Labels.TryGetValue("name", out var release) || release.Length == 0)
        {
            return null;
        }
        var revision = int.TryParse(stored.Labels.GetValueOrDefault("version"), System.Globalization.NumberStyles.None,
            System.Globalization.CultureInfo.InvariantCulture, out var v) ? v : 0;
        var status = stored.Labels.GetValueOrDefault("status") ?? "unknown";
        DecodedRelease? deployed = null;
        string? error = null;
        if (status == "deployed")
        {
            try
            {
                deployed = Compact(HelmReleaseCodec.Decode(stored.Release));
            }
            catch (InvalidDataException e)
            {
                error = $"the stored release {stored.Name} cannot be read: {e.Message}";
            }
        }
        return new StoredRevision(stored.Driver, stored.Namespace, release, stored.Name, revision, status,
            stored.Labels.GetValueOrDefault("modifiedAt"), deployed, error);
    }

    internal static DecodedRelease Compact(JsonObject release)
    {
        var chart = release["chart"] as JsonObject ?? throw new InvalidDataException("the release has no chart");
        var metadata = chart["metadata"] as JsonObject ?? throw new InvalidDataException("the chart has no metadata");
        var dependencies = Subcharts(chart, metadata, release["manifest"] is JsonValue manifest ? manifest.ToString() : "");
        return new DecodedRelease(
            Text(metadata, "name") ?? "", Text(metadata, "version") ?? "", Text(metadata, "appVersion"), dependencies,
            HelmValues.Coalesce(chart["values"] as JsonObject, release["config"] as JsonObject));
    }

    /// <summary>
    /// The chart's subcharts by every route Helm has: declared in <c>Chart.yaml</c>, locked in <c>Chart.lock</c>, or only
    /// present in its <c>charts/</c> folder (as <c>helm create parent/charts/child</c> leaves it) — which the stored
    /// manifest shows by template path (<c># Source: parent/charts/child/…</c>). Helm stores none of them with the release.
    /// </summary>
    internal static IReadOnlyList<string> Subcharts(JsonObject chart, JsonObject metadata, string manifest)
    {
        static IEnumerable<string> Names(JsonNode? list) => (list as JsonArray ?? [])
            .Select(d => (d as JsonObject)?["name"] is JsonValue name ? name.ToString() : null).Where(n => !string.IsNullOrEmpty(n)).Select(n => n!);
        var rendered = RenderedSubchart().Matches(manifest).Select(m => m.Groups["child"].Value);
        return Names(metadata["dependencies"]).Concat(Names((chart["lock"] as JsonObject)?["dependencies"])).Concat(rendered)
            .Distinct(StringComparer.Ordinal).ToList();
    }

    [System.Text.RegularExpressions.GeneratedRegex(@"^# Source: [^/\r\n]+/charts/(?<child>[^/\r\n]+)/", System.Text.RegularExpressions.RegexOptions.Multiline | System.Text.RegularExpressions.RegexOptions.CultureInvariant)]
    private static partial System.Text.RegularExpressions.Regex RenderedSubchart();

    internal static string? Text(JsonObject node, string key) => node[key] is JsonValue value ? value.ToString() : null;
}

/// <summary>Helm's release payload: base64 of the gzipped release JSON (older releases were not gzipped).</summary>
public static class HelmReleaseCodec
{
    /// <summary>A stored release is limited by the API server to about 1 MiB; more than 64 MiB unpacked is refused.</summary>
    private const long MaxJson = 64L * 1024 * 1024;

    public static JsonObject Decode(string? payload)
    {
        if (string.IsNullOrEmpty(payload))
        {
            throw new InvalidDataException("it has no release data");
        }
        byte[] bytes;
        try
        {
            bytes = Convert.FromBase64String(payload);
        }
        catch (FormatException)
        {
            throw new InvalidDataException("its release data is not base64");
        }
        using var raw = new MemoryStream(bytes);
        using Stream json = bytes is [0x1f, 0x8b, ..] ? new GZipStream(raw, CompressionMode.Decompress) : raw;
        using var bounded = new MemoryStream();
        var buffer = new byte[81920];
        int read;
        try
        {
            while ((read = json.Read(buffer)) > 0)
            {
                bounded.Write(buffer, 0, read);
                if (bounded.Length > MaxJson)
                {
                    throw new InvalidDataException($"its release data unpacks to more than {MaxJson / 1024 / 1024} MiB");
                }
            }
            return JsonNode.Parse(bounded.ToArray()) as JsonObject ?? throw new InvalidDataException("its release data is not a JSON object");
        }
        catch (JsonException e)
        {
            throw new InvalidDataException($"its release data is not JSON ({e.Message})");
        }
    }
}
