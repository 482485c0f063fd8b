using KeelPortal.Policies;

namespace KeelPortal.Registries;

/// <summary>What a tag's image says about itself: when it was built and its OCI labels.</summary>
public sealed record ImageInfo(string Digest, DateTimeOffset? Created, IReadOnlyDictionary<string, string> Labels)
{
    public string? Source => Labels.GetValueOrDefault("org.opencontainers.image.source");
    public string? Revision => Labels.GetValueOrDefault("org.opencontainers.image.revision");
    public string? Version => Labels.GetValueOrDefault("org.opencontainers.image.version");
}

/// <summary>The OCI Distribution API as KeelPortal uses it. The only code that talks to registries.</summary>
public interface IRegistryClient
{
    /// <summary>Every tag of the repository, following <c>Link: rel="next"</c> pages.</summary>
    Task<RegistryResult<IReadOnlyList<string>>> ListTagsAsync(ImageReference repository, RegistryCredential? credential = null, CancellationToken ct = default);

    /// <summary>The digest a tag (or digest) points to, by HEAD; GET and hash only when no digest header comes back.</summary>
    Task<RegistryResult<string>> GetDigestAsync(ImageReference image, RegistryCredential? credential = null, CancellationToken ct = default);

    /// <summary>The platforms the image supports: an index's entries, or a single manifest's config os/arch/variant.</summary>
    Task<RegistryResult<IReadOnlyList<Platform>>> GetPlatformsAsync(ImageReference image, RegistryCredential? credential = null, CancellationToken ct = default);

    /// <summary>Creation time and labels from the image config (of the first platform for an index).</summary>
    Task<RegistryResult<ImageInfo>> GetImageInfoAsync(ImageReference image, RegistryCredential? credential = null, CancellationToken ct = default);
}
