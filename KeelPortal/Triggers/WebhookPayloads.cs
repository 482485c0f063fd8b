using System.Text.Json;
using KeelPortal.Registries;

namespace KeelPortal.Triggers;

/// <summary>"Repository X has tag T (digest D)": what every trigger tells the update pipeline.</summary>
public sealed record ImageEvent(string Repository, string Tag, string? Digest = null);

/// <summary>The events a webhook body carries, or why it cannot be used.</summary>
public sealed record WebhookParseResult(IReadOnlyList<ImageEvent> Events, string? Error)
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

    public static WebhookParseResult Parse(string provider, string body, string? githubEvent = null)
    {
        JsonDocument document;
        try
        {
            document = JsonDocument.Parse(body);
        }
        catch (JsonException e)
        {
            return WebhookParseResult.Invalid($"the body is not JSON: {e.Message}");
        }
        using (document)
        {
            var root = document.RootElement;
            if (root.ValueKind != JsonValueKind.Object)
            {
                return WebhookParseResult.Invalid("the body must be a JSON object");
            }
            var events = new List<ImageEvent>();
            var error = provider switch
            {
                "native" => Native(root, events),
                "dockerhub" => Add(events, $"{Str(root, "repository", "repo_name")}", Str(root, "push_data", "tag"), null, "repository.repo_name and push_data.tag"),
                "quay" => Quay(root, events),
                "azure" => Azure(root, events),
                "github" => GitHub(root, githubEvent, events),
                "harbor" => Harbor(root, events),
                "jfrog" => Add(events, Str(root, "data", "image_name"), Str(root, "data", "tag"), null, "data.image_name and data.tag"),
                "registry" => Registry(root, events),
                _ => $"unknown webhook provider '{provider}'",
            };
            return error is not null ? WebhookParseResult.Invalid(error) : new WebhookParseResult(events, null);
        }
    }

    private static string? Native(JsonElement root, List<ImageEvent> events) =>
        Add(events, Str(root, "name"), Str(root, "tag"), Str(root, "digest"), "name and tag");

    private static string? Quay(JsonElement root, List<ImageEvent> events)
    {
        var url = Str(root, "docker_url");
        if (!root.TryGetProperty("updated_tags", out var tags) || tags.ValueKind != JsonValueKind.Array || tags.GetArrayLength() == 0)
        {
            return "the body has no updated_tags";
        }
        foreach (var tag in tags.EnumerateArray())
        {
            if (Add(events, url, tag.ValueKind == JsonValueKind.String ? tag.GetString() : null, null, "docker_url and updated_tags") is { } error)
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
        return Add(events, host is null || repository is null ? null : $"{host}/{repository}", Str(root, "target", "tag"), Str(root, "target", "digest"),
            "request.host, target.repository and target.tag");
    }

    private static string? GitHub(JsonElement root, string? githubEvent, List<ImageEvent> events)
    {
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
                return Add(events, ns is null || name is null ? null : $"ghcr.io/{ns}/{name}".ToLowerInvariant(),
                    Str(root, "package", "package_version", "container_metadata", "tag", "name"),
                    Str(root, "package", "package_version", "container_metadata", "tag", "digest"),
                    "package.namespace, package.name and package.package_version.container_metadata.tag.name");
            case "registry_package":
                var fullName = Str(root, "repository", "full_name");
                return Add(events, fullName is null ? null : $"ghcr.io/{fullName}".ToLowerInvariant(),
                    Str(root, "registry_package", "package_version", "version"), null,
                    "repository.full_name and registry_package.package_version.version");
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
        foreach (var resource in resources.EnumerateArray())
        {
            var url = Str(resource, "resource_url");
            if (url is null || !ImageReference.TryParse(url, out var image, out _) || image.Tag is null)
            {
                return $"resource_url '{url}' is not an image reference with a tag";
            }
            events.Add(new ImageEvent(image.Name, image.Tag, Str(resource, "digest")));
        }
        return events.Count == 0 ? "event_data.resources is empty" : null;
    }

    private static string? Registry(JsonElement root, List<ImageEvent> events)
    {
        if (!root.TryGetProperty("events", out var list) || list.ValueKind != JsonValueKind.Array)
        {
            return "the body has no events array (a Docker Distribution notification envelope)";
        }
        foreach (var item in list.EnumerateArray())
        {
            // Pulls and blob pushes carry no tag: only manifest pushes with a tag are new tags.
            if (Str(item, "action") != "push" || Str(item, "target", "tag") is not { Length: > 0 } tag)
            {
                continue;
            }
            var host = Str(item, "request", "host");
            var repository = Str(item, "target", "repository");
            if (Add(events, host is null || repository is null ? null : $"{host}/{repository}", tag, Str(item, "target", "digest"),
                "request.host and target.repository") is { } error)
            {
                return error;
            }
        }
        return null;
    }

    private static string? Add(List<ImageEvent> events, string? name, string? tag, string? digest, string needed)
    {
        if (string.IsNullOrWhiteSpace(name) || string.IsNullOrWhiteSpace(tag))
        {
            return $"the body must name the image and tag ({needed})";
        }
        if (!ImageReference.TryParse(name, out var image, out var error))
        {
            return $"'{name}' is not an image name: {error}";
        }
        events.Add(new ImageEvent(image.Name, tag.Trim(), string.IsNullOrWhiteSpace(digest) ? null : digest));
        return null;
    }

    private static string? Str(JsonElement element, params string[] path)
    {
        foreach (var key in path)
        {
            if (element.ValueKind != JsonValueKind.Object || !element.TryGetProperty(key, out element))
            {
                return null;
            }
        }
        return element.ValueKind == JsonValueKind.String ? element.GetString() : null;
    }
}
