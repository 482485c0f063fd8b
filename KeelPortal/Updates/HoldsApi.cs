using System.Security.Claims;
using KeelPortal.Access;

namespace KeelPortal.Updates;

/// <summary><c>POST /v1/holds</c> body: the workload (<c>deployment/namespace/name</c>), why, and optionally until when.</summary>
public sealed record HoldRequest(string? Workload, string? Reason, DateTimeOffset? Until);

/// <summary><c>POST /v1/skips</c> body.</summary>
public sealed record SkipRequest(string? Workload, string? Version, string? Reason);

/// <summary><c>POST /v1/rollbacks</c> body: the workload, the earlier version to go back to, and why.</summary>
public sealed record RollbackRequest(string? Workload, string? Version, string? Reason);

/// <summary>
/// Holds, skips and rollbacks over HTTP, for scripts and chat bots: Approver or Admin, the actor is the authenticated caller.
/// Refusals are problem details: 422 for bad input, 404 for an unknown workload, 409 when nothing changed.
/// </summary>
public static class HoldsApi
{
    public static IEndpointRouteBuilder MapHoldsApi(this IEndpointRouteBuilder app)
    {
        var v1 = app.MapGroup("/v1").RequireAuthorization(AccessSetup.ApiPolicy).DisableAntiforgery();
        v1.MapGet("/holds", async (Holds holds, CancellationToken ct) =>
            Results.Ok((await holds.AllActiveAsync(ct)).Values.OrderBy(h => h.WorkloadId, StringComparer.Ordinal)
                .Select(h => new { workload = h.WorkloadId, h.Reason, heldBy = h.HeldBy, heldAt = h.HeldAtUtc, until = h.UntilUtc })));
        v1.MapPost("/holds", async (HoldRequest? body, ClaimsPrincipal user, Holds holds, CancellationToken ct) =>
            body?.Workload is not { Length: > 0 } workload
                ? Missing("workload", "send {\"workload\": \"deployment/<namespace>/<name>\", \"reason\": \"…\", \"until\": \"2026-12-07T09:00:00Z\"}")
                : Answer(await holds.HoldAsync(workload.Trim(), body.Reason, body.Until?.UtcDateTime, user.Identity!.Name!, ct)))
            .RequireAuthorization(AccessSetup.ApiVotePolicy);
        v1.MapDelete("/holds", async (string? workload, ClaimsPrincipal user, Holds holds, CancellationToken ct) =>
            string.IsNullOrWhiteSpace(workload)
                ? Missing("workload", "DELETE /v1/holds?workload=deployment/<namespace>/<name>")
                : Answer(await holds.ReleaseAsync(workload.Trim(), user.Identity!.Name!, ct)))
            .RequireAuthorization(AccessSetup.ApiVotePolicy);
        v1.MapGet("/skips", async (string? workload, Holds holds, CancellationToken ct) =>
            string.IsNullOrWhiteSpace(workload)
                ? Missing("workload", "GET /v1/skips?workload=deployment/<namespace>/<name>")
                : Results.Ok((await holds.SkipsAsync(workload.Trim(), ct)).Select(s => new { s.Version, s.Reason, skippedBy = s.SkippedBy, skippedAt = s.SkippedAtUtc })));
        v1.MapPost("/skips", async (SkipRequest? body, ClaimsPrincipal user, Holds holds, CancellationToken ct) =>
            body?.Workload is not { Length: > 0 } workload
                ? Missing("workload", "send {\"workload\": \"deployment/<namespace>/<name>\", \"version\": \"1.2.0\", \"reason\": \"…\"}")
                : Answer(await holds.SkipAsync(workload.Trim(), body.Version, body.Reason, user.Identity!.Name!, ct)))
            .RequireAuthorization(AccessSetup.ApiVotePolicy);
        v1.MapDelete("/skips", async (string? workload, string? version, ClaimsPrincipal user, Holds holds, CancellationToken ct) =>
            string.IsNullOrWhiteSpace(workload) || string.IsNullOrWhiteSpace(version)
                ? Missing("workload and version", "DELETE /v1/skips?workload=deployment/<namespace>/<name>&version=1.2.0")
                : Answer(await holds.UnskipAsync(workload.Trim(), version.Trim(), user.Identity!.Name!, ct)))
            .RequireAuthorization(AccessSetup.ApiVotePolicy);
        v1.MapGet("/rollbacks", async (string? workload, Rollbacks rollbacks, CancellationToken ct) =>
            string.IsNullOrWhiteSpace(workload)
                ? Missing("workload", "GET /v1/rollbacks?workload=deployment/<namespace>/<name>")
                : Results.Ok((await rollbacks.TargetsAsync(workload.Trim(), ct)).Select(t => new { t.Version, t.Digest, images = t.Images.Select(i => i.Image) })));
        v1.MapPost("/rollbacks", async (RollbackRequest? body, ClaimsPrincipal user, Rollbacks rollbacks, CancellationToken ct) =>
            body?.Workload is not { Length: > 0 } workload
                ? Missing("workload", "send {\"workload\": \"deployment/<namespace>/<name>\", \"version\": \"1.1.0\", \"reason\": \"…\"}")
                : Answer(await rollbacks.RequestAsync(workload.Trim(), body.Version, body.Reason, user.Identity!.Name!, ct)))
            .RequireAuthorization(AccessSetup.ApiVotePolicy);
        return app;
    }

    /// <summary>A 400 problem naming the missing field and how to send it (KeelPortal's own API endpoints share it).</summary>
    internal static IResult Missing(string what, string how) => Results.Problem(statusCode: 400, title: $"Missing {what}", detail: how);

    private static IResult Answer(HoldResult result) => result.Outcome switch
    {
        HoldOutcome.Done => Results.Ok(new { message = result.Message }),
        HoldOutcome.Invalid => Results.Problem(statusCode: 422, title: "Not accepted", detail: result.Message),
        HoldOutcome.NoSuchWorkload => Results.Problem(statusCode: 404, title: "No such workload", detail: result.Message),
        _ => Results.Problem(statusCode: 409, title: "Nothing changed", detail: result.Message),
    };
}
