using KeelPortal.Approvals;
using KeelPortal.Audit;
using KeelPortal.Registries.Cloud;
using KeelPortal.Tests.TestSupport;
using KeelPortal.Updates;
using Microsoft.Extensions.DependencyInjection;

namespace KeelPortal.Tests.Registries;

/// <summary>
/// A workload on Azure Container Registry: an Entra ID token from Azure.Identity (a client secret, or AKS workload
/// identity's federated token) exchanged at the registry's <c>/oauth2/exchange</c> for a refresh token, which the real
/// registry behind accepts as the null user's password.
/// </summary>
[Collection(AppHosts.Name)]
public sealed class AcrCredentialsTests
{
    private const string Host = "shopregistry.azurecr.io";
    private const string Repository = "shop/web";

    private static Task<PipelinePortal> PipelineAsync(AzureImitation azure, CloudRegistry registry, params (string Key, string Value)[] settings) =>
        registry.PipelineAsync(Host, Repository, p =>
        {
            p.With("AZURE_AUTHORITY_HOST", azure.Url.ToString())
                .With("AZURE_TENANT_ID", AzureImitation.Tenant)
                .With("AZURE_CLIENT_ID", AzureImitation.ClientId)
                .With("Registries:Azure:ExchangeEndpoint", new Uri(azure.Url, "oauth2/exchange").ToString())
                // The portal's Azure clients trust the imitation's test authority, as they would a real one's.
                .WithServices(s =>
                {
                    s.AddHttpClient("azure-identity").ConfigurePrimaryHttpMessageHandler(azure.TrustingHandler);
                    s.AddHttpClient(nameof(AcrAuth)).ConfigurePrimaryHttpMessageHandler(azure.TrustingHandler);
                });
        }, settings);

    [Fact]
    public async Task A_client_secret_gives_an_entra_token_that_the_registry_exchanges_for_its_own()
    {
        await using var azure = await AzureImitation.StartAsync();
        await using var registry = await CloudRegistry.StartAsync(AcrAuth.NullUser, azure.RefreshToken, Repository);
        await using var pipeline = await PipelineAsync(azure, registry, ("AZURE_CLIENT_SECRET", AzureImitation.ClientSecret));
        var planner = pipeline.Portal.Services.GetRequiredService<UpdatePlanner>();

        await planner.PollAsync($"{Host}/{Repository}");
        await planner.PollAsync($"{Host}/{Repository}");

        await pipeline.ApprovalAsync("deployment/shop/web:1.1.0", a => a.State == ApprovalState.Pending);
        Assert.Equal(1, azure.Exchanges);
        Assert.Empty(azure.Refusals);
        Assert.Contains($"the client secret of {AzureImitation.ClientId}", pipeline.Portal.Services.GetRequiredService<CloudCredentials>().Statuses.Single().Source, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Aks_workload_identity_federates_the_service_account_token()
    {
        await using var azure = await AzureImitation.StartAsync();
        await using var registry = await CloudRegistry.StartAsync(AcrAuth.NullUser, azure.RefreshToken, Repository);
        var tokenFile = Path.Combine(Directory.CreateTempSubdirectory("keelportal-aks-").FullName, "token");
        await File.WriteAllTextAsync(tokenFile, azure.FederatedToken());
        await using var pipeline = await PipelineAsync(azure, registry, ("AZURE_FEDERATED_TOKEN_FILE", tokenFile));

        await pipeline.Portal.Services.GetRequiredService<UpdatePlanner>().PollAsync($"{Host}/{Repository}");

        await pipeline.ApprovalAsync("deployment/shop/web:1.1.0", a => a.State == ApprovalState.Pending);
        Assert.Equal(1, azure.Exchanges);
        Assert.Contains($"workload identity as {AzureImitation.ClientId}", pipeline.Portal.Services.GetRequiredService<CloudCredentials>().Statuses.Single().Source, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Without_a_secret_or_a_federated_token_the_managed_identity_is_asked()
    {
        await using var azure = await AzureImitation.StartAsync();
        await using var registry = await CloudRegistry.StartAsync(AcrAuth.NullUser, azure.RefreshToken, Repository);
        // Where the instance metadata service is (the Azure libraries read it from the process environment only).
        Environment.SetEnvironmentVariable("AZURE_POD_IDENTITY_AUTHORITY_HOST", azure.Url.ToString().TrimEnd('/'));
        try
        {
            await using var pipeline = await PipelineAsync(azure, registry);

            await pipeline.Portal.Services.GetRequiredService<UpdatePlanner>().PollAsync($"{Host}/{Repository}");

            await pipeline.ApprovalAsync("deployment/shop/web:1.1.0", a => a.State == ApprovalState.Pending);
            Assert.Equal(1, azure.Exchanges);
            Assert.Contains($"the managed identity {AzureImitation.ClientId}", pipeline.Portal.Services.GetRequiredService<CloudCredentials>().Statuses.Single().Source, StringComparison.Ordinal);
        }
        finally
        {
            Environment.SetEnvironmentVariable("AZURE_POD_IDENTITY_AUTHORITY_HOST", null);
        }
    }

    [Fact]
    public async Task A_wrong_client_secret_is_refused_by_entra_and_the_poll_says_which_source_failed()
    {
        await using var azure = await AzureImitation.StartAsync();
        await using var registry = await CloudRegistry.StartAsync(AcrAuth.NullUser, azure.RefreshToken, Repository);
        await using var pipeline = await PipelineAsync(azure, registry, ("AZURE_CLIENT_SECRET", "not-the-secret"));

        await pipeline.Portal.Services.GetRequiredService<UpdatePlanner>().PollAsync($"{Host}/{Repository}");

        Assert.Contains("invalid_client", azure.Refusals);
        Assert.Equal(0, azure.Exchanges);
        var failed = Assert.Single((await pipeline.Portal.Services.GetRequiredService<AuditTrail>().QueryAsync(new AuditQuery(Action: AuditActions.PollFailed.Name))).Entries);
        Assert.Contains($"the client secret of {AzureImitation.ClientId}", failed.Details, StringComparison.Ordinal);
        Assert.Contains("Entra ID gave no token", failed.Details, StringComparison.Ordinal);
        Assert.DoesNotContain("not-the-secret", failed.Details, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("shopregistry.azurecr.io", true)]
    [InlineData("shopregistry.azurecr.cn", true)]
    [InlineData("azurecr.io.evil.example", false)]
    public void Acr_hosts_are_recognised(string host, bool acr) => Assert.Equal(acr, AcrAuth.IsAcrHost(host));
}
