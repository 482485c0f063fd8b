using KeelPortal.Approvals;
using KeelPortal.Data;
using KeelPortal.Workloads;

namespace KeelPortal.Updates;

public static class UpdatesSetup
{
    public static WebApplicationBuilder AddUpdates(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<CredentialResolver>();
        builder.Services.AddSingleton<TagFacts>();
        builder.Services.AddSingleton<WorkloadChecks>();
        builder.Services.AddSingleton<WorkloadBoard>();
        builder.Services.AddSingleton<ApprovalPicture>();
        builder.Services.AddSingleton<DigestConfirmation>();
        builder.Services.AddSingleton<Holds>();
        builder.Services.AddSingleton<WorkloadLocks>();
        builder.Services.AddSingleton<Rollbacks>();
        builder.Services.AddHandler<RolloutFinished, Rollbacks>(r => r.State is RolloutState.Failed or RolloutState.TimedOut);
        builder.Services.AddSingleton<UpdatePlanner>();
        builder.Services.AddSingleton<CandidateReport>();
        builder.Services.AddTransient<MaintenanceJob>();
        builder.Services.AddHostedService<MaintenanceSchedule>();
        builder.Services.AddHandler<ApprovalApproved, ApplyHandler>();
        return builder;
    }

    public static WebApplication MapUpdates(this WebApplication app)
    {
        app.MapHoldsApi();
        return app;
    }
}
