using KeelPortal.Workloads;

namespace KeelPortal.Helm;

public static class HelmSetup
{
    public static WebApplicationBuilder AddHelm(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<HelmOptions>().BindConfiguration(HelmOptions.Section).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<Microsoft.Extensions.Options.IValidateOptions<HelmOptions>, HelmOptionsValidation>();
        builder.Services.AddSingleton<HelmApplier>();
        builder.Services.AddSingleton<HelmReleases>();
        builder.Services.AddSingleton<IWorkloadProvider>(sp => sp.GetRequiredService<HelmReleases>());
        return builder;
    }
}
