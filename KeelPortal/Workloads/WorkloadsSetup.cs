namespace KeelPortal.Workloads;

public static class WorkloadsSetup
{
    public static WebApplicationBuilder AddWorkloads(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<WorkloadsOptions>()
            .BindConfiguration(WorkloadsOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        Data.Modes.AddModes<WorkloadsOptions>(builder.Services, WorkloadsOptions.Section);
        builder.Services.Configure<Data.OutboxTypes>(t => t.Add<WorkloadsChanged>().Add<RolloutFinished>());
        builder.Services.AddSingleton<ClusterConnection>();
        builder.Services.AddSingleton<WorkloadStore>();
        builder.Services.AddSingleton<Telemetry.IPortalGauges, WorkloadGauges>();
        builder.Services.AddSingleton<WorkloadGrid>();
        builder.Services.AddSingleton<WorkloadCatalog>();
        builder.Services.AddSingleton<RolloutDiagnosis>();
        builder.Services.AddSingleton<WorkloadApplier>();
        builder.Services.AddSingleton<IWorkloadProvider, KubernetesWorkloads>();
        builder.Services.AddSingleton<WorkloadSettingsEditor>();
        builder.Services.AddSingleton<ClusterWorkloads>();
        builder.Services.AddSingleton<RolloutTracker>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<RolloutTracker>());
        builder.Services.AddSingleton<ClusterLeadership>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<ClusterLeadership>());
        builder.Services.AddSingleton<WorkloadWatcher>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<WorkloadWatcher>());
        return builder;
    }
}
