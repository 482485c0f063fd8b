using System.Net;
using System.Net.Http.Headers;
using System.Text;
using KeelPortal.Tests.TestSupport;
using KeelPortal.Triggers;
using Microsoft.Extensions.DependencyInjection;

namespace KeelPortal.Tests.Triggers;

/// <summary>
/// Webhooks that worked with Keel keep working unchanged: Keel's Basic credentials (<c>AUTHENTICATED_WEBHOOKS</c> with
/// <c>BASIC_AUTH_USER</c>/<c>BASIC_AUTH_PASSWORD</c>), Artifactory's bare names under <c>PRIVATE_REGISTRY</c>, and — only from
/// networks named for it — the Distribution endpoint without a secret.
/// </summary>
[Collection(AppHosts.Name)]
public sealed class KeelWebhookAuthTests
{
    private const string Native = """{"name":"registry.example.com/shop/web","tag":"1.2.3"}""";

    private static HttpRequestMessage Post(string provider, string body, AuthenticationHeaderValue? authorization)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, $"/v1/webhooks/{provider}") { Content = new StringContent(body, Encoding.UTF8, "application/json") };
        request.Headers.Authorization = authorization;
        return request;
    }

    private static AuthenticationHeaderValue Basic(string user, string password) =>
        new("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{password}")));

    [Fact]
    public async Task Keels_basic_credentials_open_the_webhooks_when_keel_would_have_asked_for_them()
    {
        await using var portal = new PortalFactory().With("AUTHENTICATED_WEBHOOKS", "true").With("BASIC_AUTH_USER", "keel").With("BASIC_AUTH_PASSWORD", "keel-pass")
            .With("Triggers:WebhookSecret", "portal-secret");
        using var client = portal.CreateClient();

        using var basic = await client.SendAsync(Post("native", Native, Basic("keel", "keel-pass")));
        using var wrongPassword = await client.SendAsync(Post("native", Native, Basic("keel", "keel-pas")));
        using var wrongUser = await client.SendAsync(Post("native", Native, Basic("admin", "keel-pass")));
        using var none = await client.SendAsync(Post("native", Native, null));
        using var secret = await client.SendAsync(Post("native", Native, new AuthenticationHeaderValue("Bearer", "portal-secret")));

        Assert.Equal(HttpStatusCode.OK, basic.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, wrongPassword.StatusCode);
        Assert.Contains("not the webhook's", await wrongPassword.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Unauthorized, wrongUser.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, none.StatusCode);
        Assert.Equal(HttpStatusCode.OK, secret.StatusCode);
    }

    [Fact]
    public async Task Keels_admin_credentials_alone_do_not_open_the_webhooks()
    {
        // Without AUTHENTICATED_WEBHOOKS Keel's Basic credentials guard its API only; here nothing opens the webhooks.
        await using var portal = new PortalFactory().With("BASIC_AUTH_USER", "keel").With("BASIC_AUTH_PASSWORD", "keel-pass");
        using var client = portal.CreateClient();

        using var basic = await client.SendAsync(Post("native", Native, Basic("keel", "keel-pass")));

        Assert.Equal(HttpStatusCode.Unauthorized, basic.StatusCode);
        Assert.Contains("Webhooks are not set up", await basic.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_artifactory_body_with_a_bare_name_is_read_under_keels_private_registry()
    {
        await using var portal = new PortalFactory().With("Triggers:WebhookSecret", "portal-secret").With("PRIVATE_REGISTRY", "acme.jfrog.io");
        using var client = portal.CreateClient();
        const string body = """{"domain":"docker","event_type":"pushed","data":{"image_name":"shop/web","tag":"2.0.0"}}""";

        using var response = await client.SendAsync(Post("jfrog", body, new AuthenticationHeaderValue("Bearer", "portal-secret")));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var trail = await portal.Services.GetRequiredService<KeelPortal.Audit.AuditTrail>().QueryAsync(new KeelPortal.Audit.AuditQuery());
        Assert.Contains("acme.jfrog.io/shop/web:2.0.0", Assert.Single(trail.Entries, e => e.Action == "webhook.received").Details, StringComparison.Ordinal);
        // Keel ignores a value shorter than three characters; so does the parser.
        Assert.Equal("docker.io/shop/web", Assert.Single(WebhookPayloads.Parse("jfrog", body, jfrogRegistry: "x").Events).Repository);
    }

    [Theory]
    [InlineData("127.0.0.0/8", HttpStatusCode.OK)]
    [InlineData("10.0.0.0/8", HttpStatusCode.Unauthorized)]
    public async Task The_distribution_endpoint_is_open_without_a_secret_only_to_the_networks_named_for_it(string sources, HttpStatusCode expected)
    {
        await using var portal = new PortalFactory().With("Triggers:WebhookSecret", "portal-secret").With("Triggers:RegistryNotifySources:0", sources);
        portal.UseKestrel(0);
        portal.StartServer();
        using var client = new HttpClient { BaseAddress = new Uri(Loopback.Address(portal.Services) + "/") };
        const string notification = """{"events":[{"action":"push","target":{"mediaType":"application/vnd.oci.image.manifest.v1+json","repository":"shop/web","tag":"1.0.0","digest":"sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"},"request":{"host":"registry.example.com"}}]}""";

        using var registry = await client.SendAsync(Post("registry", notification, null));
        using var native = await client.SendAsync(Post("native", Native, null));

        Assert.Equal(expected, registry.StatusCode);
        // Only the Distribution endpoint: every other one still wants the secret from anywhere.
        Assert.Equal(HttpStatusCode.Unauthorized, native.StatusCode);
    }

    [Fact]
    public void A_source_that_is_not_a_network_and_half_a_credential_pair_stop_start_up_with_both_named()
    {
        var result = new TriggersValidation().Validate(null, new TriggersOptions { RegistryNotifySources = ["10.0.0.0/33"], WebhookBasicUser = "keel" });

        Assert.True(result.Failed);
        Assert.Contains("Triggers:RegistryNotifySources:0: '10.0.0.0/33'", result.FailureMessage, StringComparison.Ordinal);
        Assert.Contains("go together", result.FailureMessage, StringComparison.Ordinal);
    }
}
