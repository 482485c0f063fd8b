using System.Net;
using System.Security.Cryptography;
using System.Text.Json;
using KeelPortal.Policies;

namespace KeelPortal.Registries;

public sealed partial class RegistryClient
{
    /// <summary>Every manifest kind a tag may point to; Distribution answers 404 for OCI types it was not asked for.</summary>
    internal const string ManifestTypes =
        "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, " +
        "application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json";

    private const int MaxPages = 1000;

    public async Task<RegistryResult<IReadOnlyList<string>>> ListTagsAsync(ImageReference repository, RegistryCredential? credential = null, CancellationToken ct = default)
    {
        var tags = new List<string>();
        var seen = new HashSet<string>(StringComparer.Ordinal);
        string? path = $"v2/{repository.Repository}/tags/list";
        for (var page = 0; path is not null && page < MaxPages && seen.Add(path); page++)
        {
            var sent = await SendAsync(repository, HttpMethod.Get, path, "application/json", credential, ct).ConfigureAwait(false);
            if (sent.Failure is { } failure)
            {
                return failure;
            }
            using var response = sent.Value!;
            if (!response.IsSuccessStatusCode)
            {
                return Failure(response, repository, "tags", credential);
            }
            using var json = JsonDocument.Parse(await response.Content.ReadAsStreamAsync(ct).ConfigureAwait(false));
            if (json.RootElement.TryGetProperty("tags", out var list) && list.ValueKind == JsonValueKind.Array)
            {
                tags.AddRange(list.EnumerateArray().Select(t => t.GetString()).OfType<string>());
            }
            path = NextPage(response);
        }
        return RegistryResult.Ok<IReadOnlyList<string>>(tags);
    }

    public async Task<RegistryResult<string>> GetDigestAsync(ImageReference image, RegistryCredential? credential = null, CancellationToken ct = default)
    {
        var reference = image.Digest ?? image.TagOrLatest;
        var sent = await SendAsync(image, HttpMethod.Head, ManifestPath(image, reference), ManifestTypes, credential, ct).ConfigureAwait(false);
        if (sent.Failure is { } failure)
        {
            return failure;
        }
        using (var head = sent.Value!)
        {
            if (!head.IsSuccessStatusCode)
            {
                return Failure(head, image, reference, credential);
            }
            if (head.Headers.TryGetValues("Docker-Content-Digest", out var digests) && digests.FirstOrDefault() is { Length: > 0 } digest)
            {
                return RegistryResult.Ok(digest);
            }
        }
        // Some registries send no digest header on HEAD: fetch the manifest and hash exactly the bytes served.
        var manifest = await GetManifestAsync(image, reference, credential, ct).ConfigureAwait(false);
        return manifest.Map(m => m.Digest);
    }

    public async Task<RegistryResult<IReadOnlyList<Platform>>> GetPlatformsAsync(ImageReference image, RegistryCredential? credential = null, CancellationToken ct = default)
    {
        var manifest = await GetManifestAsync(image, image.Digest ?? image.TagOrLatest, credential, ct).ConfigureAwait(false);
        if (manifest.Failure is { } failure)
        {
            return failure;
        }
        var m = manifest.Value!;
        if (m.Index is { } index)
        {
            return RegistryResult.Ok<IReadOnlyList<Platform>>(index.Select(e => e.Platform).OfType<Platform>().Distinct().ToList());
        }
        var config = await GetConfigAsync(image, m, credential, ct).ConfigureAwait(false);
        return config.Map<IReadOnlyList<Platform>>(c => c.Platform is { } p ? [p] : []);
    }

    public async Task<RegistryResult<ImageInfo>> GetImageInfoAsync(ImageReference image, RegistryCredential? credential = null, CancellationToken ct = default)
    {
        var manifest = await GetManifestAsync(image, image.Digest ?? image.TagOrLatest, credential, ct).ConfigureAwait(false);
        if (manifest.Failure is { } failure)
        {
            return failure;
        }
        var top = manifest.Value!;
        var single = top;
        if (top.Index is { } index)
        {
            // An index has no config of its own: read the first real platform's image.
            var first = index.FirstOrDefault(e => e.Platform is not null) ?? (index.Count > 0 ? index[0] : null);
            if (first is null)
            {
                return RegistryResult.Ok(new ImageInfo(top.Digest, null, new Dictionary<string, string>()));
            }
            var child = await GetManifestAsync(image, first.Digest, credential, ct).ConfigureAwait(false);
            if (child.Failure is { } childFailure)
            {
                return childFailure;
            }
            single = child.Value!;
        }
        var config = await GetConfigAsync(image, single, credential, ct).ConfigureAwait(false);
        return config.Map(c => new ImageInfo(top.Digest, c.Created, c.Labels));
    }

    private async Task<RegistryResult<Manifest>> GetManifestAsync(ImageReference image, string reference, RegistryCredential? credential, CancellationToken ct)
    {
        var sent = await SendAsync(image, HttpMethod.Get, ManifestPath(image, reference), ManifestTypes, credential, ct).ConfigureAwait(false);
        if (sent.Failure is { } failure)
        {
            return failure;
        }
        using var response = sent.Value!;
        if (!response.IsSuccessStatusCode)
        {
            return Failure(response, image, reference, credential);
        }
        var body = await response.Content.ReadAsByteArrayAsync(ct).ConfigureAwait(false);
        var digest = response.Headers.TryGetValues("Docker-Content-Digest", out var d) && d.FirstOrDefault() is { Length: > 0 } header
            ? header : "sha256:" + Convert.ToHexStringLower(SHA256.HashData(body));
        return Manifest.Parse(body, digest, response.Content.Headers.ContentType?.MediaType) is { } manifest
            ? RegistryResult.Ok(manifest)
            : new RegistryFailure(RegistryFailureKind.InvalidResponse, $"{image.Registry} sent a manifest for {image.Repository}:{reference} that could not be read");
    }

    private async Task<RegistryResult<ImageConfig>> GetConfigAsync(ImageReference image, Manifest manifest, RegistryCredential? credential, CancellationToken ct)
    {
        if (manifest.ConfigDigest is not { } configDigest)
        {
            return new RegistryFailure(RegistryFailureKind.InvalidResponse, $"the manifest {manifest.Digest} of {image.Name} has no config");
        }
        var sent = await SendAsync(image, HttpMethod.Get, $"v2/{image.Repository}/blobs/{configDigest}", null, credential, ct).ConfigureAwait(false);
        if (sent.Failure is { } failure)
        {
            return failure;
        }
        using var response = sent.Value!;
        if (!response.IsSuccessStatusCode)
        {
            return Failure(response, image, configDigest, credential);
        }
        var config = ImageConfig.Parse(await response.Content.ReadAsByteArrayAsync(ct).ConfigureAwait(false));
        return config is null
            ? new RegistryFailure(RegistryFailureKind.InvalidResponse, $"the image config {configDigest} of {image.Name} could not be read")
            : RegistryResult.Ok(config);
    }

    private static string ManifestPath(ImageReference image, string reference) => $"v2/{image.Repository}/manifests/{reference}";

    /// <summary>The next page from <c>Link: &lt;…&gt;; rel="next"</c>, relative to the registry's API root.</summary>
    internal static string? NextPage(HttpResponseMessage response)
    {
        if (!response.Headers.TryGetValues("Link", out var links))
        {
            return null;
        }
        foreach (var link in links.SelectMany(l => l.Split(',')))
        {
            var open = link.IndexOf('<', StringComparison.Ordinal);
            var close = link.IndexOf('>', StringComparison.Ordinal);
            if (open < 0 || close < open || !link[close..].Contains("rel=\"next\"", StringComparison.OrdinalIgnoreCase))
            {
                continue;
            }
            var target = new Uri(response.RequestMessage!.RequestUri!, link[(open + 1)..close]);
            return target.PathAndQuery.TrimStart('/');
        }
        return null;
    }

    private RegistryFailure Failure(HttpResponseMessage response, ImageReference image, string what, RegistryCredential? credential)
    {
        var host = image.Registry;
        var code = (int)response.StatusCode;
        return response.StatusCode switch
        {
            HttpStatusCode.Unauthorized => new(RegistryFailureKind.AuthenticationFailed, credential is null
                ? $"{host} requires credentials for {image.Repository}, and none were found"
                : $"authentication failed for user {credential.Username} at {host} ({credential.Source})"),
            HttpStatusCode.Forbidden => new(RegistryFailureKind.AuthenticationFailed,
                $"{(credential is null ? "anonymous access" : "user " + credential.Username)} may not read {image.Repository} at {host}"),
            HttpStatusCode.NotFound => new(RegistryFailureKind.NotFound, what == "tags"
                ? $"repository {image.Name} not found"
                : $"{image.Name}:{what} not found"),
            HttpStatusCode.TooManyRequests => RateLimited(response, host),
            _ when code >= 500 => new(RegistryFailureKind.ServerError, $"{host} answered {code} {response.ReasonPhrase}"),
            _ => new(RegistryFailureKind.InvalidResponse, $"{host} answered {code} {response.ReasonPhrase} for {image.Name}"),
        };
    }

    private RegistryFailure RateLimited(HttpResponseMessage response, string host)
    {
        var until = time.GetUtcNow() + RegistryEndpoint.RetryAfter(response, time);
        if (StatusOf(host) is { } status)
        {
            status.RateLimitedUntil = until;
        }
        return new(RegistryFailureKind.RateLimited, $"{host} is rate-limiting requests until {until:u}", until);
    }
}
