using System.Collections.Concurrent;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using KeelPortal.Sandbox.Cluster;

namespace KeelPortal.Sandbox;

/// <summary>
/// A small OCI registry on a loopback port, speaking the Distribution API the portal's registry client speaks
/// (<c>/v2/</c>, paged <c>tags/list</c>, manifests by tag or digest with <c>Accept</c> negotiation and
/// <c>Docker-Content-Digest</c>, config blobs), holding single-platform images and multi-arch indexes. A push is
/// announced as Distribution announces it (an <c>events</c> envelope) to the notification endpoint, when one is set.
/// </summary>
public sealed partial class SandboxRegistry : IAsyncDisposable
{
    private const string OciIndex = "application/vnd.oci.image.index.v1+json";
    private const string OciManifest = "application/vnd.oci.image.manifest.v1+json";
    private const string OciConfig = "application/vnd.oci.image.config.v1+json";
    private const string OciLayer = "application/vnd.oci.image.layer.v1.tar+gzip";

    private readonly WebApplication app;
    private readonly ConcurrentDictionary<string, ConcurrentDictionary<string, string>> tags = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ConcurrentQueue<string>> pushOrder = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, (byte[] Body, string MediaType)> manifests = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, byte[]> blobs = new(StringComparer.Ordinal);
    private readonly HttpClient notifier = new() { Timeout = TimeSpan.FromSeconds(10) };
    private readonly TimeProvider time;
    private readonly ILogger logger;

    private SandboxRegistry(TimeProvider time, ILogger logger)
    {
        this.time = time;
        this.logger = logger;
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        app = builder.Build();
        app.MapGet("/v2/", (HttpContext c) =>
        {
            c.Response.Headers["Docker-Distribution-API-Version"] = "registry/2.0";
            return Results.Json(new JsonObject());
        });
        app.MapMethods("/v2/{**path}", ["GET", "HEAD"], Serve);
    }

    /// <summary><c>127.0.0.1:port</c>: the registry host images name.</summary>
    public string Host { get; private set; } = "";

    /// <summary>Where pushes are announced (the portal's <c>/v1/webhooks/registry</c>) and the bearer secret it takes.</summary>
    public (Uri Url, string Secret)? Notify { get; set; }

    public static async Task<SandboxRegistry> StartAsync(TimeProvider time, ILogger logger)
    {
        var registry = new SandboxRegistry(time, logger);
        await registry.app.StartAsync();
        registry.Host = new Uri(KubeApiServer.ListeningAddress(registry.app)).Authority;
        return registry;
    }

    /// <summary>The tags of <paramref name="repository"/>, in push order.</summary>
    public IReadOnlyList<string> Tags(string repository) => pushOrder.TryGetValue(repository, out var order) ? [.. order.Distinct()] : [];

    /// <summary>The digest <paramref name="repository"/>:<paramref name="tag"/> points to now, or null.</summary>
    public string? DigestOf(string repository, string tag) =>
        tags.TryGetValue(repository, out var known) && known.TryGetValue(tag, out var digest) ? digest : null;

    /// <summary>
    /// Pushes <paramref name="repository"/>:<paramref name="tag"/>: one linux/amd64 image, or with <paramref name="multiArch"/>
    /// an index of amd64 and arm64 images; announces it when <paramref name="announce"/>. The top digest is returned.
    /// </summary>
    public async Task<string> PushAsync(string repository, string tag, bool multiArch = false, bool announce = true, CancellationToken ct = default)
    {
        var created = time.GetUtcNow().UtcDateTime;
        var (top, size, mediaType) = multiArch
            ? Index([Image(repository, tag, "amd64", created), Image(repository, tag, "arm64", created)])
            : Image(repository, tag, "amd64", created);
        tags.GetOrAdd(repository, _ => new(StringComparer.Ordinal))[tag] = top;
        pushOrder.GetOrAdd(repository, _ => new()).Enqueue(tag);
        if (announce && Notify is { } notify)
        {
            await AnnounceAsync(notify.Url, notify.Secret, repository, tag, top, size, mediaType, ct);
        }
        return top;
    }

    private (string Digest, int Size, string MediaType) Image(string repository, string tag, string arch, DateTime created)
    {
        var config = Encoding.UTF8.GetBytes(new JsonObject
        {
            ["architecture"] = arch, ["os"] = "linux", ["created"] = created.ToString("o", CultureInfo.InvariantCulture),
            ["config"] = new JsonObject { ["Labels"] = new JsonObject { ["org.opencontainers.image.version"] = tag, ["org.opencontainers.image.title"] = repository } },
            ["rootfs"] = new JsonObject { ["type"] = "layers", ["diff_ids"] = new JsonArray() },
        }.ToJsonString());
        var layer = Encoding.UTF8.GetBytes($"{repository}:{tag} {arch}");
        var manifest = new JsonObject
        {
            ["schemaVersion"] = 2, ["mediaType"] = OciManifest,
            ["config"] = Descriptor(OciConfig, Store(config), config.Length),
            ["layers"] = new JsonArray(Descriptor(OciLayer, Store(layer), layer.Length)),
        };
        return Keep(manifest, OciManifest);
    }

    private (string Digest, int Size, string MediaType) Index(IEnumerable<(string Digest, int Size, string MediaType)> images)
    {
        var entries = new JsonArray();
        var arch = new[] { "amd64", "arm64" };
        var i = 0;
        foreach (var (digest, size, mediaType) in images)
        {
            var entry = Descriptor(mediaType, digest, size);
            entry["platform"] = new JsonObject { ["architecture"] = arch[i++], ["os"] = "linux" };
            entries.Add(entry);
        }
        return Keep(new JsonObject { ["schemaVersion"] = 2, ["mediaType"] = OciIndex, ["manifests"] = entries }, OciIndex);
    }

    private (string Digest, int Size, string MediaType) Keep(JsonObject manifest, string mediaType)
    {
        var body = Encoding.UTF8.GetBytes(manifest.ToJsonString());
        var digest = DigestOf(body);
        manifests[digest] = (body, mediaType);
        return (digest, body.Length, mediaType);
    }

    private string Store(byte[] blob)
    {
        var digest = DigestOf(blob);
        blobs[digest] = blob;
        return digest;
    }

    private static string DigestOf(byte[] body) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(body));

    private static JsonObject Descriptor(string mediaType, string digest, int size) => new() { ["mediaType"] = mediaType, ["digest"] = digest, ["size"] = size };

    private async Task AnnounceAsync(Uri url, string secret, string repository, string tag, string digest, int size, string mediaType, CancellationToken ct)
    {
        var envelope = new JsonObject
        {
            ["events"] = new JsonArray(new JsonObject
            {
                ["id"] = Guid.NewGuid().ToString(), ["timestamp"] = time.GetUtcNow().ToString("o", CultureInfo.InvariantCulture), ["action"] = "push",
                ["target"] = new JsonObject
                {
                    ["mediaType"] = mediaType, ["size"] = size, ["digest"] = digest, ["length"] = size, ["repository"] = repository, ["tag"] = tag,
                    ["url"] = $"http://{Host}/v2/{repository}/manifests/{digest}",
                },
                ["request"] = new JsonObject { ["id"] = Guid.NewGuid().ToString(), ["addr"] = "127.0.0.1", ["host"] = Host, ["method"] = "PUT", ["useragent"] = "keelportal-sandbox" },
                ["actor"] = new JsonObject(), ["source"] = new JsonObject { ["addr"] = Host, ["instanceID"] = "sandbox" },
            }),
        };
        using var request = new HttpRequestMessage(HttpMethod.Post, url)
        {
            Content = new StringContent(envelope.ToJsonString(), Encoding.UTF8, "application/vnd.docker.distribution.events.v1+json"),
        };
        request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", secret);
        try
        {
            using var response = await notifier.SendAsync(request, ct);
            if (!response.IsSuccessStatusCode)
            {
                LogNotAnnounced(repository, tag, $"the portal answered {(int)response.StatusCode}");
            }
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            LogNotAnnounced(repository, tag, e.Message);
        }
    }

    private IResult Serve(HttpContext context, string path)
    {
        if (path.EndsWith("/tags/list", StringComparison.Ordinal))
        {
            return TagList(context, path[..^"/tags/list".Length]);
        }
        var at = path.LastIndexOf("/manifests/", StringComparison.Ordinal);
        if (at > 0)
        {
            return Manifest(context, path[..at], path[(at + "/manifests/".Length)..]);
        }
        at = path.LastIndexOf("/blobs/", StringComparison.Ordinal);
        return at > 0 && blobs.TryGetValue(path[(at + "/blobs/".Length)..], out var blob)
            ? Results.Bytes(blob, "application/octet-stream")
            : Error(404, "BLOB_UNKNOWN", "blob unknown to registry");
    }

    private IResult TagList(HttpContext context, string repository)
    {
        if (!tags.TryGetValue(repository, out var known))
        {
            return Error(404, "NAME_UNKNOWN", "repository name not known to registry");
        }
        var all = known.Keys.Order(StringComparer.Ordinal).ToList();
        var last = context.Request.Query["last"].ToString();
        var n = int.TryParse(context.Request.Query["n"], out var size) && size > 0 ? size : 100;
        var page = all.Where(t => last.Length == 0 || string.CompareOrdinal(t, last) > 0).Take(n).ToList();
        if (page.Count == n && all.IndexOf(page[^1]) < all.Count - 1)
        {
            context.Response.Headers.Link = $"</v2/{repository}/tags/list?n={n}&last={Uri.EscapeDataString(page[^1])}>; rel=\"next\"";
        }
        return Results.Json(new JsonObject { ["name"] = repository, ["tags"] = new JsonArray([.. page.Select(t => (JsonNode)t)]) });
    }

    private IResult Manifest(HttpContext context, string repository, string reference)
    {
        var digest = reference.StartsWith("sha256:", StringComparison.Ordinal) ? reference
            : tags.TryGetValue(repository, out var known) && known.TryGetValue(reference, out var tagged) ? tagged : null;
        if (digest is null || !manifests.TryGetValue(digest, out var manifest))
        {
            return Error(404, "MANIFEST_UNKNOWN", "manifest unknown");
        }
        // As Distribution: an OCI manifest only to a client that accepts it.
        if (context.Request.Headers.Accept.ToString() is { Length: > 0 } accept && !accept.Contains(manifest.MediaType, StringComparison.Ordinal) && !accept.Contains("*/*", StringComparison.Ordinal))
        {
            return Error(404, "MANIFEST_UNKNOWN", $"manifest unknown: not in a format the client accepts ({manifest.MediaType})");
        }
        context.Response.Headers["Docker-Content-Digest"] = digest;
        return HttpMethods.IsHead(context.Request.Method)
            ? Results.Empty.WithHeaders(context, manifest.MediaType, manifest.Body.Length)
            : Results.Bytes(manifest.Body, manifest.MediaType);
    }

    private static IResult Error(int status, string code, string message) =>
        Results.Json(new JsonObject { ["errors"] = new JsonArray(new JsonObject { ["code"] = code, ["message"] = message }) }, statusCode: status);

    public async ValueTask DisposeAsync()
    {
        await app.DisposeAsync();
        notifier.Dispose();
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "The sandbox registry could not announce {Repository}:{Tag}: {Why}")]
    private partial void LogNotAnnounced(string repository, string tag, string why);
}

internal static class SandboxResults
{
    /// <summary>An empty answer to HEAD with the headers GET would send.</summary>
    public static IResult WithHeaders(this IResult empty, HttpContext context, string mediaType, int length)
    {
        context.Response.ContentType = mediaType;
        context.Response.ContentLength = length;
        return empty;
    }
}
