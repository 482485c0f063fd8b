using System.Security.Claims;
using KeelPortal.Access;
using Microsoft.AspNetCore.Http.HttpResults;

namespace KeelPortal.Updates;

/// <summary><c>POST /v1/holds</c> body: the workload (<c>deployment/namespace/name</c>), why, and optionally until when.</summary>
public sealed record HoldRequest(string? Workload, string? Reason, DateTimeOffset? Until);

/// <summary><c>POST /v1/skips</c> body.</summary>
public sealed record SkipRequest(string? Workload, string? Version, string? Reason);

/// <summary><c>POST /v1/rollbacks</c> body: the workload, the earlier version to go back to, and why.</summary>
public sealed record RollbackRequest(string? Workload, string? Version, string? Reason);

/// <summary>An active hold, as <c>GET /v1/holds</c> lists it.</summary>
public sealed record HoldView(string Workload, string Reason, string HeldBy, DateTime HeldAt, DateTime? Until);

/// <summary>A version skipped for a workload, as <c>GET /v1/skips</c> lists it.</summary>
public sealed record SkipView(string Version, string? Reason, string SkippedBy, DateTime SkippedAt);

/// <summary>An earlier version a workload may go back to, as <c>GET /v1/rollbacks</c> lists it.</summary>
public sealed record RollbackTargetView(string Version, string? Digest, IReadOnlyList<string> Images);

/// <summary>
/// Holds, skips and rollbacks over HTTP, for scripts and chat bots: Approver or Admin, the actor is the authenticated caller.
/// Refusals are problem details: 422 for bad input, 404 for an unknown workload, 409 when nothing changed.
/// </summary>
public static class HoldsApi
{
    public static IEndpointRouteBuilder MapHoldsApi(this IEndpointRouteBuilder app)
    {
        var v1 = app.MapGroup("/v1").RequireAuthorization(AccessSetup.ApiPolicy).DisableAntiforgery().WithTags("Holds, skips and rollbacks");
        v1.MapGet("/holds", async (Holds holds, CancellationToken ct) =>
            TypedResults.Ok((await holds.AllActiveAsync(ct)).Values.OrderBy(h => h.WorkloadId, StringComparer.Ordinal)
                .Select(h => new HoldView(h.WorkloadId, h.Reason, h.HeldBy, h.HeldAtUtc, h.UntilUtc)).ToList()));
        v1.MapPost("/holds", async Task<Results<Ok<ApiMessage>, ProblemHttpResult>> (HoldRequest? body, ClaimsPrincipal user, Holds holds, CancellationToken ct) =>
            body?.Workload is not { Length: > 0 } workload
                ? Missing("workload", "send {\"workload\": \"deployment/<namespace>/<name>\", \"reason\": \"…\", \"until\": \"2026-12-07T09:00:00Z\"}")
                : Answer(await holds.HoldAsync(workload.Trim(), body.Reason, body.Until?.UtcDateTime, user.Identity!.Name!, ct)))
            .RequireAuthorization(AccessSetup.ApiVotePolicy);
        v1.MapDelete("/holds", async Task<Results<Ok<ApiMessage>, ProblemHttpResult>> (string? workload, ClaimsPrincipal user, Holds holds, CancellationToken ct) =>
            string.IsNullOrWhiteSpace(workload)
                ? Missing("workload", "DELETE /v1/holds?workload=deployment/<namespace>/<name>")
                : Answer(await holds.ReleaseAsync(workload.Trim(), user.Identity!.Name!, ct)))
            .RequireAuthorization(AccessSetup.ApiVotePolicy);
        v1.MapGet("/skips", async Task<Results<Ok<List<SkipView>>, ProblemHttpResult>> (string? workload, Holds holds, CancellationToken ct) =>
            string.IsNullOrWhiteSpace(workload)
                ? Missing("workload", "GET /v1/skips?workload=deployment/<namespace>/<name>")
                : TypedResults.Ok((await holds.SkipsAsync(workload.Trim(), ct)).Select(s => new SkipView(s.Version, s.Reason, s.SkippedBy, s.SkippedAtUtc)).ToList()));
        v1.MapPost("/skips", async Task<Results<Ok<ApiMessage>, ProblemHttpResult>> (SkipRequest? body, ClaimsPrincipal user, Holds holds, CancellationToken ct) =>
            body?.Workload is not { Length: > 0 } workload
                ? Missing("workload", "send {\"workload\": \"deployment/<namespace>/<name>\", \"version\": \"1.2.0\", \"reason\": \"…\"}")
                : Answer(await holds.SkipAsync(workload.Trim(), body.Version, body.Reason, user.Identity!.Name!, ct)))
            .RequireAuthorization(AccessSetup.ApiVotePolicy);
        v1.MapDelete("/skips", async Task<Results<Ok<ApiMessage>, ProblemHttpResult>> (string? workload, string? version, ClaimsPrincipal user, Holds holds, CancellationToken ct) =>
            string.IsNullOrWhiteSpace(workload) || string.IsNullOrWhiteSpace(version)
                ? Missing("workload and version", "DELETE /v1/skips?workload=deployment/<namespace>/<name>&version=1.2.0")
                : Answer(await holds.UnskipAsync(workload.Trim(), version.Trim(), user.Identity!.Name!, ct)))
            .RequireAuthorization(AccessSetup.ApiVotePolicy);
        v1.MapGet("/rollbacks", async Task<Results<Ok<List<RollbackTargetView>>, ProblemHttpResult>> (string? workload, Rollbacks rollbacks, CancellationToken ct) =>
            string.IsNullOrWhiteSpace(workload)
                ? Missing("workload", "GET /v1/rollbacks?workload=deployment/<namespace>/<name>")
                : TypedResults.Ok((await rollbacks.TargetsAsync(workload.Trim(), ct)).Select(t => new RollbackTargetView(t.Version, t.Digest, [.. t.Images.Select(i => i.Image)])).ToList()));
        v1.MapPost("/rollbacks", async Task<Results<Ok<ApiMessage>, ProblemHttpResult>> (RollbackRequest? body, ClaimsPrincipal user, Rollbacks rollbacks, CancellationToken ct) =>
            body?.Workload is not { Length: > 0 } workload
                ? Missing("workload", "send {\"workload\": \"deployment/<namespace>/<name>\", \"version\": \"1.1.0\", \"reason\": \"…\"}")
                : Answer(await rollbacks.RequestAsync(workload.Trim(), body.Version, body.Reason, user.Identity!.Name!, ct)))
            .RequireAuthorization(AccessSetup.ApiVotePolicy);
        return app;
    }

    private static ProblemHttpResult Missing(string what, string how) => ApiAnswers.Missing(what, how);

    private static Results<Ok<ApiMessage>, ProblemHttpResult> Answer(HoldResult result) => result.Outcome switch
    {
        HoldOutcome.Done => ApiAnswers.Done(result.Message),
        HoldOutcome.Invalid => TypedResults.Problem(statusCode: 422, title: "Not accepted", detail: result.Message),
        HoldOutcome.NoSuchWorkload => TypedResults.Problem(statusCode: 404, title: "No such workload", detail: result.Message),
        _ => TypedResults.Problem(statusCode: 409, title: "Nothing changed", detail: result.Message),
    };
}
