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
    [Trait("Database", "sqlite")] // Reads the SQLite file itself.
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

    [Fact]
    public async Task A_token_with_an_expiry_stops_working_when_it_passes_and_the_list_says_so()
    {
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(new DateTimeOffset(2026, 11, 30, 12, 0, 0, TimeSpan.Zero));
        await using var portal = new PortalFactory().WithServices(s => s.AddSingleton<TimeProvider>(clock));
        await portal.EnsureUserAsync("ci-bot", Roles.Viewer);
        var accounts = portal.Services.GetRequiredService<AccountService>();

        var past = await accounts.CreateTokenAsync("ci-bot", "stale", "admin", clock.GetUtcNow().UtcDateTime.AddMinutes(-1));
        var created = await accounts.CreateTokenAsync("ci-bot", "deploy pipeline", "admin", clock.GetUtcNow().UtcDateTime.AddHours(2));
        using var client = portal.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", created.Token);
        var before = await client.GetAsync("/v1/approvals");
        // (Hours, not weeks: the fake clock fires every periodic timer of the portal once per period it skips.)
        clock.Advance(TimeSpan.FromHours(2));
        var after = await client.GetAsync("/v1/approvals");

        Assert.False(past.Succeeded);
        Assert.Equal(HttpStatusCode.OK, before.StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, after.StatusCode);
        var token = (await accounts.ListAsync()).Single(a => a.UserName == "ci-bot").Tokens.Single();
        Assert.Equal(("deploy pipeline", new DateTime(2026, 11, 30, 14, 0, 0)), (token.Name, token.ExpiresAtUtc!.Value));
        Assert.Equal(new DateTime(2026, 11, 30, 12, 0, 0), token.LastUsedAtUtc);
    }

    [Fact]
    public async Task A_tokens_last_use_is_kept_to_the_minute_without_a_write_on_every_call()
    {
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(new DateTimeOffset(2026, 11, 30, 12, 0, 0, TimeSpan.Zero));
        await using var portal = new PortalFactory().WithServices(s => s.AddSingleton<TimeProvider>(clock));
        await portal.EnsureUserAsync("ci-bot", Roles.Viewer);
        var accounts = portal.Services.GetRequiredService<AccountService>();
        var created = await accounts.CreateTokenAsync("ci-bot", "deploy pipeline", "admin");
        using var client = portal.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", created.Token);
        async Task<DateTime?> UseAsync(TimeSpan after)
        {
            clock.Advance(after);
            (await client.GetAsync("/v1/approvals")).EnsureSuccessStatusCode();
            return (await accounts.ListAsync()).Single(a => a.UserName == "ci-bot").Tokens.Single().LastUsedAtUtc;
        }

        var first = await UseAsync(TimeSpan.Zero);
        var soon = await UseAsync(TimeSpan.FromSeconds(40));
        var later = await UseAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(new DateTime(2026, 11, 30, 12, 0, 0), first);
        Assert.Equal(first, soon);
        Assert.Equal(new DateTime(2026, 11, 30, 12, 1, 10), later);
    }

    [Fact]
    public async Task An_administrator_gives_someone_a_new_password_that_the_rules_accept_and_the_old_one_stops_working()
    {
        await using var portal = new PortalFactory();
        await portal.EnsureUserAsync("dora", Roles.Approver);
        var accounts = portal.Services.GetRequiredService<AccountService>();

        var tooShort = await accounts.SetPasswordAsync("dora", "short", "root");
        var changed = await accounts.SetPasswordAsync("dora", "a-brand-new-long-password", "root");

        Assert.False(tooShort.Succeeded);
        Assert.NotNull(tooShort.Error);
        Assert.True(changed.Succeeded, changed.Error);
        Assert.Null(await accounts.AuthenticatePasswordAsync("dora", SignIn.Password, "Basic"));
        Assert.NotNull(await accounts.AuthenticatePasswordAsync("dora", "a-brand-new-long-password", "Basic"));
        var trail = await portal.Services.GetRequiredService<AuditTrail>().QueryAsync(new AuditQuery());
        Assert.Contains(trail.Entries, e => e.Action == "user.password" && e.Subject == "user/dora");
    }
}
