using System.Text.Json.Nodes;
using KeelPortal.Audit;

namespace KeelPortal.Workloads;

/// <summary>
/// Changes a workload's Keel settings from the console: written back to the workload as Keel's own keys by one merge
/// patch (in the map Keel reads first for that key, so the change takes effect), and audited.
/// </summary>
public sealed class WorkloadSettingsEditor(ClusterConnection cluster, WorkloadCatalog catalog, AuditTrail audit)
{
    public const string PausedPolicyKey = "keelportal.io/paused-policy";

    /// <summary>
    /// Writes <paramref name="keys"/> (null removes one); with <paramref name="removeFromLabels"/> a removed or annotated key
    /// is also taken out of the labels, as Keel's API does with a policy.
    /// </summary>
    public async Task<ApplyResult> SetAsync(
        string workloadId, IReadOnlyDictionary<string, string?> keys, string actor, bool removeFromLabels = false, CancellationToken ct = default)
    {
        if (!WorkloadId.TryParse(workloadId, out var kind, out var ns, out var name))
        {
            return new(ApplyOutcome.Invalid, $"'{workloadId}' is not a workload identifier");
        }
        if (cluster.Client is not { } client)
        {
            return new(ApplyOutcome.NoCluster, cluster.Status.Message);
        }
        var current = catalog.Find(workloadId) ?? await client.GetAsync(kind, ns, name, ct);
        if (current is null)
        {
            return new(ApplyOutcome.WorkloadGone, $"{workloadId} no longer exists");
        }
        var labels = new JsonObject();
        var annotations = new JsonObject();
        foreach (var (key, value) in keys)
        {
            // Keel reads keel.sh/policy from annotations first, and approvals from labels first.
            if (removeFromLabels)
            {
                annotations[key] = value;
                if (current.Labels.ContainsKey(key))
                {
                    labels[key] = null;
                }
                continue;
            }
            (SettingsChanges.WritesToLabels(current, key) ? labels : annotations)[key] = value;
        }
        var metadata = new JsonObject { ["resourceVersion"] = current.ResourceVersion, ["annotations"] = annotations };
        if (labels.Count > 0)
        {
            metadata["labels"] = labels;
        }
        try
        {
            await client.PatchAsync(kind, ns, name, new JsonObject { ["metadata"] = metadata }.ToJsonString(), ct);
        }
        catch (KubernetesApiException e)
        {
            return new(e.Status == 403 ? ApplyOutcome.Forbidden : e.Status == 409 ? ApplyOutcome.ConflictGaveUp : ApplyOutcome.ApiError,
                e.Status == 409 ? $"{workloadId} changed meanwhile; reload and try again" : e.Message);
        }
        var summary = string.Join(", ", keys.Select(k => $"{k.Key}={k.Value ?? "(removed)"}"));
        await audit.RecordAsync(actor, AuditActions.WorkloadSettings, workloadId, summary, ct);
        return new(ApplyOutcome.Applied, $"{workloadId}: {summary}");
    }
}
