using System.Security.Claims;
using KeelPortal.Access;
using KeelPortal.Approvals;
using KeelPortal.Data;
using Microsoft.AspNetCore.Http.HttpResults;

namespace KeelPortal.Delivery;

/// <summary><c>POST /v1/approvals/{id}/override</c> body: why this one update may go outside its windows and freezes.</summary>
public sealed record OverrideRequest(string? Reason);

/// <summary>A change window, as <c>GET /v1/windows</c> lists it (days, hours and zone null when it cannot be read; then the problem says why).</summary>
public sealed record WindowView(
    string Name, string? Days, string? Hours, string? TimeZone, string Scope, string Source, string? CreatedBy, bool Open, string? Problem);

/// <summary>A freeze, as <c>GET /v1/freezes</c> lists it.</summary>
public sealed record FreezeView(long? Id, string Reason, DateTime Starts, DateTime Ends, string Scope, string Source, string? CreatedBy);

/// <summary>When a workload's update may be applied (<c>GET /v1/schedule</c>): now, or at <c>at</c> and why not sooner.</summary>
public sealed record ScheduleView(bool Now, DateTime At, string? Reason, IReadOnlyList<string> Windows);

public static class DeliverySetup
{
    public static WebApplicationBuilder AddDelivery(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<DeliveryOptions>().BindConfiguration(DeliveryOptions.Section).ValidateOnStart();
        builder.Services.AddSingleton<Microsoft.Extensions.Options.IValidateOptions<DeliveryOptions>, DeliveryOptionsValidation>();
        builder.Services.AddSingleton<DeliverySchedule>();
        builder.Services.AddHostedService<DeliveryRulesFreshness>();
        builder.Services.Configure<OutboxTypes>(t => t.Add<DeliveryChanged>());
        return builder;
    }

    /// <summary>
    /// Windows, freezes and overrides over HTTP: anyone signed in reads them; an Admin changes them (audited).
    /// Refusals are problem details: 422 for bad input, 404 for an unknown one, 409 when nothing changed.
    /// </summary>
    public static WebApplication MapDelivery(this WebApplication app)
    {
        var v1 = app.MapGroup("/v1").RequireAuthorization(AccessSetup.ApiPolicy).DisableAntiforgery().WithTags("Windows and freezes");
        v1.MapGet("/windows", async (DeliverySchedule schedule, TimeProvider time, CancellationToken ct) =>
            TypedResults.Ok((await schedule.AllAsync(ct)).Windows.Select(w => new WindowView(
                w.Name, w.Problem is null ? w.Rule.DaysText : null, w.Problem is null ? w.Rule.HoursText : null,
                w.Problem is null ? w.Rule.Zone.Id : null, w.Scope.ToString(), w.Source, w.CreatedBy,
                w.Problem is null && w.Rule.IsOpen(time.GetUtcNow().UtcDateTime), w.Problem)).ToList()));
        v1.MapPost("/windows", async Task<Results<Ok<ApiMessage>, ProblemHttpResult>> (WindowInput? body, ClaimsPrincipal user, DeliverySchedule schedule, CancellationToken ct) =>
            body is null
                ? ApiAnswers.Missing("window", "send {\"name\": \"office-hours\", \"days\": \"Mon-Thu\", \"hours\": \"09:00-16:00\", \"timeZone\": \"Europe/Berlin\", \"scope\": \"global\"}")
                : Answer(await schedule.SaveWindowAsync(body, user.Identity!.Name!, ct)))
            .RequireAuthorization(AccessSetup.ApiAdminPolicy);
        v1.MapDelete("/windows/{name}", async Task<Results<Ok<ApiMessage>, ProblemHttpResult>> (string name, ClaimsPrincipal user, DeliverySchedule schedule, CancellationToken ct) =>
            Answer(await schedule.DeleteWindowAsync(name, user.Identity!.Name!, ct)))
            .RequireAuthorization(AccessSetup.ApiAdminPolicy);
        v1.MapGet("/freezes", async (DeliverySchedule schedule, CancellationToken ct) =>
            TypedResults.Ok((await schedule.AllAsync(ct)).Freezes.Select(f => new FreezeView(
                f.Id, f.Reason, f.StartsAtUtc, f.EndsAtUtc, f.Scope.ToString(), f.Source, f.CreatedBy)).ToList()));
        v1.MapPost("/freezes", async Task<Results<Ok<ApiMessage>, ProblemHttpResult>> (FreezeInput? body, ClaimsPrincipal user, DeliverySchedule schedule, CancellationToken ct) =>
            body is null
                ? ApiAnswers.Missing("freeze", "send {\"reason\": \"year-end\", \"starts\": \"2026-12-20T00:00:00+01:00\", \"ends\": \"2027-01-04T00:00:00+01:00\", \"scope\": \"global\"}")
                : Answer(await schedule.AddFreezeAsync(body, user.Identity!.Name!, ct)))
            .RequireAuthorization(AccessSetup.ApiAdminPolicy);
        v1.MapDelete("/freezes/{id:long}", async Task<Results<Ok<ApiMessage>, ProblemHttpResult>> (long id, ClaimsPrincipal user, DeliverySchedule schedule, CancellationToken ct) =>
            Answer(await schedule.RemoveFreezeAsync(id, user.Identity!.Name!, ct)))
            .RequireAuthorization(AccessSetup.ApiAdminPolicy);
        v1.MapGet("/schedule", async Task<Results<Ok<ScheduleView>, ProblemHttpResult>> (string? workload, DeliverySchedule schedule, CancellationToken ct) =>
            string.IsNullOrWhiteSpace(workload)
                ? ApiAnswers.Missing("workload", "GET /v1/schedule?workload=deployment/<namespace>/<name>")
                : TypedResults.Ok(Shape(await schedule.WhenAsync(workload.Trim(), ct))));
        v1.MapPost("/approvals/{id:long}/override", async Task<Results<Ok<ApiMessage>, ProblemHttpResult>> (long id, OverrideRequest? body, ClaimsPrincipal user, ApprovalGate gate, CancellationToken ct) =>
                Overridden(await gate.OverrideScheduleAsync(user.Identity!.Name!, id, body?.Reason, ct)))
            .RequireAuthorization(AccessSetup.ApiAdminPolicy);
        return app;
    }

    private static ScheduleView Shape(DeliveryVerdict verdict) => new(verdict.Now, verdict.AtUtc, verdict.Reason, verdict.Windows);

    private static Results<Ok<ApiMessage>, ProblemHttpResult> Overridden(VoteResult result) => result.Outcome switch
    {
        VoteOutcome.Counted => ApiAnswers.Done(result.Reason),
        VoteOutcome.NotFound => TypedResults.Problem(statusCode: 404, title: "No such approval", detail: result.Reason),
        VoteOutcome.NotPending => TypedResults.Problem(statusCode: 409, title: "Nothing changed", detail: result.Reason),
        VoteOutcome.NotAllowed => TypedResults.Problem(statusCode: 403, title: "Not allowed", detail: result.Reason),
        _ => TypedResults.Problem(statusCode: 422, title: "Not accepted", detail: result.Reason),
    };

    private static Results<Ok<ApiMessage>, ProblemHttpResult> Answer(DeliveryResult result) => result.Outcome switch
    {
        DeliveryOutcome.Done => ApiAnswers.Done(result.Message),
        DeliveryOutcome.Invalid => TypedResults.Problem(statusCode: 422, title: "Not accepted", detail: result.Message),
        DeliveryOutcome.NotFound => TypedResults.Problem(statusCode: 404, title: "Not found", detail: result.Message),
        _ => TypedResults.Problem(statusCode: 409, title: "Nothing changed", detail: result.Message),
    };
}

/// <summary>Every replica forgets its kept windows and freezes when any replica changes them.</summary>
internal sealed class DeliveryRulesFreshness(EventHub hub, DeliverySchedule schedule) : IHostedService, IDisposable
{
    private IDisposable? subscription;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        subscription = hub.Subscribe<DeliveryChanged>(_ => schedule.Forget());
        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken)
    {
        subscription?.Dispose();
        return Task.CompletedTask;
    }

    public void Dispose() => subscription?.Dispose();
}
