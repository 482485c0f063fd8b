using KeelPortal.Approvals;
using KeelPortal.Audit;
using KeelPortal.Registries.Cloud;
using KeelPortal.Tests.TestSupport;
using KeelPortal.Updates;
using Microsoft.Extensions.DependencyInjection;

namespace KeelPortal.Tests.Registries;

/// <summary>
/// A workload on Google Artifact Registry, polled with Google's application default credentials: a service account's
/// key file (its JWT verified by the token endpoint's imitation against the key's public half) or GKE's metadata
/// server, the access token used as <c>oauth2accesstoken</c> and accepted by the real registry behind.
/// </summary>
[Collection(AppHosts.Name)]
public sealed class GoogleCredentialsTests
{
    private const string Host = "europe-docker.pkg.dev";
    private const string Repository = "shop-project/images/web";

    private static Task<PipelinePortal> PipelineAsync(CloudRegistry registry, params (string Key, string Value)[] settings) =>
        registry.PipelineAsync(Host, Repository, null, settings);

    [Fact]
    public async Task A_service_account_key_file_reads_artifact_registry_and_the_token_is_asked_for_once()
    {
        await using var google = await GoogleImitation.StartAsync();
        await using var registry = await CloudRegistry.StartAsync("oauth2accesstoken", google.AccessToken, Repository);
        var keyFile = Path.Combine(Directory.CreateTempSubdirectory("keelportal-gcp-").FullName, "key.json");
        await File.WriteAllTextAsync(keyFile, google.KeyFile());
        await using var pipeline = await PipelineAsync(registry, ("GOOGLE_APPLICATION_CREDENTIALS", keyFile));
        var planner = pipeline.Portal.Services.GetRequiredService<UpdatePlanner>();

        await planner.PollAsync($"{Host}/{Repository}");
        await planner.PollAsync($"{Host}/{Repository}");

        await pipeline.ApprovalAsync("deployment/shop/web:1.1.0", a => a.State == ApprovalState.Pending);
        Assert.Equal(1, google.TokensIssued);
        Assert.Empty(google.Refusals);
        var status = Assert.Single(pipeline.Portal.Services.GetRequiredService<CloudCredentials>().Statuses);
        Assert.Contains(GoogleImitation.Account, status.Source, StringComparison.Ordinal);
        Assert.InRange(status.ExpiresAt!.Value, DateTimeOffset.UtcNow.AddMinutes(50), DateTimeOffset.UtcNow.AddMinutes(61));
    }

    [Fact]
    public async Task On_gke_the_metadata_server_gives_the_token()
    {
        await using var google = await GoogleImitation.StartAsync();
        await using var registry = await CloudRegistry.StartAsync("oauth2accesstoken", google.AccessToken, Repository);
        await using var pipeline = await PipelineAsync(registry, ("GCE_METADATA_HOST", google.MetadataHost));

        await pipeline.Portal.Services.GetRequiredService<UpdatePlanner>().PollAsync($"{Host}/{Repository}");

        await pipeline.ApprovalAsync("deployment/shop/web:1.1.0", a => a.State == ApprovalState.Pending);
        Assert.Equal(1, google.TokensIssued);
        Assert.Empty(google.Refusals);
        Assert.Contains("the metadata server (GKE workload identity)", pipeline.Portal.Services.GetRequiredService<CloudCredentials>().Statuses.Single().Source, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_workload_identity_federation_file_exchanges_the_workloads_own_token()
    {
        await using var google = await GoogleImitation.StartAsync();
        await using var registry = await CloudRegistry.StartAsync("oauth2accesstoken", google.AccessToken, Repository);
        var folder = Directory.CreateTempSubdirectory("keelportal-wif-").FullName;
        var subjectToken = Path.Combine(folder, "token");
        await File.WriteAllTextAsync(subjectToken, Jwt.Sign(new { iss = "https://aks.example/oidc", sub = "system:serviceaccount:keelportal:keelportal",
            aud = GoogleImitation.Audience, exp = DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeSeconds() }, google.FederatedKey));
        var file = Path.Combine(folder, "federation.json");
        await File.WriteAllTextAsync(file, google.ExternalAccountFile(subjectToken));
        await using var pipeline = await PipelineAsync(registry, ("GOOGLE_APPLICATION_CREDENTIALS", file));

        await pipeline.Portal.Services.GetRequiredService<UpdatePlanner>().PollAsync($"{Host}/{Repository}");

        await pipeline.ApprovalAsync("deployment/shop/web:1.1.0", a => a.State == ApprovalState.Pending);
        Assert.Equal(1, google.TokensIssued);
        Assert.Contains("workload identity federation", pipeline.Portal.Services.GetRequiredService<CloudCredentials>().Statuses.Single().Source, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_key_file_with_another_accounts_key_is_refused_and_the_poll_says_what_to_grant()
    {
        await using var google = await GoogleImitation.StartAsync();
        await using var registry = await CloudRegistry.StartAsync("oauth2accesstoken", google.AccessToken, Repository);
        using var stranger = System.Security.Cryptography.RSA.Create(2048);
        var keyFile = Path.Combine(Directory.CreateTempSubdirectory("keelportal-gcp-").FullName, "key.json");
        await File.WriteAllTextAsync(keyFile, google.KeyFile(stranger));
        await using var pipeline = await PipelineAsync(registry, ("GOOGLE_APPLICATION_CREDENTIALS", keyFile));

        await pipeline.Portal.Services.GetRequiredService<UpdatePlanner>().PollAsync($"{Host}/{Repository}");

        Assert.Equal(["invalid_grant"], google.Refusals);
        var failed = Assert.Single((await pipeline.Portal.Services.GetRequiredService<AuditTrail>().QueryAsync(new AuditQuery(Action: AuditActions.PollFailed.Name))).Entries);
        Assert.Contains(GoogleImitation.Account, failed.Details, StringComparison.Ordinal);
        Assert.Contains("invalid_grant", failed.Details, StringComparison.Ordinal);
        Assert.Contains("roles/artifactregistry.reader", failed.Details, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("europe-docker.pkg.dev", true)]
    [InlineData("gcr.io", true)]
    [InlineData("eu.gcr.io", true)]
    [InlineData("docker.pkg.dev.evil.example", false)]
    [InlineData("evilgcr.io", false)]
    public void Artifact_registry_and_gcr_hosts_are_recognised(string host, bool google) => Assert.Equal(google, GoogleAuth.IsGoogleHost(host));
}
