using System.Globalization;
using System.Text.Json;
using KeelPortal.Policies;

namespace KeelPortal.Registries;

/// <summary>A manifest as far as KeelPortal reads it: an index's entries, or a single image's config digest.</summary>
internal sealed record Manifest(string Digest, IReadOnlyList<IndexEntry>? Index, string? ConfigDigest)
{
    public static Manifest? Parse(byte[] body, string digest, string? contentType)
    {
        try
        {
            using var json = JsonDocument.Parse(body);
            var root = json.RootElement;
            var mediaType = root.TryGetProperty("mediaType", out var mt) ? mt.GetString() : contentType;
            if (root.TryGetProperty("manifests", out var manifests) && manifests.ValueKind == JsonValueKind.Array
                || mediaType is "application/vnd.oci.image.index.v1+json" or "application/vnd.docker.distribution.manifest.list.v2+json")
            {
                var entries = manifests.ValueKind == JsonValueKind.Array
                    ? manifests.EnumerateArray().Select(IndexEntry.Read).OfType<IndexEntry>().ToList()
                    : [];
                return new Manifest(digest, entries, null);
            }
            var config = root.TryGetProperty("config", out var c) && c.TryGetProperty("digest", out var cd) ? cd.GetString() : null;
            return new Manifest(digest, null, config);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}

/// <summary>One entry of an image index. Attestations (<c>unknown/unknown</c>) have no platform.</summary>
internal sealed record IndexEntry(string Digest, Platform? Platform)
{
    public static IndexEntry? Read(JsonElement entry)
    {
        if (!entry.TryGetProperty("digest", out var d) || d.GetString() is not { } digest)
        {
            return null;
        }
        Platform? platform = null;
        if (entry.TryGetProperty("platform", out var p) &&
            p.TryGetProperty("os", out var os) && p.TryGetProperty("architecture", out var arch) &&
            os.GetString() is { } osName && arch.GetString() is { } archName && osName != "unknown")
        {
            platform = new Platform(osName, archName, p.TryGetProperty("variant", out var v) ? v.GetString() ?? "" : "");
        }
        return new IndexEntry(digest, platform);
    }
}

/// <summary>What KeelPortal reads from an image config blob.</summary>
internal sealed record ImageConfig(Platform? Platform, DateTimeOffset? Created, IReadOnlyDictionary<string, string> Labels)
{
    public static ImageConfig? Parse(byte[] body)
    {
        try
        {
            using var json = JsonDocument.Parse(body);
            var root = json.RootElement;
            Platform? platform = root.TryGetProperty("os", out var os) && root.TryGetProperty("architecture", out var arch)
                ? new Platform(os.GetString() ?? "", arch.GetString() ?? "", root.TryGetProperty("variant", out var v) ? v.GetString() ?? "" : "")
                : null;
            DateTimeOffset? created = root.TryGetProperty("created", out var c) &&
                DateTimeOffset.TryParse(c.GetString(), CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var when) ? when : null;
            var labels = new Dictionary<string, string>(StringComparer.Ordinal);
            if (root.TryGetProperty("config", out var config) && config.TryGetProperty(nameof(Labels), out var l) && l.ValueKind == JsonValueKind.Object)
            {
                foreach (var label in l.EnumerateObject())
                {
                    labels[label.Name] = label.Value.GetString() ?? "";
                }
            }
            return new ImageConfig(platform, created, labels);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
