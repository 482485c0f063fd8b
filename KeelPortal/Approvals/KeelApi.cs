using System.Globalization;
using System.Security.Claims;
using System.Text.Json.Serialization;
using KeelPortal.Access;
using KeelPortal.Audit;
using KeelPortal.Workloads;
using Microsoft.AspNetCore.Http.HttpResults;

namespace KeelPortal.Approvals;

/// <summary>Keel's <c>POST /v1/approvals</c> body. <c>voter</c> is accepted for compatibility and ignored: the voter is the caller.</summary>
public sealed record ApprovalAction(string? Identifier, string? Id, string? Action, string? Voter);

/// <summary>Keel's <c>PUT /v1/approvals</c> body.</summary>
public sealed record VotesRequiredChange(string? Identifier, string? Provider, int? VotesRequired);

/// <summary>Keel's <c>types.Repository</c> inside an approval's event.</summary>
public sealed record KeelRepository(string Host, string Name, string Tag, string Digest);

/// <summary>Keel's <c>types.Event</c>: the image push that led to the approval.</summary>
public sealed record KeelEvent(KeelRepository Repository, DateTime CreatedAt,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? TriggerName);

/// <summary>
/// An approval as Keel's <c>types.Approval</c> serialises it (<c>voters</c> an object of voter → time of the vote, as
/// Keel stores it), then KeelPortal's own fields under their own names: who rejected, the state and its reason, the
/// last change of the votes required, and why a vote was not counted.
/// </summary>
public sealed record ApprovalView(
    string Id, bool Archived, string Provider, string Identifier, KeelEvent Event, string Message, string CurrentVersion, string NewVersion,
    string Digest, int VotesRequired, int VotesReceived, IReadOnlyDictionary<string, DateTime> Voters, bool Rejected, DateTime Deadline,
    DateTime CreatedAt, DateTime UpdatedAt,
    string? RejectedBy, string State, string? Reason, VotesRequiredChangeView? VotesRequiredChange,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? VoteNotCounted = null);

/// <summary>Who changed the votes an approval needs, from how many, and when.</summary>
public sealed record VotesRequiredChangeView(int? From, string By, DateTime At);

/// <summary>
/// Keel's <c>APIResponse</c> (<c>{"status":"updated"}</c>) for its PUT endpoints, with what KeelPortal did: the workload,
/// the keys written to it and, for votes, how many pending approvals took the new count.
/// </summary>
public sealed record KeelUpdated(
    string Status, string Identifier,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] IReadOnlyDictionary<string, string?>? Written,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? VotesRequired = null,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? Updated = null);

/// <summary>
/// Keel's HTTP API, with Keel's paths, methods, status codes and JSON shapes, for the tools that already speak it. Every
/// call is authenticated and the voter is the authenticated caller, never a name in the body. Where KeelPortal is stricter
/// than Keel (roles, a repeat vote, an unknown action), it answers with Keel's status code where Keel has one and says
/// why in the body.
/// </summary>
public static partial class KeelApi
{
    public static IEndpointRouteBuilder MapKeelApi(this IEndpointRouteBuilder app)
    {
        var v1 = app.MapGroup("/v1").RequireAuthorization(AccessSetup.ApiPolicy).DisableAntiforgery().WithTags("Keel");
        v1.MapGet("/approvals", async (ApprovalBook book, CancellationToken ct) =>
            TypedResults.Ok((await book.ListAsync(includeArchived: true, ct)).Select(a => Shape(a)).ToList()));
        v1.MapPost("/approvals", ActAsync).RequireAuthorization(AccessSetup.ApiVotePolicy).Produces<ApprovalView>();
        v1.MapPut("/approvals", SetVotesAsync).RequireAuthorization(AccessSetup.ApiAdminPolicy);
        MapResources(v1);
        MapAudit(v1);
        app.MapGet("/version", Version).AllowAnonymous().ExcludeFromDescription();
        return app;
    }

    private static async Task<IResult> ActAsync(ApprovalAction? body, ClaimsPrincipal user, ApprovalBook book, ApprovalGate gate, CancellationToken ct)
    {
        var voter = user.Identity?.Name ?? "";
        if (body is null)
        {
            return TypedResults.Problem(statusCode: 400, title: "Invalid body",
                detail: "send {\"identifier\": \"deployment/<namespace>/<name>:<tag>\", \"action\": \"approve\"}");
        }
        if (string.IsNullOrWhiteSpace(body.Identifier) && string.IsNullOrWhiteSpace(body.Id))
        {
            // Keel answers 404 for an empty identifier.
            return TypedResults.Problem(statusCode: 404, title: "Missing identifier", detail: "identifier cannot be empty");
        }
        var action = (body.Action ?? "").Trim().ToLowerInvariant();
        if (action is not ("" or "approve" or "reject" or "delete" or "archive" or "retry"))
        {
            // Keel approves on any other word; a typo must not count as a vote.
            return TypedResults.Problem(statusCode: 400, title: "Unknown action",
                detail: $"action '{LogText.Clean(body.Action ?? "", 40)}' is not approve, reject, delete, archive or retry");
        }
        var approval = long.TryParse(body.Id, NumberStyles.None, CultureInfo.InvariantCulture, out var id)
            ? await book.GetAsync(id, ct)
            : await book.FindAsync(body.Identifier?.Trim() ?? "", ct);
        if (approval is null)
        {
            return TypedResults.Problem(statusCode: 404, title: "No such approval", detail: $"approval '{LogText.Clean(body.Identifier ?? body.Id ?? "", 200)}' not found");
        }
        switch (action)
        {
            case "" or "approve" or "reject":
                var vote = await gate.VoteAsync(user, approval.Id, action != "reject", ct);
                return vote.Outcome switch
                {
                    VoteOutcome.NotAllowed => TypedResults.Problem(statusCode: 403, title: "Permission denied", detail: vote.Reason),
                    VoteOutcome.NotFound => TypedResults.Problem(statusCode: 404, title: "No such approval", detail: vote.Reason),
                    // Keel answers a repeat vote, or one on a closed approval, with the approval unchanged: so does KeelPortal, saying why.
                    VoteOutcome.NotPending or VoteOutcome.AlreadyVoted => TypedResults.Ok(Shape((await book.GetAsync(approval.Id, ct))!, vote.Reason)),
                    _ => TypedResults.Ok(Shape((await book.GetAsync(approval.Id, ct))!)),
                };
            case "delete" or "archive":
                var archived = await gate.ArchiveAsync(voter, approval.Id, delete: action == "delete", ct);
                if (!archived.Allowed)
                {
                    return TypedResults.Problem(statusCode: 403, title: "Permission denied", detail: archived.Reason);
                }
                // Keel answers a delete with JSON null and an archive with the approval.
                return action == "delete" ? Results.Text("null", "application/json") : TypedResults.Ok(Shape((await book.GetAsync(approval.Id, ct))!));
            default:
                // KeelPortal's own action: a failed apply is tried again only when a person asks (an approver or an administrator).
                return await book.RetryAsync(approval.Id, voter, ct)
                    ? TypedResults.Ok(Shape((await book.GetAsync(approval.Id, ct))!))
                    : TypedResults.Problem(statusCode: 409, title: "Not retried", detail: $"{approval.Identifier} is {approval.State.ToString().ToLowerInvariant()}, not failed");
        }
    }

    private static async Task<Results<Ok<KeelUpdated>, ProblemHttpResult>> SetVotesAsync(
        VotesRequiredChange? body, ClaimsPrincipal user, ApprovalGate gate, ApprovalBook book, ClusterWorkloads cluster, WorkloadStore store, WorkloadSettingsEditor editor, CancellationToken ct)
    {
        if (body?.VotesRequired is not { } votes || votes is < 0 or > 100)
        {
            return TypedResults.Problem(statusCode: 400, title: "Invalid change", detail: "votesRequired should be between 0 and 100");
        }
        if (body.Provider != "kubernetes")
        {
            return TypedResults.Problem(statusCode: 400, title: "Invalid change", detail: "unsupported provider");
        }
        var identifier = body.Identifier?.Trim() ?? "";
        if (identifier.Length == 0)
        {
            return TypedResults.Problem(statusCode: 400, title: "Invalid change", detail: "identifier cannot be empty");
        }
        if (!WorkloadId.TryParse(identifier, out var kind, out _, out _))
        {
            return TypedResults.Problem(statusCode: 400, title: "Invalid change",
                detail: $"identifier '{LogText.Clean(identifier, 200)}' is not a workload's (deployment/<namespace>/<name>)");
        }
        var actor = user.Identity?.Name ?? "";
        var workload = await cluster.FindAsync(identifier, ct);
        if (workload is null && await store.GetAsync(identifier, ct) is null && (await book.ForWorkloadAsync(identifier, ct)).All(a => a.State != ApprovalState.Pending))
        {
            return TypedResults.Problem(statusCode: 404, title: "No such resource", detail: $"resource with identifier '{LogText.Clean(identifier, 200)}' not found");
        }
        var result = await gate.SetVotesRequiredAsync(actor, identifier, votes, ct);
        if (!result.Allowed)
        {
            return TypedResults.Problem(statusCode: 403, title: "Permission denied", detail: result.Reason);
        }
        // As Keel: the workload's own keel.sh/approvals changes too, so its next approval needs the same count.
        Dictionary<string, string?>? written = null;
        if (workload is not null)
        {
            written = new() { ["keel.sh/approvals"] = votes.ToString(CultureInfo.InvariantCulture) };
            var patched = await editor.SetAsync(identifier, written, actor, ct: ct);
            if (patched.Outcome != ApplyOutcome.Applied)
            {
                return TypedResults.Problem(statusCode: 500, title: "Update failed",
                    detail: $"{result.Changed} pending approval(s) now need {votes} vote(s), but the workload's keel.sh/approvals was not written: {patched.Reason}");
            }
        }
        return TypedResults.Ok(new KeelUpdated("updated", identifier, written, votes, result.Changed));
    }

    /// <summary>An approval in Keel's shape; <paramref name="notCounted"/> says why the caller's vote did not count.</summary>
    public static ApprovalView Shape(Approval a, string? notCounted = null)
    {
        ArgumentNullException.ThrowIfNull(a);
        var approvals = a.Votes.Where(v => v.Approve).OrderBy(v => v.CastAtUtc).ToList();
        var voters = new Dictionary<string, DateTime>(StringComparer.Ordinal);
        foreach (var v in approvals)
        {
            voters.TryAdd(v.Voter, Utc(v.CastAtUtc));
        }
        return new(
            a.Id.ToString(CultureInfo.InvariantCulture), a.Archived, WorkloadId.Provider(a.WorkloadId), a.Identifier, EventOf(a), a.Message,
            a.CurrentVersion, a.NewVersion, a.Digest ?? "", a.VotesRequired, approvals.Count, voters, a.State == ApprovalState.Rejected,
            Utc(a.DeadlineUtc), Utc(a.CreatedAtUtc), Utc(a.UpdatedAtUtc),
            a.Votes.Where(v => !v.Approve).OrderBy(v => v.CastAtUtc).Select(v => v.Voter).FirstOrDefault(), a.State.ToString(), a.Reason,
            a.VotesRequiredChangedBy is null ? null : new(a.VotesRequiredBefore, a.VotesRequiredChangedBy, Utc(a.VotesRequiredChangedAtUtc!.Value)),
            notCounted);
    }

    private static KeelEvent EventOf(Approval a)
    {
        var (host, name) = SplitHost(a.Repository);
        return new(new KeelRepository(host, name, a.NewVersion, a.Digest ?? ""), Utc(a.CreatedAtUtc), null);
    }

    /// <summary>A repository's registry host and path as Keel names them, read by the portal's own image grammar (Docker Hub is Keel's <c>index.docker.io</c>).</summary>
    internal static (string Host, string Name) SplitHost(string repository) =>
        Registries.ImageReference.TryParse(repository, out var reference, out _)
            ? (reference.Registry == Registries.ImageReference.DockerHub ? "index.docker.io" : reference.Registry, reference.Repository)
            : ("", repository);

    private static DateTime Utc(DateTime value) => DateTime.SpecifyKind(value, DateTimeKind.Utc);
}
