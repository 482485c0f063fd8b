using KeelPortal.Registries;
using KeelPortal.Tests.TestSupport;

namespace KeelPortal.Tests.Registries;

public sealed class HtpasswdRegistryTests(HtpasswdRegistry fixture) : IClassFixture<HtpasswdRegistry>
{
    private static readonly RegistryCredential Good = new(RegistryProcess.User, RegistryProcess.Password, "secret default/pull");

    [Fact]
    public async Task Basic_credentials_open_the_registry()
    {
        await fixture.Pusher.PushAsync("basic/app", "1.2.3");
        using var client = RegistryFixture.NewClient();

        var tags = await client.ListTagsAsync(fixture.Image("basic/app"), Good);

        Assert.Equal(["1.2.3"], tags.Value);
    }

    [Fact]
    public async Task Wrong_credentials_say_which_user_failed_and_where_the_password_came_from()
    {
        await fixture.Pusher.PushAsync("basic/other", "1.0.0");
        using var client = RegistryFixture.NewClient();

        var tags = await client.ListTagsAsync(fixture.Image("basic/other"), Good with { Password = "wrong" });

        Assert.Equal(RegistryFailureKind.AuthenticationFailed, tags.Failure!.Kind);
        Assert.Equal($"authentication failed for user keel at {fixture.Registry.Host} (secret default/pull)", tags.Failure.Reason);
        Assert.DoesNotContain("wrong", tags.Failure.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task No_credentials_say_that_credentials_are_needed()
    {
        using var client = RegistryFixture.NewClient();

        var tags = await client.ListTagsAsync(fixture.Image("basic/app"));

        Assert.Equal(RegistryFailureKind.AuthenticationFailed, tags.Failure!.Kind);
        Assert.Contains("requires a user name and password", tags.Failure.Reason, StringComparison.Ordinal);
    }
}

public sealed class TokenRegistryTests(TokenRegistry fixture) : IClassFixture<TokenRegistry>
{
    private static readonly RegistryCredential Good = new(RegistryProcess.User, RegistryProcess.Password, "stored credentials");

    [Fact]
    public async Task Tokens_are_fetched_once_and_reused_until_they_expire()
    {
        await fixture.Pusher.PushAsync("token/app", "1.0.0");
        using var client = RegistryFixture.NewClient();
        var before = fixture.Registry.Tokens!.Requests;

        for (var i = 0; i < 10; i++)
        {
            var tags = await client.ListTagsAsync(fixture.Image("token/app"), Good);
            Assert.True(tags.Succeeded, tags.Failure?.Reason);
        }

        Assert.Equal(1, fixture.Registry.Tokens.Requests - before);
        // First call: the 401 challenge and the retry with the token; every later call: one request.
        Assert.Equal(11, client.StatusOf(fixture.Registry.Host)!.Requests);
    }

    [Fact]
    public async Task Each_repository_gets_its_own_pull_scope()
    {
        await fixture.Pusher.PushAsync("token/one", "1.0.0");
        await fixture.Pusher.PushAsync("token/two", "2.0.0");
        using var client = RegistryFixture.NewClient();

        var one = await client.ListTagsAsync(fixture.Image("token/one"), Good);
        var two = await client.ListTagsAsync(fixture.Image("token/two"), Good);

        Assert.Equal(["1.0.0"], one.Value);
        Assert.Equal(["2.0.0"], two.Value);
    }

    [Fact]
    public async Task A_refused_token_request_is_an_authentication_failure_for_that_user()
    {
        using var client = RegistryFixture.NewClient();

        var tags = await client.ListTagsAsync(fixture.Image("token/app"), Good with { Password = "nope" });

        Assert.Equal(RegistryFailureKind.AuthenticationFailed, tags.Failure!.Kind);
        Assert.Contains("authentication failed for user keel", tags.Failure.Reason, StringComparison.Ordinal);
    }
}
