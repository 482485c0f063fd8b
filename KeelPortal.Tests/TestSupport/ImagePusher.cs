using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;

namespace KeelPortal.Tests.TestSupport;

public enum ManifestFormat { Docker, Oci }

/// <summary>An image to push: its platform and what its config says.</summary>
public sealed record TestImage(string Platform = "linux/amd64", DateTimeOffset? Created = null, IReadOnlyDictionary<string, string>? Labels = null);

/// <summary>Pushes images through the registry's own HTTP API (blob uploads, manifest PUTs), as a build tool does.</summary>
public sealed class ImagePusher(RegistryProcess registry) : IDisposable
{
    private const string DockerManifest = "application/vnd.docker.distribution.manifest.v2+json";
    private const string DockerList = "application/vnd.docker.distribution.manifest.list.v2+json";
    private const string OciManifest = "application/vnd.oci.image.manifest.v1+json";
    private const string OciIndex = "application/vnd.oci.image.index.v1+json";

    private readonly HttpClient http = new(registry.TrustingHandler()) { BaseAddress = registry.BaseUri };

    /// <summary>Pushes a single-platform image and tags it; returns the manifest digest.</summary>
    public async Task<string> PushAsync(string repository, string tag, TestImage? image = null, ManifestFormat format = ManifestFormat.Docker)
    {
        var (body, mediaType) = await SingleManifestAsync(repository, image ?? new TestImage(), format);
        return await PutManifestAsync(repository, tag, body, mediaType);
    }

    /// <summary>Pushes a single-platform image by its digest, with no tag (as a registry stores it before writing the tag); returns the digest.</summary>
    public async Task<string> PushUntaggedAsync(string repository)
    {
        var (body, mediaType) = await SingleManifestAsync(repository, new TestImage(), ManifestFormat.Docker);
        return await PutManifestAsync(repository, Digest(body), body, mediaType);
    }

    /// <summary>Pushes one image per platform and an index (OCI) or manifest list (Docker) over them.</summary>
    public async Task<string> PushIndexAsync(string repository, string tag, IEnumerable<TestImage> images, ManifestFormat format = ManifestFormat.Oci)
    {
        var entries = new List<object>();
        foreach (var image in images)
        {
            var (body, mediaType) = await SingleManifestAsync(repository, image, format);
            var digest = await PutManifestAsync(repository, Digest(body), body, mediaType);
            var parts = image.Platform.Split('/');
            entries.Add(new
            {
                mediaType,
                size = body.Length,
                digest,
                platform = parts.Length == 3
                    ? (object)new { architecture = parts[1], os = parts[0], variant = parts[2] }
                    : new { architecture = parts[1], os = parts[0] },
            });
        }
        var indexType = format == ManifestFormat.Oci ? OciIndex : DockerList;
        var index = JsonSerializer.SerializeToUtf8Bytes(new { schemaVersion = 2, mediaType = indexType, manifests = entries });
        return await PutManifestAsync(repository, tag, index, indexType);
    }

    /// <summary>Adds another tag to an existing manifest, the cheap way to make many tags.</summary>
    public async Task TagAsync(string repository, string existingTag, string newTag)
    {
        using var get = new HttpRequestMessage(HttpMethod.Get, $"v2/{repository}/manifests/{existingTag}");
        get.Headers.Accept.ParseAdd($"{DockerManifest}, {OciManifest}, {OciIndex}, {DockerList}");
        await AuthorizeAsync(get, repository);
        using var response = await http.SendAsync(get);
        response.EnsureSuccessStatusCode();
        await PutManifestAsync(repository, newTag, await response.Content.ReadAsByteArrayAsync(), response.Content.Headers.ContentType!.MediaType!);
    }

    public void Dispose() => http.Dispose();

    public static string Digest(byte[] body) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(body));

    private async Task<(byte[] Body, string MediaType)> SingleManifestAsync(string repository, TestImage image, ManifestFormat format)
    {
        var parts = image.Platform.Split('/');
        var layer = RandomNumberGenerator.GetBytes(64);
        var config = JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object?>
        {
            ["architecture"] = parts[1],
            ["os"] = parts[0],
            ["variant"] = parts.Length == 3 ? parts[2] : null,
            ["created"] = (image.Created ?? DateTimeOffset.UtcNow).ToString("O"),
            ["config"] = new { Labels = image.Labels ?? new Dictionary<string, string>() },
            ["rootfs"] = new { type = "layers", diff_ids = new[] { Digest(layer) } },
        });
        await PushBlobAsync(repository, layer);
        await PushBlobAsync(repository, config);
        var oci = format == ManifestFormat.Oci;
        var mediaType = oci ? OciManifest : DockerManifest;
        var manifest = JsonSerializer.SerializeToUtf8Bytes(new
        {
            schemaVersion = 2,
            mediaType,
            config = new { mediaType = oci ? "application/vnd.oci.image.config.v1+json" : "application/vnd.docker.container.image.v1+json", size = config.Length, digest = Digest(config) },
            layers = new[] { new { mediaType = oci ? "application/vnd.oci.image.layer.v1.tar+gzip" : "application/vnd.docker.image.rootfs.diff.tar.gzip", size = layer.Length, digest = Digest(layer) } },
        });
        return (manifest, mediaType);
    }

    private async Task PushBlobAsync(string repository, byte[] blob)
    {
        using var start = new HttpRequestMessage(HttpMethod.Post, $"v2/{repository}/blobs/uploads/");
        await AuthorizeAsync(start, repository);
        using var started = await http.SendAsync(start);
        started.EnsureSuccessStatusCode();
        var location = new Uri(registry.BaseUri, started.Headers.Location!);
        var separator = location.Query.Length > 0 ? "&" : "?";
        using var put = new HttpRequestMessage(HttpMethod.Put, new Uri(location + separator + "digest=" + Uri.EscapeDataString(Digest(blob))))
        {
            Content = new ByteArrayContent(blob),
        };
        put.Content.Headers.ContentType = new MediaTypeHeaderValue("application/octet-stream");
        await AuthorizeAsync(put, repository);
        using var done = await http.SendAsync(put);
        done.EnsureSuccessStatusCode();
    }

    private async Task<string> PutManifestAsync(string repository, string reference, byte[] body, string mediaType)
    {
        using var put = new HttpRequestMessage(HttpMethod.Put, $"v2/{repository}/manifests/{reference}") { Content = new ByteArrayContent(body) };
        put.Content.Headers.ContentType = new MediaTypeHeaderValue(mediaType);
        await AuthorizeAsync(put, repository);
        using var response = await http.SendAsync(put);
        if (!response.IsSuccessStatusCode)
        {
            throw new HttpRequestException($"manifest PUT {repository}:{reference} answered {(int)response.StatusCode}: {await response.Content.ReadAsStringAsync()}");
        }
        return response.Headers.GetValues("Docker-Content-Digest").First();
    }

    private Task AuthorizeAsync(HttpRequestMessage request, string repository)
    {
        request.Headers.Authorization = registry.Auth switch
        {
            RegistryAuth.Htpasswd => new AuthenticationHeaderValue("Basic",
                Convert.ToBase64String(Encoding.UTF8.GetBytes($"{RegistryProcess.User}:{RegistryProcess.Password}"))),
            RegistryAuth.Token => new AuthenticationHeaderValue("Bearer",
                registry.Tokens!.Issue(TokenServer.Service, [$"repository:{repository}:pull,push"], RegistryProcess.User, 300)),
            _ => null,
        };
        return Task.CompletedTask;
    }
}
