using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using KeelPortal.Access;
using KeelPortal.Approvals;
using KeelPortal.Audit;
using KeelPortal.Tests.TestSupport;
using KeelPortal.Workloads;
using Microsoft.Extensions.DependencyInjection;

namespace KeelPortal.Tests.Access;

/// <summary>No single approver can get around an approval's required votes, and a role is checked when it is used.</summary>
[Collection(AppHosts.Name)]
public sealed class ApprovalRulesTests : IAsyncLifetime
{
    private readonly Microsoft.Extensions.Time.Testing.FakeTimeProvider clock = new(DateTimeOffset.UtcNow);
    private PortalFactory portal = null!;

    private ApprovalBook Book => portal.Services.GetRequiredService<ApprovalBook>();

    public async Task InitializeAsync()
    {
        portal = new PortalFactory().With("Access:SessionRevalidation", "00:00:01").WithServices(s => s.AddSingleton<TimeProvider>(clock));
        await portal.EnsureUserAsync("root", Roles.Admin);
        await portal.EnsureUserAsync("alice", Roles.Approver);
        await portal.EnsureUserAsync("bob", Roles.Approver);
    }

    public async Task DisposeAsync() => await portal.DisposeAsync();

    private async Task<Approval> PendingAsync(int votes = 2, string workload = "deployment/shop/web")
    {
        var proposal = new Proposal(workload, "registry.example.com/shop/web", "1.2.3", "1.2.4", "sha256:" + new string('a', 64),
            [new ImageUpdate("app", "registry.example.com/shop/web:1.2.4")], votes, TimeSpan.FromHours(24), "eligible");
        var created = await Book.ProposeAsync(proposal, _ => true);
        return (await Book.GetAsync(created.ApprovalId!.Value))!;
    }

    private HttpClient Api(string user)
    {
        var client = portal.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"{user}:{SignIn.Password}")));
        return client;
    }

    [Fact]
    public async Task An_approver_cannot_lower_the_required_votes_and_approve_alone()
    {
        var approval = await PendingAsync(votes: 2);
        using var alice = Api("alice");

        using var vote = await alice.PostAsJsonAsync("/v1/approvals", new { identifier = approval.Identifier, action = "approve" });
        using var toOne = await alice.PutAsJsonAsync("/v1/approvals", new { identifier = "deployment/shop/web", provider = "kubernetes", votesRequired = 1 });
        using var toZero = await alice.PutAsJsonAsync("/v1/approvals", new { identifier = "deployment/shop/web", provider = "kubernetes", votesRequired = 0 });
        var after = await Book.GetAsync(approval.Id);

        Assert.Equal(HttpStatusCode.OK, vote.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, toOne.StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, toZero.StatusCode);
        Assert.Contains("needs the Admin role", await toOne.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal((ApprovalState.Pending, 2, null), (after!.State, after.VotesRequired, after.VotesRequiredChangedBy));
    }

    [Fact]
    public async Task An_administrator_changes_required_votes_audited_before_and_after_and_shown_on_the_approval()
    {
        var approval = await PendingAsync(votes: 3);
        await Book.VoteAsync(approval.Id, "alice", approve: true);
        using var root = Api("root");

        using var put = await root.PutAsJsonAsync("/v1/approvals", new { identifier = "deployment/shop/web", provider = "kubernetes", votesRequired = 2 });
        using var listed = JsonDocument.Parse(await root.GetStringAsync("/v1/approvals"));
        var after = await Book.GetAsync(approval.Id);
        var trail = await portal.Services.GetRequiredService<AuditTrail>().QueryAsync(new AuditQuery("approval.votes-required"));

        Assert.Equal(HttpStatusCode.OK, put.StatusCode);
        Assert.Equal((ApprovalState.Pending, 2, 3, "root"), (after!.State, after.VotesRequired, after.VotesRequiredBefore, after.VotesRequiredChangedBy));
        var entry = Assert.Single(trail.Entries);
        Assert.Equal(("root", "3 -> 2"), (entry.Actor, entry.Details));
        var change = listed.RootElement.EnumerateArray().Single().GetProperty("votesRequiredChange");
        Assert.Equal((3, "root"), (change.GetProperty("from").GetInt32(), change.GetProperty("by").GetString()));
    }

    [Fact]
    public async Task Keels_list_moves_updated_at_with_each_vote_and_names_who_rejected()
    {
        var approval = await PendingAsync(votes: 3);
        using var alice = Api("alice");
        using var bob = Api("bob");

        using var before = JsonDocument.Parse(await alice.GetStringAsync("/v1/approvals"));
        clock.Advance(TimeSpan.FromMinutes(1));
        using var vote = await alice.PostAsJsonAsync("/v1/approvals", new { identifier = approval.Identifier, action = "approve" });
        using var afterVote = JsonDocument.Parse(await alice.GetStringAsync("/v1/approvals"));
        using var reject = await bob.PostAsJsonAsync("/v1/approvals", new { identifier = approval.Identifier, action = "reject" });
        using var afterReject = JsonDocument.Parse(await alice.GetStringAsync("/v1/approvals"));

        DateTime UpdatedAt(JsonDocument d) => d.RootElement[0].GetProperty("updatedAt").GetDateTime();
        Assert.Equal(TimeSpan.FromMinutes(1), UpdatedAt(afterVote) - UpdatedAt(before));
        Assert.Equal(JsonValueKind.Null, afterVote.RootElement[0].GetProperty("rejectedBy").ValueKind);
        Assert.True(afterReject.RootElement[0].GetProperty("rejected").GetBoolean());
        Assert.Equal("bob", afterReject.RootElement[0].GetProperty("rejectedBy").GetString());
    }

    [Theory]
    [InlineData("archive")]
    [InlineData("delete")]
    public async Task Archiving_or_deleting_an_approval_needs_an_administrator(string action)
    {
        var approval = await PendingAsync();
        using var alice = Api("alice");
        using var root = Api("root");

        using var refused = await alice.PostAsJsonAsync("/v1/approvals", new { identifier = approval.Identifier, action });
        var untouched = await Book.GetAsync(approval.Id);
        using var done = await root.PostAsJsonAsync("/v1/approvals", new { identifier = approval.Identifier, action });
        var closed = await Book.GetAsync(approval.Id);

        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);
        Assert.Contains("needs the Admin role", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal((ApprovalState.Pending, false), (untouched!.State, untouched.Archived));
        Assert.Equal(HttpStatusCode.OK, done.StatusCode);
        Assert.Equal((ApprovalState.Rejected, true), (closed!.State, closed.Archived));
    }

    [Fact]
    public async Task A_vote_checks_the_voters_role_at_the_moment_of_the_vote()
    {
        var approval = await PendingAsync();
        var accounts = portal.Services.GetRequiredService<AccountService>();
        var gate = portal.Services.GetRequiredService<ApprovalGate>();

        await accounts.SetRoleAsync("alice", Roles.Viewer, "root");
        var demoted = await gate.VoteAsync("alice", approval.Id, approve: true);
        await accounts.LockAsync("bob", "root");
        var locked = await gate.VoteAsync("bob", approval.Id, approve: true);
        var removedBefore = await accounts.RemoveAsync("alice", "root");
        var removed = await gate.VoteAsync("alice", approval.Id, approve: true);

        Assert.Equal(VoteOutcome.NotAllowed, demoted.Outcome);
        Assert.Contains("Viewer", demoted.Reason, StringComparison.Ordinal);
        Assert.Equal(VoteOutcome.NotAllowed, locked.Outcome);
        Assert.True(removedBefore.Succeeded, removedBefore.Error);
        Assert.Equal(VoteOutcome.NotAllowed, removed.Outcome);
        Assert.Empty((await Book.GetAsync(approval.Id))!.Votes);
    }

    [Fact]
    public async Task An_API_vote_uses_the_role_its_request_read_and_any_other_principal_is_read_again()
    {
        var approval = await PendingAsync();
        var accounts = portal.Services.GetRequiredService<AccountService>();
        var gate = portal.Services.GetRequiredService<ApprovalGate>();
        var token = (await accounts.CreateTokenAsync("alice", "ci", "alice")).Token!;
        using var api = portal.CreateClient();
        api.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);

        // Demoted after the token was issued: the request's own read sees it, and the vote is refused.
        await accounts.SetRoleAsync("alice", Roles.Viewer, "root");
        using var demoted = await api.PostAsJsonAsync("/v1/approvals", new { identifier = approval.Identifier, action = "approve" });
        // A principal of another scheme (a console session's copy of its roles) is not trusted for the role: it is read again.
        var stale = new System.Security.Claims.ClaimsPrincipal(new System.Security.Claims.ClaimsIdentity(
            [new(System.Security.Claims.ClaimTypes.Name, "alice"), new(System.Security.Claims.ClaimTypes.Role, Roles.Admin)], "Cookies"));
        var fromSession = await gate.VoteAsync(stale, approval.Id, approve: true);
        await accounts.SetRoleAsync("alice", Roles.Approver, "root");
        using var counted = await api.PostAsJsonAsync("/v1/approvals", new { identifier = approval.Identifier, action = "approve" });

        Assert.Equal(HttpStatusCode.Forbidden, demoted.StatusCode);
        Assert.Equal(VoteOutcome.NotAllowed, fromSession.Outcome);
        Assert.Contains("Viewer", fromSession.Reason, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, counted.StatusCode);
        Assert.Equal(["alice"], (await Book.GetAsync(approval.Id))!.Votes.Select(v => v.Voter));
    }

    [Fact]
    public async Task Console_administrator_actions_check_the_role_at_the_moment_they_act()
    {
        var accounts = portal.Services.GetRequiredService<AccountService>();
        var check = portal.Services.GetRequiredService<AdminCheck>();
        await portal.EnsureUserAsync("ada", Roles.Admin);
        // The open page's principal still says Admin: what counts is the database now.
        var staleSession = Task.FromResult(new Microsoft.AspNetCore.Components.Authorization.AuthenticationState(new System.Security.Claims.ClaimsPrincipal(
            new System.Security.Claims.ClaimsIdentity([new(System.Security.Claims.ClaimTypes.Name, "ada"), new(System.Security.Claims.ClaimTypes.Role, Roles.Admin)], "test"))));

        var before = await check.NameAsync(staleSession);
        await accounts.SetRoleAsync("ada", Roles.Approver, "root");
        var after = await check.NameAsync(staleSession);

        Assert.Equal(("ada", null), (before, after));
    }

    [Fact]
    public async Task The_last_administrator_cannot_be_demoted_locked_or_removed()
    {
        var accounts = portal.Services.GetRequiredService<AccountService>();

        var demote = await accounts.SetRoleAsync("root", Roles.Viewer, "alice");
        var lockSelf = await accounts.LockAsync("root", "root");
        var remove = await accounts.RemoveAsync("root", "alice");

        Assert.False(demote.Succeeded);
        Assert.False(lockSelf.Succeeded);
        Assert.False(remove.Succeeded);
        Assert.Equal(Roles.Admin, await accounts.CurrentRoleAsync("root"));
    }
}
