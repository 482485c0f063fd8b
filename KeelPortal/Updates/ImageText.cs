namespace KeelPortal.Updates;

/// <summary>Rewrites an image string as its manifest wrote it, changing only the tag (and pinning a digest).</summary>
public static class ImageText
{
    /// <summary><c>nginx:1.25</c> + 1.26 → <c>nginx:1.26</c>; with a digest → <c>nginx:1.26@sha256:…</c>.</summary>
    public static string WithTag(string image, string tag, string? digest = null)
    {
        var name = image;
        var at = name.IndexOf('@', StringComparison.Ordinal);
        if (at >= 0)
        {
            name = name[..at];
        }
        var colon = name.LastIndexOf(':');
        if (colon > name.LastIndexOf('/'))
        {
            name = name[..colon];
        }
        return digest is null ? $"{name}:{tag}" : $"{name}:{tag}@{digest}";
    }
}
