namespace KeelPortal.Registries;

/// <summary>A user name and password (or token) for one registry, and where it came from. Never printed with its secret.</summary>
public sealed record RegistryCredential(string Username, string Password, string Source)
{
    public override string ToString() => $"{Username} (from {Source})";

    /// <summary>Registry host keys in pull secrets may be URLs (<c>https://index.docker.io/v1/</c>); this is the host images name.</summary>
    public static string NormaliseHost(string key)
    {
        var host = key.Trim();
        var scheme = host.IndexOf("://", StringComparison.Ordinal);
        if (scheme >= 0)
        {
            host = host[(scheme + 3)..];
        }
        var slash = host.IndexOf('/', StringComparison.Ordinal);
        if (slash >= 0)
        {
            host = host[..slash];
        }
        return ImageReference.CanonicalHost(host);
    }
}
