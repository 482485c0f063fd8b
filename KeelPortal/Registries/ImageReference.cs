using System.Diagnostics.CodeAnalysis;

namespace KeelPortal.Registries;

/// <summary>
/// A container image reference normalised the way container runtimes do: <c>nginx</c> is
/// <c>docker.io/library/nginx:latest</c>, served by the API host <c>registry-1.docker.io</c>.
/// </summary>
public sealed record ImageReference(string Registry, string Repository, string? Tag, string? Digest)
{
    public const string DockerHub = "docker.io";

    /// <summary>The distribution reference grammar's limit on a whole name (host and path).</summary>
    public const int MaxNameLength = 255;
    public const string DockerHubApiHost = "registry-1.docker.io";

    /// <summary>The host to send Distribution API calls to.</summary>
    public string ApiHost => ApiHostOf(Registry);

    /// <summary>The host that serves a registry's API: Docker Hub's images are named <c>docker.io</c> but served by <c>registry-1.docker.io</c>.</summary>
    public static string ApiHostOf(string registry) => registry == DockerHub ? DockerHubApiHost : registry;

    /// <summary>Registry and repository, e.g. <c>docker.io/library/nginx</c>: what a poll job and a webhook event match on.</summary>
    public string Name => $"{Registry}/{Repository}";

    /// <summary>The tag, or <c>latest</c> when the reference names neither a tag nor a digest.</summary>
    public string TagOrLatest => Tag ?? (Digest is null ? "latest" : "");

    public override string ToString() =>
        Name + (Tag is null ? "" : ":" + Tag) + (Digest is null ? "" : "@" + Digest);

    public ImageReference WithTag(string tag, string? digest = null) => this with { Tag = tag, Digest = digest };

    public static ImageReference Parse(string text) =>
        TryParse(text, out var reference, out var error) ? reference : throw new FormatException(error);

    /// <summary>Why the name (registry and repository path) is refused; null when fine. Docker Hub's short names gain <c>library/</c>.</summary>
    private static string? NameProblem(string name, string registry, ref string path)
    {
        if (!IsHost(registry))
        {
            return $"'{registry}' is not a registry host (host name or IP address, optionally with :port)";
        }
        if (name.Length > MaxNameLength)
        {
            return $"the name is {name.Length} characters long; the limit is {MaxNameLength}";
        }
        if (registry == DockerHub && !path.Contains('/', StringComparison.Ordinal))
        {
            path = "library/" + path;
        }
        return path.Any(char.IsAsciiLetterUpper) ? $"repository '{path}' has upper-case letters; repository names must be lower case"
            : !IsRepositoryPath(path) ? $"'{path}' is not a valid repository name"
            : null;
    }

    public static bool TryParse(string? text, [NotNullWhen(true)] out ImageReference? reference, [NotNullWhen(false)] out string? error)
    {
        reference = null;
        var input = (text ?? "").Trim();
        if (input.Length == 0)
        {
            error = "the image reference is empty";
            return false;
        }
        string? digest = null;
        var at = input.IndexOf('@', StringComparison.Ordinal);
        if (at >= 0)
        {
            digest = input[(at + 1)..];
            input = input[..at];
            if (!IsDigest(digest))
            {
                error = $"'{digest}' is not a digest (algorithm:hex, e.g. sha256:…)";
                return false;
            }
        }
        string? tag = null;
        var lastSlash = input.LastIndexOf('/');
        var colon = input.IndexOf(':', lastSlash + 1);
        if (colon >= 0)
        {
            tag = input[(colon + 1)..];
            input = input[..colon];
            if (!IsTag(tag))
            {
                error = $"'{tag}' is not a valid tag (up to 128 letters, digits, '_', '.' or '-', not starting with '.' or '-')";
                return false;
            }
        }
        var (registry, path) = SplitRegistry(input);
        error = NameProblem(input, registry, ref path);
        if (error is not null)
        {
            return false;
        }
        reference = new ImageReference(registry, path, tag, digest);
        error = null;
        return true;
    }

    /// <summary>A registry host in lower case, with Docker Hub's other names folded into <c>docker.io</c>.</summary>
    public static string CanonicalHost(string host)
    {
        var lower = host.ToLowerInvariant();
        return lower is "index.docker.io" or "registry-1.docker.io" or "registry.hub.docker.com" ? DockerHub : lower;
    }

    /// <summary>The first component is a registry host only when it has a '.', a ':' or is <c>localhost</c>.</summary>
    private static (string Registry, string Path) SplitRegistry(string input)
    {
        var slash = input.IndexOf('/', StringComparison.Ordinal);
        if (slash > 0)
        {
            var first = input[..slash];
            if (first.Contains('.', StringComparison.Ordinal) || first.Contains(':', StringComparison.Ordinal) || first == "localhost")
            {
                return (CanonicalHost(first), input[(slash + 1)..]);
            }
        }
        return (DockerHub, input);
    }

    /// <summary>
    /// Path components as the reference grammar has them: lower-case letters and digits, separated by one '.', one
    /// '_', two '_' or any number of '-'.
    /// </summary>
    private static bool IsRepositoryPath(string path) =>
        path.Length > 0 && path.Split('/').All(IsPathComponent);

    private static bool IsPathComponent(string component)
    {
        if (component.Length == 0 || !IsLowerAlnum(component[0]) || !IsLowerAlnum(component[^1]))
        {
            return false;
        }
        for (var i = 1; i < component.Length; i++)
        {
            var c = component[i];
            if (IsLowerAlnum(c))
            {
                continue;
            }
            var prev = component[i - 1];
            var ok = c switch
            {
                '-' => IsLowerAlnum(prev) || prev == '-',
                '.' => IsLowerAlnum(prev),
                '_' => IsLowerAlnum(prev) || (prev == '_' && i >= 2 && IsLowerAlnum(component[i - 2])),
                _ => false,
            };
            if (!ok)
            {
                return false;
            }
        }
        return true;
    }

    private static bool IsLowerAlnum(char c) => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c);

    /// <summary>A registry host: DNS labels separated by dots (or a bracketed IPv6 address), optionally with a port.</summary>
    public static bool IsHost(string host)
    {
        var name = host;
        var colon = host.StartsWith('[') ? host.IndexOf("]:", StringComparison.Ordinal) + 1 : host.LastIndexOf(':');
        if (colon > 0)
        {
            var port = host[(colon + 1)..];
            if (port.Length is 0 or > 5 || !port.All(char.IsAsciiDigit) || int.Parse(port, System.Globalization.CultureInfo.InvariantCulture) is 0 or > 65535)
            {
                return false;
            }
            name = host[..colon];
        }
        if (name.StartsWith('[') && name.EndsWith(']'))
        {
            return System.Net.IPAddress.TryParse(name[1..^1], out var v6) && v6.AddressFamily == System.Net.Sockets.AddressFamily.InterNetworkV6;
        }
        return name.Length is > 0 and <= 253 && name.Split('.').All(label =>
            label.Length is > 0 and <= 63 && char.IsAsciiLetterOrDigit(label[0]) && char.IsAsciiLetterOrDigit(label[^1])
            && label.All(c => char.IsAsciiLetterOrDigit(c) || c == '-'));
    }

    /// <summary>A tag as the grammar has it: <c>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}</c>.</summary>
    public static bool IsTag(string tag) =>
        tag.Length is > 0 and <= 128 && (char.IsAsciiLetterOrDigit(tag[0]) || tag[0] == '_') &&
        tag.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '-');

    /// <summary><c>sha256:ab12cd34ef56…</c>: enough of a digest to tell two apart in the console.</summary>
    public static string Abbreviated(string digest) => digest.Length > 19 ? digest[..19] + "…" : digest;

    /// <summary>
    /// A digest: <c>algorithm:hex</c>, the algorithm in the grammar's form; sha256 needs 64 lower-case hex digits,
    /// sha512 128, others at least 32.
    /// </summary>
    public static bool IsDigest(string digest)
    {
        var colon = digest.IndexOf(':', StringComparison.Ordinal);
        if (colon <= 0)
        {
            return false;
        }
        var algorithm = digest[..colon];
        var hex = digest[(colon + 1)..];
        var algorithmOk = algorithm.Split('+', '.', '_', '-').All(part => part.Length > 0 && part.All(IsLowerAlnum));
        var length = algorithm switch { "sha256" => hex.Length == 64, "sha512" => hex.Length == 128, _ => hex.Length is >= 32 and <= 1024 };
        return algorithmOk && length && hex.All(char.IsAsciiHexDigitLower);
    }
}
