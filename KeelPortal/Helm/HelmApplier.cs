using System.Diagnostics;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using KeelPortal.Audit;
using KeelPortal.Registries;
using KeelPortal.Workloads;
using k8s;
using Microsoft.Extensions.Options;

namespace KeelPortal.Helm;

/// <summary>
/// Updates a Helm release the way Keel's provider does, through Helm itself: <c>helm upgrade</c> of the release with
/// its own chart, reusing its values and setting only the image's value paths. A chart with subcharts (which Helm does
/// not store with a release) is upgraded only through the chart reference its <c>keel:</c> block names. Helm gets the
/// portal's cluster connection in a kubeconfig file only the portal can read; its output becomes the apply's reason.
/// </summary>
public sealed partial class HelmApplier(
    ClusterConnection connection, WorkloadCatalog catalog, IOptions<HelmOptions> options, ILogger<HelmApplier> logger)
{
    /// <summary>What one upgrade works on, once the request has passed its checks.</summary>
    private sealed record Target(
        string Helm, IWorkloadClient Client, KubernetesClientConfiguration Config, string Namespace, string Name,
        WorkloadSnapshot Snapshot, ReleaseDetails Details, HelmDriver Driver);

    public async Task<ApplyResult> ApplyAsync(ApplyRequest request, CancellationToken ct)
    {
        if (Check(request, out var checkedTarget) is { } refused)
        {
            return refused;
        }
        var target = checkedTarget!;
        JsonObject stored;
        int revision;
        try
        {
            (stored, revision) = await DeployedAsync(target.Client, target.Driver, target.Namespace, target.Name, ct);
        }
        catch (KubernetesApiException e)
        {
            return new(ApplyOutcome.ApiError, $"reading the release {request.WorkloadId} failed ({e.Status}): {e.Message}");
        }
        catch (InvalidDataException e)
        {
            return new(ApplyOutcome.Invalid, $"the release {request.WorkloadId} cannot be read: {e.Message}");
        }
        var release = StoredRevision.Compact(stored);
        var planned = Sets(request, target.Details, release);
        if (planned.Missing is { } missing)
        {
            return new(ApplyOutcome.Invalid, $"{request.WorkloadId} has no image at the values path {missing}");
        }
        var from = planned.From ?? request.FromVersion;
        // Read from the release's deployed revision just now: an update that would move it back is not upgraded.
        if (request.Backwards(target.Snapshot.UpdatePolicy(), from) is { } superseded)
        {
            return superseded with { Follow = [] };
        }
        if (!planned.Sets.Any(set => HelmValues.Get(release.Values, set.Path) != set.Value))
        {
            return new(ApplyOutcome.AlreadyAtTarget, $"{request.WorkloadId} already runs {string.Join(", ", request.Images.Select(u => u.Image))}") { Follow = [] };
        }
        if (ChartProblem(request.WorkloadId, target.Details, release) is { } problem)
        {
            return new(ApplyOutcome.Invalid, problem);
        }
        return await UpgradeAsync(request, target, stored, revision, planned.Sets, from, ct);
    }

    /// <summary>The release, helm and the cluster connection the request needs, or why the upgrade cannot start (in the order checked).</summary>
    private ApplyResult? Check(ApplyRequest request, out Target? target)
    {
        target = null;
        if (!WorkloadId.TryParse(request.WorkloadId, out var kind, out var ns, out var name) || kind != WorkloadKind.HelmRelease)
        {
            return new(ApplyOutcome.Invalid, $"'{request.WorkloadId}' is not a Helm release such as default/web");
        }
        if (Binary() is not { } helm)
        {
            return new(ApplyOutcome.Invalid, $"helm is not installed: set Helm:BinaryPath (now '{options.Value.BinaryPath}')");
        }
        if (connection.Client is not { } client || connection.Configuration is not { } config)
        {
            return new(ApplyOutcome.NoCluster, connection.Status.Message);
        }
        if (catalog.Snapshot(request.WorkloadId) is not { Release: { } details } snapshot)
        {
            return new(ApplyOutcome.WorkloadGone, $"the Helm release {request.WorkloadId} no longer exists or is no longer tracked");
        }
        if (details.History is [var newest, ..] && HelmReleases.IsPending(newest.Status))
        {
            return new(ApplyOutcome.Busy, $"another Helm operation on {request.WorkloadId} is in progress (revision {newest.Revision} is {newest.Status})");
        }
        target = new(helm, client, config, ns, name, snapshot, details, details.Driver);
        return null;
    }

    /// <summary>
    /// The values to set for each image (tag, or repository:tag, and the digest path), and the version it runs now; or the
    /// values path of an image the release does not have.
    /// </summary>
    private static (List<(string Path, string Value)> Sets, string? From, string? Missing) Sets(ApplyRequest request, ReleaseDetails details, DecodedRelease release)
    {
        var sets = new List<(string Path, string Value)>();
        string? from = null;
        foreach (var update in request.Images)
        {
            var paths = details.Images.FirstOrDefault(p => p.Repository == update.Container);
            if (paths is null || !ImageReference.TryParse(update.Image, out var image, out _))
            {
                return ([], null, update.Container);
            }
            from ??= paths.Tag is { } tagPath ? HelmValues.Get(release.Values, tagPath)
                : ImageReference.TryParse(HelmValues.Get(release.Values, paths.Repository), out var running, out _) ? running.TagOrLatest : null;
            sets.Add(paths.Tag is { } tag ? (tag, image.TagOrLatest) : (paths.Repository, $"{image.Name}:{image.TagOrLatest}"));
            if (paths.Digest is { } digestPath && request.Digest is { } digest)
            {
                sets.Add((digestPath, digest));
            }
        }
        return (sets, from, null);
    }

    /// <summary>Why the release's chart may not be upgraded: a named chart source not allowed, or subcharts Helm did not store.</summary>
    private string? ChartProblem(string workloadId, ReleaseDetails details, DecodedRelease release)
    {
        if (details.ChartReference is { } named && ChartSources.Refusal(named, options.Value) is { } refusal)
        {
            return $"{workloadId} was not upgraded: {refusal}";
        }
        if (release.Dependencies.Count > 0 && details.ChartReference is null)
        {
            return $"the chart {release.Chart}-{release.ChartVersion} of {workloadId} has subcharts ({string.Join(", ", release.Dependencies)}), which Helm does not store " +
                "with a release: upgrading with the stored chart would remove them. Name the chart to upgrade with in the release's values: " +
                "keel.chart (oci://…, a repository chart name or a path) with keel.chartVersion and, for a chart repository, keel.chartRepository";
        }
        return null;
    }

    /// <summary>Runs <c>helm upgrade</c> (fenced right before) and checks that it deployed a new revision.</summary>
    private async Task<ApplyResult> UpgradeAsync(
        ApplyRequest request, Target target, JsonObject stored, int revision, List<(string Path, string Value)> sets, string? from, CancellationToken ct)
    {
        var work = Directory.CreateTempSubdirectory("keelportal-helm-");
        try
        {
            var args = await ArgumentsAsync(target, stored, sets, work.FullName, ct);
            if (await request.FencedOffAsync(ct) is { } lost)
            {
                return lost with { Follow = [] };
            }
            var started = Stopwatch.GetTimestamp();
            var (exit, output) = await RunAsync(target.Helm, args, target.Driver, work.FullName, ct);
            var helmTime = Stopwatch.GetElapsedTime(started);
            if (exit != 0)
            {
                var reason = LogText.Clean(output.Trim(), 1500);
                LogFailed(request.WorkloadId, exit, reason);
                // Helm refuses while another install, upgrade or rollback of the release runs: tried again, not failed.
                return new(reason.Contains("another operation (install/upgrade/rollback) is in progress", StringComparison.Ordinal) ? ApplyOutcome.Busy : ApplyOutcome.Invalid,
                    $"helm upgrade of {request.WorkloadId} failed: {reason}");
            }
            var (_, upgraded) = await DeployedAsync(target.Client, target.Driver, target.Namespace, target.Name, ct);
            if (upgraded <= revision)
            {
                // helm said it succeeded, yet no new revision was deployed: nothing changed, and saying "applied" would be false.
                var said = LogText.Clean(output.Trim(), 300);
                LogNoNewRevision(request.WorkloadId, revision, said);
                return new(ApplyOutcome.Invalid, $"helm upgrade of {request.WorkloadId} ended without deploying a new revision (still {upgraded}); helm said: {said}");
            }
            LogUpgraded(request.WorkloadId, from, request.ToVersion, upgraded, (long)helmTime.TotalMilliseconds);
            return new(ApplyOutcome.Applied, $"{request.WorkloadId} upgraded {from} -> {request.ToVersion} (revision {revision} -> {upgraded})", upgraded, from)
            {
                Follow = await OwnedAsync(target.Client, target.Namespace, target.Name, ct),
            };
        }
        catch (KubernetesApiException e)
        {
            return new(ApplyOutcome.ApiError, $"reading {request.WorkloadId} after the upgrade failed ({e.Status}): {e.Message}");
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }

    /// <summary>
    /// Flags first, each value joined to its flag; the release and the chart only after "--", so neither is ever read as
    /// a flag. The chart is the one the release's <c>keel:</c> block names, else the stored chart written out.
    /// </summary>
    private static async Task<List<string>> ArgumentsAsync(Target target, JsonObject stored, List<(string Path, string Value)> sets, string work, CancellationToken ct)
    {
        var args = new List<string> { "upgrade", $"--namespace={target.Namespace}", "--reuse-values", $"--kubeconfig={await HelmKubeconfig.WriteAsync(target.Config, work, ct)}" };
        var chart = target.Details.ChartReference is { } reference ? reference.Chart : WriteChart(stored, Path.Combine(work, "chart"));
        if (target.Details.ChartReference is { Version: { } version })
        {
            args.Add($"--version={version}");
        }
        if (target.Details.ChartReference is { Repository: { } repository })
        {
            args.Add($"--repo={repository}");
        }
        args.AddRange(sets.Select(set => $"--set-string={set.Path}={Escape(set.Value)}"));
        args.AddRange(["--", target.Name, chart]);
        return args;
    }

    /// <summary>The deployed revision's full release (chart included) and its number, read now from Helm's storage.</summary>
    private static async Task<(JsonObject Release, int Revision)> DeployedAsync(IWorkloadClient client, HelmDriver driver, string ns, string name, CancellationToken ct)
    {
        var page = await client.ListHelmStorageAsync(driver, ns, $"name={name},status=deployed", null, ct);
        var newest = page.Items.Select(i => (Item: i, Revision: int.TryParse(i.Labels.GetValueOrDefault("version"), out var v) ? v : 0))
            .OrderByDescending(i => i.Revision).FirstOrDefault();
        if (newest.Item is null)
        {
            throw new InvalidDataException($"Helm's storage has no deployed revision of {ns}/{name}");
        }
        return (HelmReleaseCodec.Decode(newest.Item.Release), newest.Revision);
    }

    /// <summary>The workloads Helm says belong to the release (its ownership annotations), with the generation to roll out.</summary>
    private async Task<IReadOnlyList<(string WorkloadId, long Generation)>> OwnedAsync(IWorkloadClient client, string ns, string name, CancellationToken ct)
    {
        var owned = new List<(string, long)>();
        foreach (var workload in catalog.InNamespace(ns).Where(w =>
            w.Annotations.GetValueOrDefault("meta.helm.sh/release-name") == name && w.Annotations.GetValueOrDefault("meta.helm.sh/release-namespace") == ns))
        {
            if (await client.GetAsync(workload.Kind, ns, workload.Name, ct) is { } fresh && fresh.Kind != WorkloadKind.CronJob)
            {
                owned.Add((fresh.Id, fresh.Generation));
            }
        }
        return owned;
    }

    /// <summary>
    /// The stored chart as a chart folder: <c>Chart.yaml</c> and <c>values.yaml</c> as JSON (which YAML readers accept),
    /// the schema, the templates and the other files. Names that would leave the folder are refused.
    /// </summary>
    private static string WriteChart(JsonObject release, string folder)
    {
        var chart = release["chart"] as JsonObject ?? throw new InvalidDataException("the release has no chart");
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "Chart.yaml"), chart["metadata"]?.ToJsonString() ?? "{}");
        File.WriteAllText(Path.Combine(folder, "values.yaml"), chart["values"]?.ToJsonString() ?? "{}");
        if (chart["schema"] is JsonValue schema && schema.ToString().Length > 0)
        {
            File.WriteAllBytes(Path.Combine(folder, "values.schema.json"), Convert.FromBase64String(schema.ToString()));
        }
        var root = Path.GetFullPath(folder) + Path.DirectorySeparatorChar;
        foreach (var file in (chart["templates"] as JsonArray ?? []).Concat(chart["files"] as JsonArray ?? []).OfType<JsonObject>())
        {
            var name = file["name"]?.GetValue<string>() ?? "";
            var target = Path.GetFullPath(Path.Combine(folder, name));
            if (name.Length == 0 || Path.IsPathRooted(name) || !target.StartsWith(root, StringComparison.Ordinal))
            {
                throw new InvalidDataException($"the chart holds a file named '{LogText.Clean(name, 100)}' outside its folder");
            }
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.WriteAllBytes(target, Convert.FromBase64String(file["data"]?.GetValue<string>() ?? ""));
        }
        return folder;
    }

    private async Task<(int ExitCode, string Output)> RunAsync(string helm, List<string> args, HelmDriver driver, string home, CancellationToken ct)
    {
        var (code, output) = await HelmProcess.RunAsync(helm, args, home, new Dictionary<string, string> { ["HELM_DRIVER"] = Data.Modes.Name(driver) },
            options.Value.UpgradeTimeout, ct);
        return (code, output ?? $"helm did not finish within {options.Value.UpgradeTimeout} (Helm:UpgradeTimeout) and was stopped");
    }

    /// <summary>The helm binary: <c>Helm:BinaryPath</c> as a path, or looked up on PATH; null when there is none.</summary>
    private string? Binary() => HelmProcess.Find(options.Value.BinaryPath);

    /// <summary>--set-string reads commas and backslashes as syntax; a tag, repository or digest has neither, but escape anyway.</summary>
    private static string Escape(string value) => SetSyntax().Replace(value, @"\$0");

    [GeneratedRegex(@"[\\,]", RegexOptions.CultureInvariant)]
    private static partial Regex SetSyntax();

    [LoggerMessage(Level = LogLevel.Information, Message = "Upgraded the Helm release {Release} {From} -> {To} (revision {Revision}); helm ran {HelmMilliseconds} ms")]
    private partial void LogUpgraded(string release, string? from, string to, int revision, long helmMilliseconds);

    [LoggerMessage(Level = LogLevel.Warning, Message = "helm upgrade of {Release} exited 0 but the deployed revision stayed at {Revision}: {Output}")]
    private partial void LogNoNewRevision(string release, int revision, string output);

    [LoggerMessage(Level = LogLevel.Warning, Message = "helm upgrade of {Release} failed with exit code {Exit}: {Reason}")]
    private partial void LogFailed(string release, int exit, string reason);
}
