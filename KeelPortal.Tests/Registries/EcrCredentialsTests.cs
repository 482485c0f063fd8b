using Bunit;
using KeelPortal.Access;
using KeelPortal.Approvals;
using KeelPortal.Audit;
using KeelPortal.Registries;
using KeelPortal.Registries.Cloud;
using KeelPortal.Tests.TestSupport;
using KeelPortal.Updates;
using Microsoft.Extensions.DependencyInjection;

namespace KeelPortal.Tests.Registries;

/// <summary>
/// A workload on a private ECR repository, polled with the cloud's own credentials: the AWS chain's keys (from the
/// environment, or a web identity exchanged at STS), <c>GetAuthorizationToken</c> signed with SigV4 and verified by the
/// ECR imitation, and the real registry behind it accepting exactly the <c>AWS:&lt;password&gt;</c> ECR issued.
/// </summary>
[Collection(AppHosts.Name)]
public sealed class EcrCredentialsTests
{
    private const string EcrHost = "123456789012.dkr.ecr.us-east-1.amazonaws.com";

    private static Task<PipelinePortal> PipelineAsync(AwsImitation aws, CloudRegistry registry, params (string Key, string Value)[] settings) =>
        registry.PipelineAsync(EcrHost, "shop/web", p => PointAtImitation(p, aws), settings);

    private static void PointAtImitation(PortalFactory portal, AwsImitation aws) => portal
        .With("Registries:Aws:EcrEndpoint", aws.Url.ToString())
        .With("Registries:Aws:StsEndpoint", aws.Url.ToString())
        .With("AWS_REGION", AwsImitation.Region);

    [Fact]
    public async Task Access_keys_from_the_environment_read_a_private_ecr_repository_and_the_token_is_asked_for_once()
    {
        await using var aws = await AwsImitation.StartAsync();
        await using var registry = await CloudRegistry.StartAsync("AWS", aws.EcrPassword, "shop/web");
        await using var pipeline = await PipelineAsync(aws, registry, ("AWS_ACCESS_KEY_ID", AwsImitation.AccessKey), ("AWS_SECRET_ACCESS_KEY", AwsImitation.SecretKey));
        var planner = pipeline.Portal.Services.GetRequiredService<UpdatePlanner>();

        await planner.PollAsync($"{EcrHost}/shop/web");
        await planner.PollAsync($"{EcrHost}/shop/web");

        await pipeline.ApprovalAsync("deployment/shop/web:1.1.0", a => a.State == ApprovalState.Pending);
        // Two polls, one token: it is kept until shortly before its twelve hours run out.
        Assert.Equal(1, aws.TokensIssued);
        Assert.Empty(aws.Refusals);
        var status = Assert.Single(pipeline.Portal.Services.GetRequiredService<CloudCredentials>().Statuses);
        Assert.Equal(EcrHost, status.Host);
        Assert.Contains("AWS access keys from the environment (AKIA…MPLE)", status.Source, StringComparison.Ordinal);
        Assert.InRange(status.ExpiresAt!.Value, DateTimeOffset.UtcNow.AddHours(11), DateTimeOffset.UtcNow.AddHours(13));

        // The Registries page says where the credentials came from and until when, never the secret.
        await using var console = ConsoleContext.Create(pipeline.Portal.Services, "root", Roles.Admin);
        var page = console.Render<RegistriesPage>();
        page.WaitForAssertion(() => Assert.Contains("AWS access keys from the environment", page.Find("[data-testid=cloud-credentials]").TextContent, StringComparison.Ordinal),
            TimeSpan.FromSeconds(10));
        Assert.DoesNotContain(AwsImitation.SecretKey, page.Markup, StringComparison.Ordinal);
        Assert.DoesNotContain(aws.EcrPassword, page.Markup, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_web_identity_token_is_exchanged_at_sts_and_its_keys_sign_the_ecr_request()
    {
        await using var aws = await AwsImitation.StartAsync();
        await using var registry = await CloudRegistry.StartAsync("AWS", aws.EcrPassword, "shop/web");
        var tokenFile = Path.Combine(Directory.CreateTempSubdirectory("keelportal-irsa-").FullName, "token");
        await File.WriteAllTextAsync(tokenFile, aws.ServiceAccountToken(TimeSpan.FromHours(1)));
        await using var pipeline = await PipelineAsync(aws, registry, ("AWS_ROLE_ARN", AwsImitation.WebIdentityRole), ("AWS_WEB_IDENTITY_TOKEN_FILE", tokenFile));

        await pipeline.Portal.Services.GetRequiredService<UpdatePlanner>().PollAsync($"{EcrHost}/shop/web");

        await pipeline.ApprovalAsync("deployment/shop/web:1.1.0", a => a.State == ApprovalState.Pending);
        Assert.Equal(1, aws.TokensIssued);
        Assert.Contains($"web identity (IRSA) as {AwsImitation.WebIdentityRole}", pipeline.Portal.Services.GetRequiredService<CloudCredentials>().Statuses.Single().Source, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_token_signed_by_another_key_is_refused_and_the_workload_says_which_source_failed_and_what_to_grant()
    {
        await using var aws = await AwsImitation.StartAsync();
        await using var registry = await CloudRegistry.StartAsync("AWS", aws.EcrPassword, "shop/web");
        var tokenFile = Path.Combine(Directory.CreateTempSubdirectory("keelportal-irsa-").FullName, "token");
        using var stranger = System.Security.Cryptography.RSA.Create(2048);
        await File.WriteAllTextAsync(tokenFile, aws.ServiceAccountToken(TimeSpan.FromHours(1), signer: stranger));
        await using var pipeline = await PipelineAsync(aws, registry, ("AWS_ROLE_ARN", AwsImitation.WebIdentityRole), ("AWS_WEB_IDENTITY_TOKEN_FILE", tokenFile));

        await pipeline.Portal.Services.GetRequiredService<UpdatePlanner>().PollAsync($"{EcrHost}/shop/web");

        Assert.Equal(["InvalidIdentityToken"], aws.Refusals);
        Assert.Equal(0, aws.TokensIssued);
        var failed = Assert.Single((await pipeline.Portal.Services.GetRequiredService<AuditTrail>().QueryAsync(new AuditQuery(Action: AuditActions.PollFailed.Name))).Entries);
        Assert.Contains("web identity (IRSA)", failed.Details, StringComparison.Ordinal);
        Assert.Contains("InvalidIdentityToken", failed.Details, StringComparison.Ordinal);
        Assert.Contains("sts:AssumeRoleWithWebIdentity", failed.Details, StringComparison.Ordinal);
        // Logged once, without the token.
        Assert.Single(pipeline.Portal.Logs.Lines, l => l.Message.Contains($"No credentials for {EcrHost}", StringComparison.Ordinal));
        Assert.DoesNotContain(pipeline.Portal.Logs.Lines, l => l.Message.Contains(File.ReadAllText(tokenFile).Split('.')[2], StringComparison.Ordinal));
    }

    [Theory]
    [InlineData("wrong-secret", "us-east-1", 0, "InvalidSignatureException", "the secret key does not match")]
    [InlineData(AwsImitation.SecretKey, "eu-west-1", 0, "InvalidSignatureException", "ECR refused")]
    [InlineData(AwsImitation.SecretKey, "us-east-1", 20, "InvalidSignatureException", "the clock is off")]
    public async Task The_imitation_recomputes_the_signature_and_refuses_a_wrong_secret_region_or_clock_as_aws_would(
        string secret, string region, int skewMinutes, string code, string said)
    {
        await using var aws = await AwsImitation.StartAsync();
        var configuration = Microsoft.Extensions.Configuration.MemoryConfigurationBuilderExtensions.AddInMemoryCollection(new Microsoft.Extensions.Configuration.ConfigurationBuilder(), new Dictionary<string, string?>
        {
            ["AWS_ACCESS_KEY_ID"] = AwsImitation.AccessKey, ["AWS_SECRET_ACCESS_KEY"] = secret,
        }).Build();
        var options = Microsoft.Extensions.Options.Options.Create(new RegistriesOptions { Aws = new AwsRegistryOptions { EcrEndpoint = aws.Url } });
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow.AddMinutes(skewMinutes));
        using var services = new ServiceCollection().AddHttpClient().BuildServiceProvider();
        var http = services.GetRequiredService<IHttpClientFactory>();
        using var chain = new AwsCredentialChain(configuration, options, http, clock);
        var ecr = new EcrAuth(chain, options, http, clock);

        var answer = await ecr.IssueAsync($"123456789012.dkr.ecr.{region}.amazonaws.com", CancellationToken.None);

        Assert.Null(answer.Token);
        Assert.Equal([code], aws.Refusals);
        Assert.Contains(said, answer.Problem, StringComparison.Ordinal);
        Assert.DoesNotContain(secret, answer.Problem, StringComparison.Ordinal);
    }

    /// <summary>ECR's token for <see cref="EcrHost"/>, asked directly with the chain these settings make.</summary>
    private static async Task<CloudAnswer> IssueAsync(AwsImitation aws, Dictionary<string, string?> settings, string? roleArn = null)
    {
        var configuration = Microsoft.Extensions.Configuration.MemoryConfigurationBuilderExtensions.AddInMemoryCollection(new Microsoft.Extensions.Configuration.ConfigurationBuilder(), settings).Build();
        var options = Microsoft.Extensions.Options.Options.Create(new RegistriesOptions { Aws = new AwsRegistryOptions { EcrEndpoint = aws.Url, StsEndpoint = aws.Url, RoleArn = roleArn } });
        using var services = new ServiceCollection().AddHttpClient().BuildServiceProvider();
        var http = services.GetRequiredService<IHttpClientFactory>();
        using var chain = new AwsCredentialChain(configuration, options, http, TimeProvider.System);
        return await new EcrAuth(chain, options, http, TimeProvider.System).IssueAsync(EcrHost, CancellationToken.None);
    }

    [Fact]
    public async Task Eks_pod_identity_gives_keys_from_the_agent_with_the_projected_token()
    {
        await using var aws = await AwsImitation.StartAsync();
        var tokenFile = Path.Combine(Directory.CreateTempSubdirectory("keelportal-pod-identity-").FullName, "token");
        await File.WriteAllTextAsync(tokenFile, aws.PodIdentityToken);
        var settings = new Dictionary<string, string?>
        {
            ["AWS_CONTAINER_CREDENTIALS_FULL_URI"] = new Uri(aws.Url, "v1/credentials").ToString(), ["AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE"] = tokenFile,
        };

        var answer = await IssueAsync(aws, settings);
        await File.WriteAllTextAsync(tokenFile, "a token the agent does not know");
        var refused = await IssueAsync(aws, settings);

        Assert.True(answer.Token is not null, answer.Problem);
        Assert.Equal(("AWS", aws.EcrPassword), (answer.Token.Credential.Username, answer.Token.Credential.Password));
        Assert.Contains("EKS Pod Identity", answer.Source, StringComparison.Ordinal);
        Assert.Null(refused.Token);
        Assert.Contains("401", refused.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task On_a_node_with_an_instance_profile_the_instance_metadata_service_gives_the_keys()
    {
        await using var aws = await AwsImitation.StartAsync();

        var answer = await IssueAsync(aws, new Dictionary<string, string?> { ["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = aws.Url.ToString() });
        var disabled = await IssueAsync(aws, new Dictionary<string, string?> { ["AWS_EC2_METADATA_SERVICE_ENDPOINT"] = aws.Url.ToString(), ["AWS_EC2_METADATA_DISABLED"] = "true" });

        Assert.True(answer.Token is not null, answer.Problem);
        Assert.Contains($"instance profile (EC2 instance metadata), role {AwsImitation.NodeRole}", answer.Source, StringComparison.Ordinal);
        Assert.Null(disabled.Token);
        Assert.Contains("no AWS credentials", disabled.Problem, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_role_to_assume_is_assumed_with_the_chains_keys_before_ecr_is_asked()
    {
        await using var aws = await AwsImitation.StartAsync();
        var keys = new Dictionary<string, string?> { ["AWS_ACCESS_KEY_ID"] = AwsImitation.AccessKey, ["AWS_SECRET_ACCESS_KEY"] = AwsImitation.SecretKey };

        var assumed = await IssueAsync(aws, keys, AwsImitation.AssumableRole);
        var denied = await IssueAsync(aws, keys, "arn:aws:iam::123456789012:role/someone-elses");

        Assert.NotNull(assumed.Token);
        Assert.Contains($"then the role {AwsImitation.AssumableRole}", assumed.Source, StringComparison.Ordinal);
        Assert.Null(denied.Token);
        Assert.Contains("AccessDenied", denied.Problem, StringComparison.Ordinal);
        Assert.Contains("grant sts:AssumeRole on arn:aws:iam::123456789012:role/someone-elses", denied.Problem, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("123456789012.dkr.ecr.us-east-1.amazonaws.com", true)]
    [InlineData("123456789012.dkr.ecr-fips.us-gov-west-1.amazonaws.com", true)]
    [InlineData("123456789012.dkr.ecr.cn-north-1.amazonaws.com.cn", true)]
    [InlineData("12345.dkr.ecr.us-east-1.amazonaws.com", false)]
    [InlineData("123456789012.dkr.ecr.us-east-1.amazonaws.com.evil.example", false)]
    [InlineData("ghcr.io", false)]
    public void Ecr_hosts_are_recognised_by_account_region_and_partition(string host, bool ecr) => Assert.Equal(ecr, EcrAuth.Parse(host) is not null);
}
