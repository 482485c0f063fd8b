using System.Net;
using System.Text;
using KeelPortal.Audit;
using KeelPortal.Registries;
using KeelPortal.Tests.TestSupport;
using Microsoft.Extensions.DependencyInjection;

namespace KeelPortal.Tests.Registries;

/// <summary>Credentials stored by administrators: encrypted at rest, audited without the secret, readable after a restart.</summary>
[Collection(AppHosts.Name)]
public sealed class CredentialStoreTests
{
    private const string Secret = "ghp_v3ry-s3cret-t0ken";

    private static CredentialStore Store(PortalFactory portal) => portal.Services.GetRequiredService<CredentialStore>();

    [Fact]
    public async Task A_saved_password_is_encrypted_in_the_database_and_decrypted_for_the_registry()
    {
        await using var portal = new PortalFactory();

        var saved = await Store(portal).SaveAsync("ghcr.io", "octocat", Secret, "alice");
        var all = await Store(portal).ReadAllAsync();

        Assert.True(saved.Succeeded, saved.Error);
        Assert.Equal(new RegistryCredential("octocat", Secret, CredentialStore.Source), all["ghcr.io"]);
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        var file = await File.ReadAllBytesAsync(Path.Combine(portal.DataDirectory, "portal.db"));
        Assert.DoesNotContain(Secret, Encoding.UTF8.GetString(file), StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, portal.Logs.AllText, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Hosts_are_stored_as_images_name_them_and_saving_again_replaces()
    {
        await using var portal = new PortalFactory();

        await Store(portal).SaveAsync("https://index.docker.io/v1/", "first", "one", "alice");
        await Store(portal).SaveAsync("docker.io", "second", "two", "bob");

        var list = await Store(portal).ListAsync();
        var entry = Assert.Single(list);
        Assert.Equal(("docker.io", "second", "bob"), (entry.Host, entry.Username, entry.UpdatedBy));
        Assert.Equal("two", (await Store(portal).ReadAllAsync())["docker.io"].Password);
    }

    [Fact]
    public async Task Changes_are_audited_without_the_password()
    {
        await using var portal = new PortalFactory();

        await Store(portal).SaveAsync("ghcr.io", "octocat", Secret, "alice");
        await Store(portal).RemoveAsync("ghcr.io", "alice");

        var trail = await portal.Services.GetRequiredService<AuditTrail>().QueryAsync(new AuditQuery());
        Assert.Equal(["registry.credential.remove", "registry.credential.add"], trail.Entries.Select(e => e.Action));
        Assert.All(trail.Entries, e => Assert.Equal(("alice", "registry/ghcr.io"), (e.Actor, e.Subject)));
        Assert.DoesNotContain(trail.Entries, e => (e.Details ?? "").Contains(Secret, StringComparison.Ordinal));
        Assert.Empty(await Store(portal).ListAsync());
    }

    [Theory]
    [InlineData("", "user", "pw", "Enter the registry host")]
    [InlineData("not a host", "user", "pw", "is not a registry host")]
    [InlineData("myregistry", "user", "pw", "is not a registry host")]
    [InlineData("ghcr.io", " ", "pw", "Enter the user name")]
    [InlineData("ghcr.io", "user", "", "Enter the password")]
    public async Task Bad_input_is_refused_with_a_reason_and_nothing_is_stored(string host, string user, string password, string reason)
    {
        await using var portal = new PortalFactory();

        var result = await Store(portal).SaveAsync(host, user, password, "alice");

        Assert.False(result.Succeeded);
        Assert.Contains(reason, result.Error, StringComparison.Ordinal);
        Assert.Empty(await Store(portal).ListAsync());
    }

    [Fact]
    public async Task The_key_ring_is_kept_with_the_data_so_another_start_can_read_the_secrets()
    {
        string dataDirectory;
        await using (var first = new PortalFactory())
        {
            await Store(first).SaveAsync("registry.example.com:5000", "ci", Secret, "alice");
            dataDirectory = first.DataDirectory;
            await using var second = new PortalFactory()
                .With("Data:ConnectionString", $"Data Source={Path.Combine(dataDirectory, "portal.db")}")
                .With("Data:KeysPath", Path.Combine(dataDirectory, "keys"));

            var read = await Store(second).ReadAllAsync();

            Assert.Equal(Secret, read["registry.example.com:5000"].Password);
            Assert.NotEmpty(Directory.GetFiles(Path.Combine(dataDirectory, "keys"), "key-*.xml"));
        }
    }

    [Fact]
    public async Task A_password_whose_key_was_lost_is_left_out_with_a_warning_naming_the_registry()
    {
        await using var first = new PortalFactory();
        await Store(first).SaveAsync("ghcr.io", "octocat", Secret, "alice");
        await using var second = new PortalFactory()
            .With("Data:ConnectionString", $"Data Source={Path.Combine(first.DataDirectory, "portal.db")}");

        var read = await Store(second).ReadAllAsync();

        Assert.Empty(read);
        Assert.Contains(second.Logs.Lines, l => l.Message.Contains("stored credential for ghcr.io cannot be decrypted", StringComparison.Ordinal));
    }

    [Fact]
    public async Task The_registries_page_lists_stored_credentials_without_their_password()
    {
        await using var portal = new PortalFactory();
        await Store(portal).SaveAsync("ghcr.io", "octocat", Secret, "alice");
        using var client = await portal.SignedInClientAsync();

        var page = await client.GetAsync("/registries");
        var html = await page.Content.ReadAsStringAsync();

        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Contains("octocat", html, StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, html, StringComparison.Ordinal);
    }
}
