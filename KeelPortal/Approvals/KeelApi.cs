using System.Security.Claims;
using KeelPortal.Access;
using KeelPortal.Audit;
using KeelPortal.Workloads;
using Microsoft.AspNetCore.Http.HttpResults;

namespace KeelPortal.Approvals;

/// <summary>Keel's <c>POST /v1/approvals</c> body. <c>voter</c> is accepted for compatibility and ignored.</summary>
public sealed record ApprovalAction(string? Identifier, string? Id, string? Action, string? Voter);

/// <summary>Keel's <c>PUT /v1/approvals</c> body.</summary>
public sealed record VotesRequiredChange(string? Identifier, string? Provider, int? VotesRequired);

/// <summary>An approval as Keel's <c>types.Approval</c> serialises it, plus KeelPortal's state, reason and the change of its votes.</summary>
public sealed record ApprovalView(
    string Id, string Provider, string Identifier, string Message, string CurrentVersion, string NewVersion, string Digest,
    int VotesRequired, VotesRequiredChangeView? VotesRequiredChange, int VotesReceived, IReadOnlyList<string> Voters, bool Rejected,
    string? RejectedBy, bool Archived, DateTime Deadline, DateTime CreatedAt, DateTime UpdatedAt, string State, string? Reason);

/// <summary>Who changed the votes an approval needs, from how many, and when.</summary>
public sealed record VotesRequiredChangeView(int? From, string By, DateTime At);

/// <summary>The answer to <c>PUT /v1/approvals</c>: how many pending approvals of the workload took the new count.</summary>
public sealed record VotesRequiredUpdated(string Identifier, int VotesRequired, int Updated);

/// <summary>A workload in Keel's <c>/v1/resources</c> list.</summary>
public sealed record ResourceView(
    string Provider, string Identifier, string Name, string Namespace, string Kind, string Policy, IReadOnlyList<string> Images, ResourceStatus Status);

public sealed record ResourceStatus(bool Tracked, IReadOnlyList<string> Errors);

/// <summary>A tracked image in Keel's <c>/v1/tracked</c> list.</summary>
public sealed record TrackedImageView(string Image, string Trigger, string PollSchedule, string Provider, string Namespace, string Policy);

/// <summary>
/// Keel's HTTP API, in Keel's JSON shapes, for the tools that already speak it. Every call is authenticated and the
/// voter is the authenticated caller, never a name in the body.
/// </summary>
public static class KeelApi
{
    public static IEndpointRouteBuilder MapKeelApi(this IEndpointRouteBuilder app)
    {
        var v1 = app.MapGroup("/v1").RequireAuthorization(AccessSetup.ApiPolicy).DisableAntiforgery().WithTags("Keel");
        v1.MapGet("/approvals", async (ApprovalBook book, CancellationToken ct) => TypedResults.Ok((await book.ListAsync(ct: ct)).Select(Shape).ToList()));
        v1.MapPost("/approvals", ActAsync).RequireAuthorization(AccessSetup.ApiVotePolicy);
        v1.MapPut("/approvals", SetVotesAsync).RequireAuthorization(AccessSetup.ApiAdminPolicy);
        v1.MapGet("/resources", async (WorkloadStore store, CancellationToken ct) => TypedResults.Ok((await store.AllAsync(ct)).Select(Resource).ToList()));
        v1.MapGet("/tracked", async (WorkloadStore store, CancellationToken ct) =>
            TypedResults.Ok((await store.AllAsync(ct)).Where(w => w.IsTracked).SelectMany(Tracked).ToList()));
        return app;
    }

    private static async Task<Results<Ok<ApprovalView>, ProblemHttpResult>> ActAsync(ApprovalAction? body, ClaimsPrincipal user, ApprovalBook book, ApprovalGate gate, CancellationToken ct)
    {
        var voter = user.Identity?.Name ?? "";
        if (body is null || (string.IsNullOrWhiteSpace(body.Identifier) && string.IsNullOrWhiteSpace(body.Id)))
        {
            return TypedResults.Problem(statusCode: 400, title: "Missing identifier", detail: "send {\"identifier\": \"deployment/<namespace>/<name>:<tag>\", \"action\": \"approve\"}");
        }
        var approval = long.TryParse(body.Id, out var id) ? await book.GetAsync(id, ct) : await book.FindAsync(body.Identifier!.Trim(), ct);
        if (approval is null)
        {
            return TypedResults.Problem(statusCode: 404, title: "No such approval", detail: $"no approval has the identifier '{body.Identifier ?? body.Id}'");
        }
        var action = (body.Action ?? "approve").Trim().ToLowerInvariant();
        switch (action)
        {
            case "approve" or "reject":
                var vote = await gate.VoteAsync(user, approval.Id, action == "approve", ct);
                return vote.Outcome switch
                {
                    VoteOutcome.NotAllowed => TypedResults.Problem(statusCode: 403, title: "Not allowed", detail: vote.Reason),
                    VoteOutcome.NotFound => TypedResults.Problem(statusCode: 404, title: "No such approval", detail: vote.Reason),
                    VoteOutcome.NotPending or VoteOutcome.AlreadyVoted => TypedResults.Problem(statusCode: 409, title: "Vote not counted", detail: vote.Reason),
                    _ => TypedResults.Ok(Shape((await book.GetAsync(approval.Id, ct))!)),
                };
            case "delete" or "archive":
                var archived = await gate.ArchiveAsync(voter, approval.Id, delete: action == "delete", ct);
                return archived.Allowed
                    ? TypedResults.Ok(Shape((await book.GetAsync(approval.Id, ct))!))
                    : TypedResults.Problem(statusCode: 403, title: "Not allowed", detail: archived.Reason);
            case "retry":
                // KeelPortal's own action: a failed apply is tried again only when a person asks (an approver or an administrator).
                return await book.RetryAsync(approval.Id, voter, ct)
                    ? TypedResults.Ok(Shape((await book.GetAsync(approval.Id, ct))!))
                    : TypedResults.Problem(statusCode: 409, title: "Not retried", detail: $"{approval.Identifier} is {approval.State.ToString().ToLowerInvariant()}, not failed");
            default:
                return TypedResults.Problem(statusCode: 400, title: "Unknown action",
                    detail: $"action '{LogText.Clean(body.Action ?? "", 40)}' is not approve, reject, delete, archive or retry");
        }
    }

    private static async Task<Results<Ok<VotesRequiredUpdated>, ProblemHttpResult>> SetVotesAsync(VotesRequiredChange? body, ClaimsPrincipal user, ApprovalGate gate, CancellationToken ct)
    {
        if (body?.VotesRequired is not { } votes || votes < 0 || !WorkloadId.TryParse(body.Identifier?.Trim().ToLowerInvariant(), out _, out _, out _))
        {
            return TypedResults.Problem(statusCode: 400, title: "Invalid change",
                detail: "send {\"identifier\": \"deployment/<namespace>/<name>\", \"provider\": \"kubernetes\", \"votesRequired\": <n ≥ 0>}");
        }
        var result = await gate.SetVotesRequiredAsync(user.Identity?.Name ?? "", body.Identifier!.Trim().ToLowerInvariant(), votes, ct);
        return result.Allowed
            ? TypedResults.Ok(new VotesRequiredUpdated(body.Identifier, votes, result.Changed))
            : TypedResults.Problem(statusCode: 403, title: "Not allowed", detail: result.Reason);
    }

    public static ApprovalView Shape(Approval a) => new(
        a.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), WorkloadId.Provider(a.WorkloadId), a.Identifier, a.Message,
        a.CurrentVersion, a.NewVersion, a.Digest ?? "", a.VotesRequired,
        a.VotesRequiredChangedBy is null ? null
            : new(a.VotesRequiredBefore, a.VotesRequiredChangedBy, DateTime.SpecifyKind(a.VotesRequiredChangedAtUtc!.Value, DateTimeKind.Utc)),
        a.Votes.Count(v => v.Approve), [.. a.Votes.Where(v => v.Approve).OrderBy(v => v.CastAtUtc).Select(v => v.Voter)],
        a.State == ApprovalState.Rejected, a.Votes.Where(v => !v.Approve).OrderBy(v => v.CastAtUtc).Select(v => v.Voter).FirstOrDefault(),
        a.Archived, DateTime.SpecifyKind(a.DeadlineUtc, DateTimeKind.Utc), DateTime.SpecifyKind(a.CreatedAtUtc, DateTimeKind.Utc),
        DateTime.SpecifyKind(a.UpdatedAtUtc, DateTimeKind.Utc), a.State.ToString(), a.Reason);

    private static ResourceView Resource(WorkloadSnapshot w) => new(
        WorkloadId.Provider(w.Id), w.Id, w.Name, w.Namespace, w.Kind.ToString().ToLowerInvariant(), w.Policy,
        [.. w.Containers.Select(c => c.Image)], new(w.IsTracked, w.Errors));

    private static IEnumerable<TrackedImageView> Tracked(WorkloadSnapshot w) => w.Containers.Select(c => new TrackedImageView(
        c.Image, w.Trigger == TriggerKind.Poll ? "poll" : "default", w.Trigger == TriggerKind.Poll ? w.PollSchedule ?? "" : "",
        WorkloadId.Provider(w.Id), w.Namespace, w.Policy));
}
