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
        // The cloud the portal runs in, for its own registries: the last source of a registry credential.
        builder.Services.AddHttpClient(nameof(Cloud.AwsCredentialChain));
        builder.Services.AddHttpClient(nameof(Cloud.EcrAuth));
        builder.Services.AddSingleton<Cloud.AwsCredentialChain>();
        builder.Services.AddSingleton<Cloud.ICloudRegistryAuth, Cloud.EcrAuth>();
        builder.Services.AddSingleton<Cloud.ICloudRegistryAuth, Cloud.GoogleAuth>();
        builder.Services.AddHttpClient(nameof(Cloud.AcrAuth));
        builder.Services.AddHttpClient("azure-identity");
        builder.Services.AddSingleton<Cloud.ICloudRegistryAuth, Cloud.AcrAuth>();
        builder.Services.AddSingleton<Cloud.CloudCredentials>();
        return builder;
    }
}
