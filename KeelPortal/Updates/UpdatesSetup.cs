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
        builder.Services.AddSingleton<UpdatePlanner>();
        builder.Services.AddSingleton<CandidateReport>();
        builder.Services.AddTransient<ApplyJob>();
        builder.Services.AddTransient<RolloutJob>();
        builder.Services.AddTransient<MaintenanceJob>();
        builder.Services.AddHostedService<ApplyDispatcher>();
        return builder;
    }
}
