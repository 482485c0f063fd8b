using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using KeelPortal.Approvals;
using KeelPortal.Audit;
using KeelPortal.Tests.TestSupport;
using KeelPortal.Updates;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace KeelPortal.Tests.Access;

/// <summary>
/// Every stored value from outside is checked: each <c>/v1</c> field gets an over-long, a control-character and a
/// grammar-breaking value, and each is refused with a problem naming what is wrong, with nothing stored or audited.
/// </summary>
[Collection(AppHosts.Name)]
public sealed class InputSweepTests : IAsyncLifetime
{
    private PortalFactory portal = null!;
    private HttpClient client = null!;

    public async Task InitializeAsync()
    {
        // Webhooks are closed without a secret; this sweep sends none.
        portal = new PortalFactory().With("Triggers:RequireWebhookSecret", "true");
        await portal.EnsureUserAsync("root", KeelPortal.Access.Roles.Admin);
        client = portal.CreateClient();
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"root:{SignIn.Password}")));
    }

    public async Task DisposeAsync()
    {
        client.Dispose();
        await portal.DisposeAsync();
    }

    private static readonly string Long = new('x', 3000);

    public static TheoryData<string, string, object, int, string> Hostile => new()
    {
        // The tag grammar for a skipped version.
        { "POST", "/v1/skips", new { workload = "deployment/shop/web", version = "../../x", reason = "r" }, 422, "is not a tag" },
        { "POST", "/v1/skips", new { workload = "deployment/shop/web", version = "1.2.0;id", reason = "r" }, 422, "is not a tag" },
        { "POST", "/v1/skips", new { workload = "deployment/shop/web", version = new string('1', 300), reason = "r" }, 422, "is not a tag" },
        { "POST", "/v1/skips", new { workload = "deployment/shop/web", version = "1.2.0\u0007", reason = "r" }, 422, "is not a tag" },
        { "POST", "/v1/skips", new { workload = "deployment/shop/web", version = "-1.2.0", reason = "r" }, 422, "is not a tag" },
        { "POST", "/v1/skips", new { workload = "deployment/shop/web", version = "1.2.0", reason = Long }, 422, "longer than" },
        // Reasons people give.
        { "POST", "/v1/holds", new { workload = "deployment/shop/web", reason = Long }, 422, "longer than" },
        { "POST", "/v1/rollbacks", new { workload = "deployment/shop/web", version = "1.0.0", reason = Long }, 422, "longer than" },
        { "POST", "/v1/freezes", new { reason = Long, starts = "2026-12-24T00:00:00Z", ends = "2026-12-27T00:00:00Z" }, 422, "longer than" },
        // Windows: names, days and hours by grammar.
        { "POST", "/v1/windows", new { name = "Night\u0000", days = "mon-fri", hours = "22:00-06:00", timeZone = "UTC" }, 422, "name" },
        { "POST", "/v1/windows", new { name = Long, days = "mon-fri", hours = "22:00-06:00", timeZone = "UTC" }, 422, "name" },
        { "POST", "/v1/windows", new { name = "night", days = "mon-fri;rm", hours = "22:00-06:00", timeZone = "UTC" }, 422, "day" },
        { "POST", "/v1/windows", new { name = "night", days = "mon-fri", hours = "22:00-06:00", timeZone = "../../etc/localtime" }, 422, "time zone" },
        // Keel's approvals API.
        { "POST", "/v1/approvals", new { identifier = Long, action = "approve" }, 404, "not found" },
        { "POST", "/v1/approvals", new { identifier = "deployment/shop/web:1.0.0", action = "approve\u0007now" }, 400, "is not approve" },
        { "PUT", "/v1/approvals", new { identifier = "deployment/shop/web;x", provider = "kubernetes", votesRequired = 1 }, 400, "identifier" },
        { "PUT", "/v1/approvals", new { identifier = "deployment/shop/web", provider = "kubernetes", votesRequired = -1 }, 400, "votesRequired" },
    };

    [Theory]
    [MemberData(nameof(Hostile))]
    public async Task A_hostile_value_in_any_field_is_refused_with_a_reason_and_nothing_is_stored(string method, string path, object body, int status, string says)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method), path) { Content = JsonContent.Create(body) };

        using var response = await client.SendAsync(request);

        var text = await response.Content.ReadAsStringAsync();
        Assert.True((HttpStatusCode)status == response.StatusCode, $"{(int)response.StatusCode}: {text}");
        using var problem = JsonDocument.Parse(text);
        Assert.Contains(says, problem.RootElement.GetProperty("detail").GetString(), StringComparison.OrdinalIgnoreCase);
        Assert.Equal(["user.created"], (await portal.Services.GetRequiredService<AuditTrail>().QueryAsync(new AuditQuery())).Entries.Select(e => e.Action));
        await using var db = await portal.Services.GetRequiredService<IDbContextFactory<KeelPortal.Data.PortalDbContext>>().CreateDbContextAsync();
        Assert.False(await db.Set<VersionSkip>().AnyAsync());
        Assert.False(await db.Set<WorkloadHold>().AnyAsync());
    }

    [Theory]
    [InlineData(2001, false)]
    [InlineData(2000, true)]
    public async Task A_vote_comment_is_limited_on_the_server_whatever_the_page_allows(int length, bool counted)
    {
        var book = portal.Services.GetRequiredService<ApprovalBook>();
        var proposed = await book.ProposeAsync(new Proposal("deployment/shop/web", "registry.example/shop/web", "1.0.0", "1.1.0", null,
            [new KeelPortal.Workloads.ImageUpdate("app", "registry.example/shop/web:1.1.0")], 2, TimeSpan.FromHours(1), "test"), _ => true);

        var vote = await book.VoteAsync(proposed.ApprovalId!.Value, "root", approve: true, comment: new string('c', length));
        var control = await book.VoteAsync(proposed.ApprovalId!.Value, "alice", approve: false, comment: "fine\u001b[31m red");

        Assert.Equal(counted ? VoteOutcome.Counted : VoteOutcome.Invalid, vote.Outcome);
        Assert.Equal(VoteOutcome.Invalid, control.Outcome);
        Assert.Contains("control characters", control.Reason, StringComparison.Ordinal);
        var stored = await book.GetAsync(proposed.ApprovalId!.Value);
        Assert.Equal(ApprovalState.Pending, stored!.State);
        Assert.Equal(counted ? 1 : 0, stored.Votes.Count);
    }
}
