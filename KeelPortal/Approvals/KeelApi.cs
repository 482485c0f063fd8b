using System.Security.Claims;
using KeelPortal.Access;
using KeelPortal.Audit;
using KeelPortal.Workloads;

namespace KeelPortal.Approvals;

/// <summary>Keel's <c>POST /v1/approvals</c> body. <c>voter</c> is accepted for compatibility and ignored.</summary>
public sealed record ApprovalAction(string? Identifier, string? Id, string? Action, string? Voter);

/// <summary>Keel's <c>PUT /v1/approvals</c> body.</summary>
public sealed record VotesRequiredChange(string? Identifier, string? Provider, int? VotesRequired);

/// <summary>
/// Keel's HTTP API, in Keel's JSON shapes, for the tools that already speak it. Every call is authenticated and the
/// voter is the authenticated caller, never a name in the body.
/// </summary>
public static class KeelApi
{
    public static IEndpointRouteBuilder MapKeelApi(this IEndpointRouteBuilder app)
    {
        var v1 = app.MapGroup("/v1").RequireAuthorization(AccessSetup.ApiPolicy).DisableAntiforgery();
        v1.MapGet("/approvals", async (ApprovalBook book, CancellationToken ct) => Results.Ok((await book.ListAsync(ct: ct)).Select(Shape)));
        v1.MapPost("/approvals", ActAsync).RequireAuthorization(AccessSetup.ApiVotePolicy);
        v1.MapPut("/approvals", SetVotesAsync).RequireAuthorization(AccessSetup.ApiAdminPolicy);
        v1.MapGet("/resources", async (WorkloadStore store, CancellationToken ct) => Results.Ok((await store.AllAsync(ct)).Select(Resource)));
        v1.MapGet("/tracked", async (WorkloadStore store, CancellationToken ct) =>
            Results.Ok((await store.AllAsync(ct)).Where(w => w.IsTracked).SelectMany(Tracked)));
        return app;
    }

    private static async Task<IResult> ActAsync(ApprovalAction? body, ClaimsPrincipal user, ApprovalBook book, ApprovalGate gate, CancellationToken ct)
    {
        var voter = user.Identity?.Name ?? "";
        if (body is null || (string.IsNullOrWhiteSpace(body.Identifier) && string.IsNullOrWhiteSpace(body.Id)))
        {
            return Results.Problem(statusCode: 400, title: "Missing identifier", detail: "send {\"identifier\": \"deployment/<namespace>/<name>:<tag>\", \"action\": \"approve\"}");
        }
        var approval = long.TryParse(body.Id, out var id) ? await book.GetAsync(id, ct) : await book.FindAsync(body.Identifier!.Trim(), ct);
        if (approval is null)
        {
            return Results.Problem(statusCode: 404, title: "No such approval", detail: $"no approval has the identifier '{body.Identifier ?? body.Id}'");
        }
        var action = (body.Action ?? "approve").Trim().ToLowerInvariant();
        switch (action)
        {
            case "approve" or "reject":
                var vote = await gate.VoteAsync(user, approval.Id, action == "approve", ct);
                return vote.Outcome switch
                {
                    VoteOutcome.NotAllowed => Results.Problem(statusCode: 403, title: "Not allowed", detail: vote.Reason),
                    VoteOutcome.NotFound => Results.Problem(statusCode: 404, title: "No such approval", detail: vote.Reason),
                    VoteOutcome.NotPending or VoteOutcome.AlreadyVoted => Results.Problem(statusCode: 409, title: "Vote not counted", detail: vote.Reason),
                    _ => Results.Ok(Shape((await book.GetAsync(approval.Id, ct))!)),
                };
            case "delete" or "archive":
                var archived = await gate.ArchiveAsync(voter, approval.Id, delete: action == "delete", ct);
                return archived.Allowed
                    ? Results.Ok(Shape((await book.GetAsync(approval.Id, ct))!))
                    : Results.Problem(statusCode: 403, title: "Not allowed", detail: archived.Reason);
            case "retry":
                // KeelPortal's own action: a failed apply is tried again only when a person asks (an approver or an administrator).
                return await book.RetryAsync(approval.Id, voter, ct)
                    ? Results.Ok(Shape((await book.GetAsync(approval.Id, ct))!))
                    : Results.Problem(statusCode: 409, title: "Not retried", detail: $"{approval.Identifier} is {approval.State.ToString().ToLowerInvariant()}, not failed");
            default:
                return Results.Problem(statusCode: 400, title: "Unknown action",
                    detail: $"action '{LogText.Clean(body.Action ?? "", 40)}' is not approve, reject, delete, archive or retry");
        }
    }

    private static async Task<IResult> SetVotesAsync(VotesRequiredChange? body, ClaimsPrincipal user, ApprovalGate gate, CancellationToken ct)
    {
        if (body?.VotesRequired is not { } votes || votes < 0 || !WorkloadId.TryParse(body.Identifier?.Trim().ToLowerInvariant(), out _, out _, out _))
        {
            return Results.Problem(statusCode: 400, title: "Invalid change",
                detail: "send {\"identifier\": \"deployment/<namespace>/<name>\", \"provider\": \"kubernetes\", \"votesRequired\": <n ≥ 0>}");
        }
        var result = await gate.SetVotesRequiredAsync(user.Identity?.Name ?? "", body.Identifier!.Trim().ToLowerInvariant(), votes, ct);
        return result.Allowed
            ? Results.Ok(new { identifier = body.Identifier, votesRequired = votes, updated = result.Changed })
            : Results.Problem(statusCode: 403, title: "Not allowed", detail: result.Reason);
    }

    /// <summary>An approval as Keel's <c>types.Approval</c> serialises it, plus KeelPortal's state and voters' choices.</summary>
    public static object Shape(Approval a) => new
    {
        id = a.Id.ToString(System.Globalization.CultureInfo.InvariantCulture),
        provider = WorkloadId.Provider(a.WorkloadId),
        identifier = a.Identifier,
        message = a.Message,
        currentVersion = a.CurrentVersion,
        newVersion = a.NewVersion,
        digest = a.Digest ?? "",
        votesRequired = a.VotesRequired,
        votesRequiredChange = a.VotesRequiredChangedBy is null ? null : new
        {
            from = a.VotesRequiredBefore,
            by = a.VotesRequiredChangedBy,
            at = DateTime.SpecifyKind(a.VotesRequiredChangedAtUtc!.Value, DateTimeKind.Utc),
        },
        votesReceived = a.Votes.Count(v => v.Approve),
        voters = a.Votes.Where(v => v.Approve).OrderBy(v => v.CastAtUtc).Select(v => v.Voter).ToList(),
        rejected = a.State == ApprovalState.Rejected,
        rejectedBy = a.Votes.Where(v => !v.Approve).OrderBy(v => v.CastAtUtc).Select(v => v.Voter).FirstOrDefault(),
        archived = a.Archived,
        deadline = DateTime.SpecifyKind(a.DeadlineUtc, DateTimeKind.Utc),
        createdAt = DateTime.SpecifyKind(a.CreatedAtUtc, DateTimeKind.Utc),
        updatedAt = DateTime.SpecifyKind(a.UpdatedAtUtc, DateTimeKind.Utc),
        state = a.State.ToString(),
        reason = a.Reason,
    };

    private static object Resource(WorkloadSnapshot w) => new
    {
        provider = WorkloadId.Provider(w.Id),
        identifier = w.Id,
        name = w.Name,
        @namespace = w.Namespace,
        kind = w.Kind.ToString().ToLowerInvariant(),
        policy = w.Policy,
        images = w.Containers.Select(c => c.Image).ToList(),
        status = new { tracked = w.IsTracked, errors = w.Errors },
    };

    private static IEnumerable<object> Tracked(WorkloadSnapshot w) => w.Containers.Select(c => (object)new
    {
        image = c.Image,
        trigger = w.Trigger == TriggerKind.Poll ? "poll" : "default",
        pollSchedule = w.Trigger == TriggerKind.Poll ? w.PollSchedule ?? "" : "",
        provider = WorkloadId.Provider(w.Id),
        @namespace = w.Namespace,
        policy = w.Policy,
    });
}
