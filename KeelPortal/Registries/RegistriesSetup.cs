namespace KeelPortal.Registries;

public static class RegistriesSetup
{
    public static WebApplicationBuilder AddRegistries(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<RegistriesOptions>()
            .BindConfiguration(RegistriesOptions.Section)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddSingleton<Microsoft.Extensions.Options.IValidateOptions<RegistriesOptions>, RegistryListValidation>();
        builder.Services.AddSingleton<RegistryClient>();
        builder.Services.AddSingleton<IRegistryClient>(sp => sp.GetRequiredService<RegistryClient>());
        builder.Services.AddSingleton<CredentialStore>();
        return builder;
    }
}
