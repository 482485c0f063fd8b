using System.Globalization;
using System.Text.Json.Nodes;
using KeelPortal.Registries;
using KeelPortal.Workloads;

namespace KeelPortal.Helm;

/// <summary>
/// A release's snapshot from its deployed revision: Keel's <c>keel:</c> block read with the same rules as the
/// <c>keel.sh/*</c> keys (one parser), each <c>images[]</c> entry's current image read from its value paths. A block
/// that cannot be used keeps the release listed with the reasons.
/// </summary>
public static class HelmSnapshots
{
    public static WorkloadSnapshot? Build(StoredRevision deployed, IReadOnlyList<ReleaseRevision> history)
    {
        var id = deployed.ReleaseId;
        if (deployed.Deployed is not { } release)
        {
            return Unusable(deployed, history, deployed.Error ?? "the deployed revision could not be read");
        }
        if (release.Values["keel"] is not JsonObject block)
        {
            return null;
        }
        var errors = new List<string>();
        var keys = Keys(block, errors);
        var (paths, containers) = Images(release.Values, block, keys, errors);
        var settings = KeelSettings.Read(new Dictionary<string, string>(), keys);
        errors.InsertRange(0, settings.Errors.Select(Renamed));
        var reference = ChartReferenceOf(block, errors);
        var details = new ReleaseDetails(release.Chart, release.ChartVersion, release.AppVersion, deployed.Revision, deployed.Status,
            deployed.Driver, release.Dependencies, reference, paths, history);
        return new WorkloadSnapshot(
            id, WorkloadKind.HelmRelease, deployed.Namespace, deployed.Release, deployed.Revision.ToString(CultureInfo.InvariantCulture), deployed.Revision,
            settings.Policy.Name, settings.Policy.MatchTag, settings.Policy.MatchPreRelease, settings.Trigger, settings.PollSchedule,
            settings.ApprovalsRequired, (int)settings.ApprovalDeadline.TotalHours, settings.NotifyChannels, settings.ReleaseNotes,
            settings.ImagePullSecret is { Length: > 0 } secret ? [secret] : [], containers, [], errors,
            [.. settings.Warnings.Select(Renamed)], details, settings.PolicyWritten, settings.ApprovalsWritten);
    }

    /// <summary>The <c>keel:</c> block's settings as the <c>keel.sh/*</c> keys they stand for.</summary>
    private static Dictionary<string, string> Keys(JsonObject block, List<string> errors)
    {
        var keys = new Dictionary<string, string>(StringComparer.Ordinal);
        Copy(block, "policy", "keel.sh/policy", keys, errors);
        Copy(block, "matchTag", "keel.sh/matchTag", keys, errors);
        Copy(block, "matchPreRelease", "keel.sh/matchPreRelease", keys, errors);
        Copy(block, "trigger", "keel.sh/trigger", keys, errors);
        Copy(block, "pollSchedule", "keel.sh/pollSchedule", keys, errors);
        Copy(block, "approvals", "keel.sh/approvals", keys, errors);
        Copy(block, "approvalDeadline", "keel.sh/approvalDeadline", keys, errors);
        if (!keys.ContainsKey("keel.sh/policy"))
        {
            errors.Add("keel.policy is required: without it Keel does not track the release");
        }
        // Keel's Helm provider takes pre-releases into account unless told otherwise.
        keys.TryAdd("keel.sh/matchPreRelease", "true");
        switch (block["notificationChannels"])
        {
            case JsonArray channels:
                keys["keel.sh/notify"] = string.Join(',', channels.Select(c => c is JsonValue v ? v.ToString() : ""));
                break;
            case JsonValue single:
                keys["keel.sh/notify"] = single.ToString();
                break;
        }
        return keys;
    }

    /// <summary>Each <c>keel.images</c> entry: its value paths and the container it reads as.</summary>
    private static (List<ReleaseImagePaths> Paths, List<TrackedContainer> Containers) Images(
        JsonObject values, JsonObject block, Dictionary<string, string> keys, List<string> errors)
    {
        var paths = new List<ReleaseImagePaths>();
        var containers = new List<TrackedContainer>();
        if (block["images"] is not JsonArray images || images.Count == 0)
        {
            errors.Add("keel.images: list at least one image as {repository: <values path>, tag: <values path>}");
        }
        else
        {
            for (var i = 0; i < images.Count; i++)
            {
                if (Image(values, images[i] as JsonObject, i, errors, keys) is { } found)
                {
                    paths.Add(found.Paths);
                    containers.Add(found.Container);
                }
            }
        }
        return (paths, containers);
    }

    private static WorkloadSnapshot Unusable(StoredRevision revision, IReadOnlyList<ReleaseRevision> history, string reason) => new(
        revision.ReleaseId, WorkloadKind.HelmRelease, revision.Namespace, revision.Release, revision.Revision.ToString(CultureInfo.InvariantCulture),
        revision.Revision, Policies.UpdatePolicy.Never.Name, false, false, TriggerKind.Webhook, null, 0, (int)KeelSettings.DefaultDeadline.TotalHours,
        [], null, [], [], [], [reason], [],
        new ReleaseDetails("", "", null, revision.Revision, revision.Status, revision.Driver, [], null, [], history));

    /// <summary>Errors speak of the block's own keys (<c>keel.approvals</c>), not of the annotations they share rules with.</summary>
    private static string Renamed(string message) => message.Replace("keel.sh/notify", "keel.notificationChannels", StringComparison.Ordinal)
        .Replace("keel.sh/", "keel.", StringComparison.Ordinal);

    private static void Copy(JsonObject block, string key, string annotation, Dictionary<string, string> keys, List<string> errors)
    {
        switch (block[key])
        {
            case null:
                return;
            case JsonValue value:
                keys[annotation] = value.ToString();
                return;
            default:
                errors.Add($"keel.{key}: must be a single value, not a list or a map");
                return;
        }
    }

    private static (ReleaseImagePaths Paths, TrackedContainer Container)? Image(
        JsonObject values, JsonObject? entry, int index, List<string> errors, Dictionary<string, string> keys)
    {
        var where = $"keel.images[{index}]";
        if (entry is null)
        {
            errors.Add($"{where}: must be a map such as {{repository: image.repository, tag: image.tag}}");
            return null;
        }
        var repositoryPath = Scalar(entry, "repository");
        var tagPath = Scalar(entry, "tag");
        var digestPath = Scalar(entry, "digest");
        foreach (var (name, path) in new[] { ("repository", repositoryPath), ("tag", tagPath), ("digest", digestPath) })
        {
            if (path is not null && !HelmValues.IsPath(path))
            {
                errors.Add($"{where}.{name}: '{KeelSettings.Shown(path)}' is not a values path such as image.repository");
                return null;
            }
        }
        if (repositoryPath is null)
        {
            errors.Add($"{where}.repository: the values path of the image repository is required");
            return null;
        }
        if (index == 0)
        {
            if (Scalar(entry, "releaseNotes") is { } notes)
            {
                keys["keel.sh/releaseNotes"] = notes;
            }
            if (Scalar(entry, "imagePullSecret") is { } secret)
            {
                keys["keel.sh/imagePullSecret"] = secret;
            }
        }
        var repository = HelmValues.Get(values, repositoryPath);
        var tag = tagPath is null ? null : HelmValues.Get(values, tagPath);
        var digest = digestPath is null ? null : HelmValues.Get(values, digestPath);
        if (string.IsNullOrEmpty(repository))
        {
            errors.Add($"{where}.repository: the values have nothing at {repositoryPath}");
            return null;
        }
        if (tagPath is not null && string.IsNullOrEmpty(tag))
        {
            errors.Add($"{where}.tag: the values have nothing at {tagPath}");
            return null;
        }
        var text = tag is null ? repository : $"{repository}:{tag}";
        var paths = new ReleaseImagePaths(repositoryPath, tagPath, digestPath);
        if (!ImageReference.TryParse(text, out var image, out var error))
        {
            errors.Add($"{where}: {error}");
            return (paths, new TrackedContainer(repositoryPath, false, text, null, null, null, error, []));
        }
        return (paths, new TrackedContainer(repositoryPath, false, text, image.Name, image.TagOrLatest,
            string.IsNullOrEmpty(digest) ? image.Digest : digest, null, []));
    }

    private static ChartReference? ChartReferenceOf(JsonObject block, List<string> errors)
    {
        var reference = ChartReferenceIn(block, errors);
        if (reference is not null && ChartSources.GrammarError(reference) is { } error)
        {
            errors.Add(error);
            return null;
        }
        return reference;
    }

    private static ChartReference? ChartReferenceIn(JsonObject block, List<string> errors)
    {
        switch (block["chart"])
        {
            case null:
                return null;
            case JsonValue value:
                return new ChartReference(value.ToString(), Scalar(block, "chartVersion"), Scalar(block, "chartRepository"));
            case JsonObject map when Scalar(map, "name") is { } name:
                return new ChartReference(name, Scalar(map, "version"), Scalar(map, "repository"));
            default:
                errors.Add("keel.chart: give the chart to upgrade with as oci://…, a path, or {repository, name, version}");
                return null;
        }
    }

    private static string? Scalar(JsonObject map, string key) => map[key] is JsonValue value && value.ToString() is { Length: > 0 } text ? text : null;
}
