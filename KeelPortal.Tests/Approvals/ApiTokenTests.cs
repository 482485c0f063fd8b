using System.Net;
using System.Net.Http.Headers;
using KeelPortal.Access;
using KeelPortal.Audit;
using KeelPortal.Tests.TestSupport;
using Microsoft.Extensions.DependencyInjection;

namespace KeelPortal.Tests.Approvals;

/// <summary>Personal API tokens: shown once, stored hashed, act as their owner, revocable.</summary>
[Collection(AppHosts.Name)]
public sealed class ApiTokenTests
{
    [Fact]
    public async Task A_token_acts_as_its_owner_until_revoked_and_only_its_hash_is_stored()
    {
        await using var portal = new PortalFactory();
        await portal.EnsureUserAsync("ci-bot", Roles.Viewer);
        var accounts = portal.Services.GetRequiredService<AccountService>();

        var created = await accounts.CreateTokenAsync("ci-bot", "deploy pipeline", "admin");
        using var client = portal.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", created.Token);
        var allowed = await client.GetAsync("/v1/approvals");
        var voteForbidden = await client.PutAsync("/v1/approvals", new StringContent("{}", System.Text.Encoding.UTF8, "application/json"));
        var token = (await accounts.ListAsync()).Single(a => a.UserName == "ci-bot").Tokens.Single();
        await accounts.RevokeTokenAsync(token.Id, "admin");
        var revoked = await client.GetAsync("/v1/approvals");

        Assert.StartsWith(AccountService.TokenPrefix, created.Token, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, allowed.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, voteForbidden.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, revoked.StatusCode);
        Assert.NotNull(token.LastUsedAtUtc);
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();
        var database = await File.ReadAllTextAsync(Path.Combine(portal.DataDirectory, "portal.db"));
        Assert.DoesNotContain(created.Token!, database, StringComparison.Ordinal);
        var trail = await portal.Services.GetRequiredService<AuditTrail>().QueryAsync(new AuditQuery());
        Assert.Contains(trail.Entries, e => e.Action == "token.revoked");
    }
}
