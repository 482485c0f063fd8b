using System.Security.Claims;
using KeelPortal.Access;
using KeelPortal.Approvals;
using KeelPortal.Data;

namespace KeelPortal.Delivery;

/// <summary><c>POST /v1/approvals/{id}/override</c> body: why this one update may go outside its windows and freezes.</summary>
public sealed record OverrideRequest(string? Reason);

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
        var v1 = app.MapGroup("/v1").RequireAuthorization(AccessSetup.ApiPolicy).DisableAntiforgery();
        v1.MapGet("/windows", async (DeliverySchedule schedule, TimeProvider time, CancellationToken ct) =>
            Results.Ok((await schedule.AllAsync(ct)).Windows.Select(w => new
            {
                w.Name, days = w.Problem is null ? w.Rule.DaysText : null, hours = w.Problem is null ? w.Rule.HoursText : null,
                timeZone = w.Problem is null ? w.Rule.Zone.Id : null, scope = w.Scope.ToString(),
                source = w.Source, createdBy = w.CreatedBy, open = w.Problem is null && w.Rule.IsOpen(time.GetUtcNow().UtcDateTime), problem = w.Problem,
            })));
        v1.MapPost("/windows", async (WindowInput? body, ClaimsPrincipal user, DeliverySchedule schedule, CancellationToken ct) =>
            body is null
                ? Updates.HoldsApi.Missing("window", "send {\"name\": \"office-hours\", \"days\": \"Mon-Thu\", \"hours\": \"09:00-16:00\", \"timeZone\": \"Europe/Berlin\", \"scope\": \"global\"}")
                : Answer(await schedule.SaveWindowAsync(body, user.Identity!.Name!, ct)))
            .RequireAuthorization(AccessSetup.ApiAdminPolicy);
        v1.MapDelete("/windows/{name}", async (string name, ClaimsPrincipal user, DeliverySchedule schedule, CancellationToken ct) =>
            Answer(await schedule.DeleteWindowAsync(name, user.Identity!.Name!, ct)))
            .RequireAuthorization(AccessSetup.ApiAdminPolicy);
        v1.MapGet("/freezes", async (DeliverySchedule schedule, CancellationToken ct) =>
            Results.Ok((await schedule.AllAsync(ct)).Freezes.Select(f => new
            {
                f.Id, f.Reason, starts = f.StartsAtUtc, ends = f.EndsAtUtc, scope = f.Scope.ToString(), source = f.Source, createdBy = f.CreatedBy,
            })));
        v1.MapPost("/freezes", async (FreezeInput? body, ClaimsPrincipal user, DeliverySchedule schedule, CancellationToken ct) =>
            body is null
                ? Updates.HoldsApi.Missing("freeze", "send {\"reason\": \"year-end\", \"starts\": \"2026-12-20T00:00:00+01:00\", \"ends\": \"2027-01-04T00:00:00+01:00\", \"scope\": \"global\"}")
                : Answer(await schedule.AddFreezeAsync(body, user.Identity!.Name!, ct)))
            .RequireAuthorization(AccessSetup.ApiAdminPolicy);
        v1.MapDelete("/freezes/{id:long}", async (long id, ClaimsPrincipal user, DeliverySchedule schedule, CancellationToken ct) =>
            Answer(await schedule.RemoveFreezeAsync(id, user.Identity!.Name!, ct)))
            .RequireAuthorization(AccessSetup.ApiAdminPolicy);
        v1.MapGet("/schedule", async (string? workload, DeliverySchedule schedule, CancellationToken ct) =>
            string.IsNullOrWhiteSpace(workload)
                ? Updates.HoldsApi.Missing("workload", "GET /v1/schedule?workload=deployment/<namespace>/<name>")
                : Results.Ok(Shape(await schedule.WhenAsync(workload.Trim(), ct))));
        v1.MapPost("/approvals/{id:long}/override", async (long id, OverrideRequest? body, ClaimsPrincipal user, ApprovalGate gate, CancellationToken ct) =>
                Overridden(await gate.OverrideScheduleAsync(user.Identity!.Name!, id, body?.Reason, ct)))
            .RequireAuthorization(AccessSetup.ApiAdminPolicy);
        return app;
    }

    private static object Shape(DeliveryVerdict verdict) => new { now = verdict.Now, at = verdict.AtUtc, reason = verdict.Reason, windows = verdict.Windows };

    private static IResult Overridden(VoteResult result) => result.Outcome switch
    {
        VoteOutcome.Counted => Results.Ok(new { message = result.Reason }),
        VoteOutcome.NotFound => Results.Problem(statusCode: 404, title: "No such approval", detail: result.Reason),
        VoteOutcome.NotPending => Results.Problem(statusCode: 409, title: "Nothing changed", detail: result.Reason),
        VoteOutcome.NotAllowed => Results.Problem(statusCode: 403, title: "Not allowed", detail: result.Reason),
        _ => Results.Problem(statusCode: 422, title: "Not accepted", detail: result.Reason),
    };

    private static IResult Answer(DeliveryResult result) => result.Outcome switch
    {
        DeliveryOutcome.Done => Results.Ok(new { message = result.Message }),
        DeliveryOutcome.Invalid => Results.Problem(statusCode: 422, title: "Not accepted", detail: result.Message),
        DeliveryOutcome.NotFound => Results.Problem(statusCode: 404, title: "Not found", detail: result.Message),
        _ => Results.Problem(statusCode: 409, title: "Nothing changed", detail: result.Message),
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
