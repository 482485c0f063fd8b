using KeelPortal.Approvals;
using KeelPortal.Data;

namespace KeelPortal.Updates;

public static class UpdatesSetup
{
    public static WebApplicationBuilder AddUpdates(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<UpdatesOptions>()
            .BindConfiguration(UpdatesOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddSingleton<CredentialResolver>();
        builder.Services.AddSingleton<TagFacts>();
        builder.Services.AddSingleton<WorkloadChecks>();
        builder.Services.AddSingleton<WorkloadBoard>();
        builder.Services.AddSingleton<ApprovalPicture>();
        builder.Services.AddSingleton<DigestConfirmation>();
        builder.Services.AddSingleton<Holds>();
        builder.Services.AddSingleton<WorkloadLocks>();
        builder.Services.AddSingleton<Rollbacks>();
        builder.Services.AddSingleton<IEventWork>(sp => sp.GetRequiredService<Rollbacks>());
        builder.Services.Configure<OutboxTypes>(Rollbacks.Register);
        builder.Services.AddSingleton<UpdatePlanner>();
        builder.Services.AddSingleton<CandidateReport>();
        builder.Services.AddTransient<ApplyJob>();
        builder.Services.AddTransient<RolloutJob>();
        builder.Services.AddTransient<MaintenanceJob>();
        builder.Services.AddSingleton<ApplyDispatcher>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<ApplyDispatcher>());
        builder.Services.AddSingleton<IEventWork>(sp => sp.GetRequiredService<ApplyDispatcher>());
        builder.Services.Configure<OutboxTypes>(t => t.Add<ApprovalApproved>(_ => true));
        return builder;
    }

    public static WebApplication MapUpdates(this WebApplication app)
    {
        app.MapHoldsApi();
        return app;
    }
}
