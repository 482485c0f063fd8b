using System.Text.Json;
using KeelPortal.Registries;

namespace KeelPortal.Triggers;

/// <summary>"Repository X has tag T (digest D)": what every trigger tells the update pipeline.</summary>
public sealed record ImageEvent(string Repository, string Tag, string? Digest = null);

/// <summary>The events a webhook body carries, or why it cannot be used; <paramref name="Note"/> says why an accepted body carried none.</summary>
public sealed record WebhookParseResult(IReadOnlyList<ImageEvent> Events, string? Error, string? Note = null)
{
    public static WebhookParseResult Invalid(string error) => new([], error);
}

/// <summary>
/// Reads the webhook bodies Keel accepts, per provider, into image events with normalised repository names
/// (spec §3). Pure: no I/O. A body that cannot be used gets a reason a person can act on.
/// </summary>
public static class WebhookPayloads
{
    public static readonly IReadOnlyList<string> Providers = ["native", "dockerhub", "quay", "azure", "github", "harbor", "jfrog", "registry"];

    public static WebhookParseResult Parse(string provider, string body, string? githubEvent = null, string? jfrogRegistry = null) =>
        Parse(provider, System.Text.Encoding.UTF8.GetBytes(body), githubEvent, jfrogRegistry);

    /// <summary>Reads the raw body: whatever its Content-Type says, it must be one JSON document of the provider's shape.</summary>
    /// <param name="provider">The endpoint's provider, one of <see cref="Providers"/>.</param>
    /// <param name="body">The body as it arrived.</param>
    /// <param name="githubEvent">GitHub's <c>X-GitHub-Event</c> header.</param>
    /// <param name="jfrogRegistry">
    /// The registry an Artifactory body's bare <c>data.image_name</c> lives in (Keel's <c>PRIVATE_REGISTRY</c>): prefixed
    /// to it, as Keel does when it is at least three characters, before the name is checked.
    /// </param>
    public static WebhookParseResult Parse(string provider, ReadOnlyMemory<byte> body, string? githubEvent = null, string? jfrogRegistry = null)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 32 });
        }
        catch (JsonException e)
        {
            return WebhookParseResult.Invalid($"the body is not JSON: {e.Message}");
        }
        using (document)
        {
            try
            {
                var root = document.RootElement;
                if (root.ValueKind != JsonValueKind.Object)
                {
                    return WebhookParseResult.Invalid("the body must be a JSON object");
                }
                var events = new List<ImageEvent>();
                string? note = null;
                var error = provider switch
                {
                    "native" => Native(root, events),
                    "dockerhub" => Add(events, new(Str(root, "repository", "repo_name"), "repository.repo_name"), new(Str(root, "push_data", "tag"), "push_data.tag"), default),
                    "quay" => Quay(root, events),
                    "azure" => Azure(root, events),
                    "github" => GitHub(root, githubEvent, events, out note),
                    "harbor" => Harbor(root, events),
                    "jfrog" => Add(events, new(JfrogName(Str(root, "data", "image_name"), jfrogRegistry), "data.image_name"), new(Str(root, "data", "tag"), "data.tag"), default),
                    "registry" => Registry(root, events),
                    _ => $"unknown webhook provider '{provider}'",
                };
                return error is not null ? WebhookParseResult.Invalid(error) : new WebhookParseResult(events, null, note);
            }
            catch (NotUtf8Exception e)
            {
                return WebhookParseResult.Invalid($"{e.Field}: the value is not valid UTF-8");
            }
        }
    }

    /// <summary>
    /// A Google Container Registry notification from Pub/Sub (<c>{"action":"INSERT","digest":"host/repo@sha256:…","tag":"host/repo:1.2.3"}</c>),
    /// read by the same grammar as the webhooks. Deletions and untagged pushes carry no event.
    /// </summary>
    public static WebhookParseResult PubSub(ReadOnlyMemory<byte> body)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body, new JsonDocumentOptions { MaxDepth = 8 });
        }
        catch (JsonException e)
        {
            return WebhookParseResult.Invalid($"the message is not JSON: {e.Message}");
        }
        using (document)
        {
            try
            {
                var root = document.RootElement;
                if (root.ValueKind != JsonValueKind.Object)
                {
                    return WebhookParseResult.Invalid("the message must be a JSON object");
                }
                if (Str(root, "action") != "INSERT" || Str(root, "tag") is not { Length: > 0 } tagged)
                {
                    return new WebhookParseResult([], null, "not a pushed tag");
                }
                var colon = tagged.LastIndexOf(':');
                if (colon <= tagged.LastIndexOf('/'))
                {
                    return WebhookParseResult.Invalid($"tag: '{Shown(tagged)}' names no tag (host/repository:tag)");
                }
                var digest = Str(root, "digest") is { } pinned && pinned.IndexOf('@', StringComparison.Ordinal) is > 0 and var at ? pinned[(at + 1)..] : null;
                var events = new List<ImageEvent>();
                return Add(events, new(tagged[..colon], "tag"), new(tagged[(colon + 1)..], "tag"), new(digest, "digest")) is { } error
                    ? WebhookParseResult.Invalid(error)
                    : new WebhookParseResult(events, null);
            }
            catch (NotUtf8Exception e)
            {
                return WebhookParseResult.Invalid($"{e.Field}: the value is not valid UTF-8");
            }
        }
    }

    /// <summary>A string field whose bytes are not UTF-8 (JSON's reader checks them only when the string is read).</summary>
    private sealed class NotUtf8Exception(string field) : Exception(field)
    {
        public string Field { get; } = field;
    }

    private static string? Text(JsonElement element, string field)
    {
        try
        {
            return element.GetString();
        }
        catch (InvalidOperationException)
        {
            throw new NotUtf8Exception(field);
        }
    }

    private static string? Native(JsonElement root, List<ImageEvent> events) =>
        Add(events, new(Str(root, "name"), "name"), new(Str(root, "tag"), "tag"), new(Str(root, "digest"), "digest"));

    private static string? Quay(JsonElement root, List<ImageEvent> events)
    {
        var url = Str(root, "docker_url");
        if (!root.TryGetProperty("updated_tags", out var tags) || tags.ValueKind != JsonValueKind.Array || tags.GetArrayLength() == 0)
        {
            return "the body has no updated_tags";
        }
        var i = 0;
        foreach (var tag in tags.EnumerateArray())
        {
            if (Add(events, new(url, "docker_url"), new(tag.ValueKind == JsonValueKind.String ? Text(tag, $"updated_tags[{i}]") : null, $"updated_tags[{i++}]"), default) is { } error)
            {
                return error;
            }
        }
        return null;
    }

    private static string? Azure(JsonElement root, List<ImageEvent> events)
    {
        var host = Str(root, "request", "host");
        var repository = Str(root, "target", "repository");
        if (host is null || !ImageReference.IsHost(host))
        {
            return $"request.host: '{host ?? "missing"}' is not a registry host";
        }
        return Add(events, new(repository is null ? null : $"{host}/{repository}", "target.repository"), new(Str(root, "target", "tag"), "target.tag"),
            new(Str(root, "target", "digest"), "target.digest"));
    }

    private static string? GitHub(JsonElement root, string? githubEvent, List<ImageEvent> events, out string? note)
    {
        note = null;
        switch (githubEvent)
        {
            case "package":
                var type = Str(root, "package", "package_type") ?? Str(root, "package", "ecosystem");
                if (!string.Equals(type, "CONTAINER", StringComparison.OrdinalIgnoreCase) && !string.Equals(type, "docker", StringComparison.OrdinalIgnoreCase))
                {
                    return $"the package is not a container package (package_type '{type ?? "missing"}')";
                }
                var ns = Str(root, "package", "namespace");
                var name = Str(root, "package", "name");
                var tag = Str(root, "package", "package_version", "container_metadata", "tag", "name");
                if (string.IsNullOrEmpty(tag))
                {
                    // A multi-platform push also publishes each platform's image, untagged: nothing to deploy.
                    note = "the package version carries no tag (an untagged platform image); nothing to do";
                    return null;
                }
                return Add(events, new(ns is null || name is null ? null : $"ghcr.io/{ns}/{name}".ToLowerInvariant(), "package.namespace and package.name"),
                    new(tag, "package.package_version.container_metadata.tag.name"),
                    new(Str(root, "package", "package_version", "container_metadata", "tag", "digest"), "package.package_version.container_metadata.tag.digest"));
            case "registry_package":
                var fullName = Str(root, "repository", "full_name");
                return Add(events, new(fullName is null ? null : $"ghcr.io/{fullName}".ToLowerInvariant(), "repository.full_name"),
                    new(Str(root, "registry_package", "package_version", "version"), "registry_package.package_version.version"), default);
            default:
                return $"the X-GitHub-Event header must be 'package' or 'registry_package', not '{githubEvent ?? "missing"}'";
        }
    }

    private static string? Harbor(JsonElement root, List<ImageEvent> events)
    {
        var type = Str(root, "type");
        if (type is not ("pushImage" or "PUSH_ARTIFACT"))
        {
            return $"only pushImage and PUSH_ARTIFACT events are used, not '{type ?? "missing"}'";
        }
        if (!root.TryGetProperty("event_data", out var data) || !data.TryGetProperty("resources", out var resources) || resources.ValueKind != JsonValueKind.Array)
        {
            return "the body has no event_data.resources";
        }
        var i = 0;
        foreach (var resource in resources.EnumerateArray())
        {
            var field = $"event_data.resources[{i++}]";
            var url = Str(resource, "resource_url");
            string? reason = null;
            if (url is null || !ImageReference.TryParse(url, out var image, out reason) || image.Tag is null)
            {
                return $"{field}.resource_url: '{Shown(url)}' is not an image reference with a tag{(reason is null ? "" : $" ({reason})")}";
            }
            var digest = Str(resource, "digest");
            if (!string.IsNullOrEmpty(digest) && !ImageReference.IsDigest(digest))
            {
                return $"{field}.digest: '{Shown(digest)}' is not a digest (algorithm:hex, such as sha256:<64 hex digits>)";
            }
            events.Add(new ImageEvent(image.Name, image.Tag, string.IsNullOrEmpty(digest) ? null : digest));
        }
        return events.Count == 0 ? "event_data.resources is empty" : null;
    }

    private static string? Registry(JsonElement root, List<ImageEvent> events)
    {
        if (!root.TryGetProperty("events", out var list) || list.ValueKind != JsonValueKind.Array)
        {
            return "the body has no events array (a Docker Distribution notification envelope)";
        }
        var i = 0;
        foreach (var item in list.EnumerateArray())
        {
            var field = $"events[{i++}]";
            // Pulls and blob pushes carry no tag: only manifest pushes with a tag are new tags.
            if (Str(item, "action") != "push" || Str(item, "target", "tag") is not { Length: > 0 } tag)
            {
                continue;
            }
            var host = Str(item, "request", "host");
            if (host is null || !ImageReference.IsHost(host))
            {
                return $"{field}.request.host: '{Shown(host ?? "missing")}' is not a registry host";
            }
            var repository = Str(item, "target", "repository");
            if (Add(events, new(repository is null ? null : $"{host}/{repository}", $"{field}.target.repository"), new(tag, $"{field}.target.tag"),
                new(Str(item, "target", "digest"), $"{field}.target.digest")) is { } error)
            {
                return error;
            }
        }
        return null;
    }

    /// <summary>A value read from the body and the field it came from, for a reason that names the field.</summary>
    private readonly record struct Field(string? Value, string Name);

    /// <summary>
    /// One event, every part checked against the distribution reference grammar: the name (with no tag or digest of
    /// its own), the tag and, when present, the digest. The reason names the field and quotes at most 80 characters.
    /// </summary>
    private static string? JfrogName(string? name, string? registry) =>
        string.IsNullOrWhiteSpace(name) || registry is not { Length: >= 3 } ? name : $"{registry.TrimEnd('/')}/{name}";

    private static string? Add(List<ImageEvent> events, Field name, Field tag, Field digest)
    {
        if (string.IsNullOrWhiteSpace(name.Value))
        {
            return $"{name.Name}: the body must name the image";
        }
        if (string.IsNullOrWhiteSpace(tag.Value))
        {
            return $"{tag.Name}: the body must name the tag";
        }
        if (!ImageReference.TryParse(name.Value, out var image, out var error) || image.Tag is not null || image.Digest is not null)
        {
            return $"{name.Name}: '{Shown(name.Value)}' is not an image name: {error ?? "it must not carry a tag or digest"}";
        }
        if (!ImageReference.IsTag(tag.Value))
        {
            return $"{tag.Name}: '{Shown(tag.Value)}' is not a tag (1 to 128 letters, digits, '_', '.' or '-', not starting with '.' or '-')";
        }
        if (!string.IsNullOrEmpty(digest.Value) && !ImageReference.IsDigest(digest.Value))
        {
            return $"{digest.Name}: '{Shown(digest.Value)}' is not a digest (algorithm:hex, such as sha256:<64 hex digits>)";
        }
        events.Add(new ImageEvent(image.Name, tag.Value, string.IsNullOrEmpty(digest.Value) ? null : digest.Value));
        return null;
    }

    /// <summary>Input quoted in a reason: control characters escaped, at most 80 characters.</summary>
    private static string Shown(string? value) => Audit.LogText.Clean(value, 80);

    private static string? Str(JsonElement element, params string[] path)
    {
        foreach (var key in path)
        {
            if (element.ValueKind != JsonValueKind.Object || !element.TryGetProperty(key, out element))
            {
                return null;
            }
        }
        return element.ValueKind == JsonValueKind.String ? Text(element, string.Join('.', path)) : null;
    }
}
