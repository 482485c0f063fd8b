using System.Security.Claims;
using KeelPortal.Audit;
using KeelPortal.Policies;
using KeelPortal.Workloads;
using Microsoft.AspNetCore.Http.HttpResults;

namespace KeelPortal.Approvals;

/// <summary>Keel's <c>k8s.Status</c>: the replica counts of a workload.</summary>
public sealed record ResourceReplicas(int Replicas, int UpdatedReplicas, int ReadyReplicas, int AvailableReplicas, int UnavailableReplicas);

/// <summary>
/// A workload in Keel's <c>/v1/resources</c> list (every workload, tracked or not, as Keel lists them), then KeelPortal's
/// own fields: whether it is tracked and the problems its keys have.
/// </summary>
public sealed record ResourceView(
    string Provider, string Identifier, string Name, string Namespace, string Kind, string Policy, IReadOnlyList<string> Images,
    IReadOnlyDictionary<string, string> Labels, IReadOnlyDictionary<string, string> Annotations, ResourceReplicas Status,
    bool Tracked, IReadOnlyList<string> Errors, IReadOnlyList<string> Warnings);

/// <summary>A tracked image in Keel's <c>/v1/tracked</c> list.</summary>
public sealed record TrackedImageView(string Image, string Trigger, string PollSchedule, string Provider, string Namespace, string Policy, string Registry);

/// <summary>Keel's <c>PUT /v1/tracked</c> body: <c>trigger</c> <c>default</c> or <c>poll</c>, <c>schedule</c> a duration (<c>5m</c>) or a schedule.</summary>
public sealed record TrackRequest(string? Provider, string? Identifier, string? Trigger, string? Schedule);

/// <summary>Keel's <c>PUT /v1/policies</c> body: an empty policy stops tracking the workload.</summary>
public sealed record PolicyRequest(string? Policy, string? Identifier, string? Provider);

public static partial class KeelApi
{
    /// <summary>Keel's policy name for a workload with none: its <c>NilPolicy</c>.</summary>
    public const string NilPolicy = "nil policy";

    private static void MapResources(RouteGroupBuilder v1)
    {
        v1.MapGet("/resources", ResourcesAsync);
        v1.MapGet("/tracked", async (WorkloadStore store, CancellationToken ct) =>
            TypedResults.Ok((await store.AllAsync(ct)).Where(w => w.IsTracked).SelectMany(Tracked).ToList()));
        v1.MapPut("/tracked", TrackAsync).RequireAuthorization(Access.AccessSetup.ApiAdminPolicy);
        v1.MapPut("/policies", SetPolicyAsync).RequireAuthorization(Access.AccessSetup.ApiAdminPolicy);
    }

    /// <summary>Every workload (Keel lists them all); <c>?tracked=false</c> lists only those without a policy, <c>?tracked=true</c> only tracked ones.</summary>
    private static async Task<Results<Ok<List<ResourceView>>, ProblemHttpResult>> ResourcesAsync(
        string? tracked, ClusterWorkloads cluster, WorkloadStore store, CancellationToken ct)
    {
        if (tracked is not (null or "" or "true" or "false"))
        {
            return TypedResults.Problem(statusCode: 400, title: "Invalid filter", detail: "tracked is true or false");
        }
        bool? wanted = string.IsNullOrEmpty(tracked) ? null : tracked == "true";
        var snapshots = (await store.AllAsync(ct)).ToDictionary(s => s.Id, StringComparer.Ordinal);
        var list = new List<ResourceView>();
        foreach (var w in await cluster.AllAsync(ct))
        {
            snapshots.TryGetValue(w.Id, out var snapshot);
            var status = w.Status;
            list.Add(new(
                "kubernetes", w.Id, w.Name, w.Namespace, w.Kind.ToString().ToLowerInvariant(), PolicyName(snapshot),
                [.. (w.Template.Spec?.Containers ?? []).Select(c => c.Image)], w.Labels, w.Annotations,
                new(status.Total, status.Updated, status.Ready, status.Available, Math.Max(0, status.Desired - status.Available)),
                snapshot?.IsTracked ?? false, snapshot?.Errors ?? [], snapshot?.Warnings ?? []));
        }
        // Helm releases are KeelPortal's addition to the list (Keel lists cluster workloads only).
        list.AddRange(snapshots.Values.Where(s => s.Kind == WorkloadKind.HelmRelease).Select(s => new ResourceView(
            "helm", s.Id, s.Name, s.Namespace, "chart", PolicyName(s), [.. s.Containers.Select(c => c.Image)],
            new Dictionary<string, string>(), new Dictionary<string, string>(), new(0, 0, 0, 0, 0), s.IsTracked, s.Errors, s.Warnings)));
        return TypedResults.Ok(list.Where(r => wanted is null || r.Tracked == wanted).OrderBy(r => r.Identifier, StringComparer.Ordinal).ToList());
    }

    private static string PolicyName(WorkloadSnapshot? snapshot) => snapshot is null || snapshot.Policy == "never" ? NilPolicy : snapshot.Policy;

    private static async Task<Results<Ok<KeelUpdated>, ProblemHttpResult>> TrackAsync(
        TrackRequest? body, ClaimsPrincipal user, ClusterWorkloads cluster, WorkloadSettingsEditor editor, CancellationToken ct)
    {
        if (body is null)
        {
            return TypedResults.Problem(statusCode: 400, title: "Invalid body", detail: "send {\"provider\": \"kubernetes\", \"identifier\": \"deployment/<namespace>/<name>\", \"trigger\": \"poll\", \"schedule\": \"5m\"}");
        }
        if (body.Provider != "kubernetes")
        {
            return TypedResults.Problem(statusCode: 400, title: "Invalid change", detail: "unsupported provider, supported: 'kubernetes'");
        }
        if (body.Trigger is not ("default" or "poll"))
        {
            return TypedResults.Problem(statusCode: 400, title: "Invalid change", detail: "unknown trigger type, supported: 'default', 'poll'");
        }
        var schedule = body.Schedule?.Trim() ?? "";
        if (schedule.Length > 0 && PollSchedule.TryGoDuration(schedule, out _))
        {
            schedule = "@every " + schedule; // Keel's body carries a duration; the key holds a schedule.
        }
        if (await cluster.FindAsync(body.Identifier, ct) is not { } workload)
        {
            return NotFound(body.Identifier);
        }
        var draft = SettingsDraft.Of(workload) with { Trigger = body.Trigger == "poll" ? "poll" : "webhook", Schedule = schedule };
        var plan = SettingsChanges.Plan(workload, draft);
        string[] keys = ["keel.sh/trigger", "keel.sh/pollSchedule"];
        var errors = plan.Errors.Where(e => keys.Any(k => e.StartsWith(k, StringComparison.Ordinal))).ToList();
        if (errors.Count > 0)
        {
            return TypedResults.Problem(statusCode: 400, title: "Invalid change", detail: string.Join("; ", errors));
        }
        return await WriteAsync(editor, workload, plan.Changes.Where(c => keys.Contains(c.Key)).ToDictionary(c => c.Key, c => c.After, StringComparer.Ordinal), user, removeLabels: false, ct);
    }

    private static async Task<Results<Ok<KeelUpdated>, ProblemHttpResult>> SetPolicyAsync(
        PolicyRequest? body, ClaimsPrincipal user, ClusterWorkloads cluster, WorkloadSettingsEditor editor, CancellationToken ct)
    {
        if (string.IsNullOrWhiteSpace(body?.Identifier))
        {
            return TypedResults.Problem(statusCode: 400, title: "Invalid change", detail: "identifier cannot be empty");
        }
        var policy = body.Policy?.Trim() ?? "";
        if (policy.Length > 0 && UpdatePolicy.Parse(policy) is { IsValid: false } parsed)
        {
            return TypedResults.Problem(statusCode: 400, title: "Invalid policy", detail: parsed.Error);
        }
        if (await cluster.FindAsync(body.Identifier, ct) is not { } workload)
        {
            return NotFound(body.Identifier);
        }
        // As Keel: the policy is written to the annotations and removed from the labels; an empty one removes it.
        var keys = new Dictionary<string, string?>(StringComparer.Ordinal) { ["keel.sh/policy"] = policy.Length == 0 ? null : policy };
        if (workload.Annotations.ContainsKey("keel.observer/policy") || workload.Labels.ContainsKey("keel.observer/policy"))
        {
            keys["keel.observer/policy"] = null;
        }
        return await WriteAsync(editor, workload, keys, user, removeLabels: true, ct);
    }

    private static ProblemHttpResult NotFound(string? identifier) =>
        TypedResults.Problem(statusCode: 404, title: "No such resource", detail: $"resource with identifier '{LogText.Clean(identifier ?? "", 200)}' not found");

    private static async Task<Results<Ok<KeelUpdated>, ProblemHttpResult>> WriteAsync(
        WorkloadSettingsEditor editor, WorkloadObject workload, Dictionary<string, string?> keys, ClaimsPrincipal user, bool removeLabels, CancellationToken ct)
    {
        if (keys.Count == 0)
        {
            return TypedResults.Ok(new KeelUpdated("updated", workload.Id, keys));
        }
        var result = await editor.SetAsync(workload.Id, keys, user.Identity?.Name ?? "", removeLabels, ct);
        return result.Outcome switch
        {
            ApplyOutcome.Applied => TypedResults.Ok(new KeelUpdated("updated", workload.Id, keys)),
            ApplyOutcome.WorkloadGone => NotFound(workload.Id),
            ApplyOutcome.Forbidden => TypedResults.Problem(statusCode: 403, title: "Permission denied", detail: result.Reason),
            ApplyOutcome.ConflictGaveUp => TypedResults.Problem(statusCode: 409, title: "Changed meanwhile", detail: result.Reason),
            _ => TypedResults.Problem(statusCode: 500, title: "Update failed", detail: result.Reason),
        };
    }

    private static IEnumerable<TrackedImageView> Tracked(WorkloadSnapshot w) => w.Containers.Select(c => new TrackedImageView(
        c.Image, w.Trigger == TriggerKind.Poll ? "poll" : "default", w.Trigger == TriggerKind.Poll ? w.PollSchedule ?? "" : "",
        WorkloadId.Provider(w.Id), w.Namespace, w.Policy, SplitHost(c.Repository ?? c.Image).Host));
}
