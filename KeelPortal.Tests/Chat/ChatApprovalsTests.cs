using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Bunit;
using KeelPortal.Access;
using KeelPortal.Approvals;
using KeelPortal.Chat;
using KeelPortal.Notifications;
using KeelPortal.Tests.Notifications;
using KeelPortal.Tests.TestSupport;
using Microsoft.AspNetCore.Components;
using Microsoft.Extensions.DependencyInjection;

namespace KeelPortal.Tests.Chat;

/// <summary>
/// Approving from chat on the real pipeline (registry, API test server, a loopback receiver for the messages): Slack's
/// signed interactions and Mattermost's action callbacks count a vote for the linked person and update the message;
/// a wrong signature, an old timestamp, a tampered secret, an unlinked user and a Viewer are refused and count nothing;
/// Teams gets signed links that open the decision in the console.
/// </summary>
[Collection(AppHosts.Name)]
public sealed class ChatApprovalsTests
{
    private const string SigningSecret = "test-slack-signing-secret";
    private const string Workload = "deployment/shop/shop";

    private static Dictionary<string, string> Keel(params (string Key, string Value)[] pairs) => pairs.ToDictionary(p => p.Key, p => p.Value);

    private static async Task<(PipelinePortal Pipeline, Approval Approval)> StartAsync(WebhookReceiver receiver, ChannelType type)
    {
        var pipeline = await PipelinePortal.StartAsync(configure: p => p
            .With("Notifications:PublicBaseUrl", NotificationHost.BaseUrl)
            .With("Work:FirstRetryDelay", "00:00:00.100")
            .With("Chat:SlackSigningSecret", SigningSecret)
            .With("Chat:ResponseUrlPrefixes:0", receiver.Url("respond/").AbsoluteUri));
        await pipeline.Portal.AddAsync(NotificationHost.Channel("team", type, receiver.Url("team")));
        var repository = pipeline.Repository("team/shop");
        await pipeline.Pusher.PushAsync("team/shop", "1.0.0");
        await pipeline.Pusher.PushAsync("team/shop", "1.1.0");
        pipeline.Deploy("shop", $"{repository}:1.0.0", Keel(("keel.sh/policy", "minor"), ("keel.sh/trigger", "poll")), labels: Keel(("keel.sh/approvals", "2")));
        await pipeline.TrackedAsync(Workload);
        await pipeline.PollNowAsync(repository);
        var approval = await pipeline.ApprovalAsync($"{Workload}:1.1.0", a => a.State == ApprovalState.Pending);
        await pipeline.LinkChatUsersAsync(type == ChannelType.Mattermost ? "mattermost" : "slack", ("U0ALICE", "alice"), ("U0VICTOR", "victor"));
        return (pipeline, approval);
    }

    private static async Task<HttpResponseMessage> SlackAsync(PipelinePortal pipeline, WebhookReceiver receiver, string user, long approvalId, string responsePath,
        string action = MessageComposer.ApproveActionId, string secret = SigningSecret, TimeSpan? age = null)
    {
        var payload = new JsonObject
        {
            ["type"] = "block_actions",
            ["user"] = new JsonObject { ["id"] = user, ["username"] = user.ToLowerInvariant() },
            ["actions"] = new JsonArray(new JsonObject { ["action_id"] = action, ["value"] = approvalId.ToString(System.Globalization.CultureInfo.InvariantCulture) }),
            ["response_url"] = receiver.Url("respond/" + responsePath).AbsoluteUri,
        };
        var body = "payload=" + Uri.EscapeDataString(payload.ToJsonString());
        var timestamp = (DateTimeOffset.UtcNow - (age ?? TimeSpan.Zero)).ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture);
        using var request = new HttpRequestMessage(HttpMethod.Post, new Uri(pipeline.Url, "v1/chat/slack/interactions"))
        {
            Content = new StringContent(body, Encoding.UTF8, "application/x-www-form-urlencoded"),
        };
        request.Headers.Add("X-Slack-Request-Timestamp", timestamp);
        request.Headers.Add("X-Slack-Signature", SlackSignature.Sign(secret, timestamp, Encoding.UTF8.GetBytes(body)));
        using var client = new HttpClient();
        return await client.SendAsync(request);
    }

    private static async Task<int> VotesAsync(PipelinePortal pipeline, long id) => (await pipeline.Approvals.GetAsync(id))!.Votes.Count;

    [Fact]
    public async Task A_signed_Slack_click_votes_as_the_linked_person_and_updates_the_message_and_everything_else_is_refused()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var (pipeline, approval) = await StartAsync(receiver, ChannelType.Slack);
        await using var _ = pipeline;
        var asked = (await receiver.WaitForAsync("team", 1))[0].Json;
        var buttons = asked["attachments"]![0]!["blocks"]!.AsArray().Single(b => b!["block_id"]?.GetValue<string>() == $"keelportal.decide.{approval.Id}")!["elements"]!.AsArray();
        Assert.Equal([MessageComposer.ApproveActionId, MessageComposer.RejectActionId], buttons.Select(b => b!["action_id"]!.GetValue<string>()));
        Assert.All(buttons, b => Assert.Equal(approval.Id.ToString(System.Globalization.CultureInfo.InvariantCulture), b!["value"]!.GetValue<string>()));

        // Refused before anything is read: a wrong signature, a replayed old request.
        Assert.Equal(HttpStatusCode.Unauthorized, (await SlackAsync(pipeline, receiver, "U0ALICE", approval.Id, "x", secret: "wrong-secret")).StatusCode);
        using (var stale = await SlackAsync(pipeline, receiver, "U0ALICE", approval.Id, "x", age: TimeSpan.FromMinutes(6)))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, stale.StatusCode);
            Assert.Contains("more than 5 minutes from now", await stale.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }
        Assert.Equal(0, await VotesAsync(pipeline, approval.Id));

        // Signed but not allowed: an unlinked user is told how to link, a Viewer that it may not vote; nothing counted.
        Assert.Equal(HttpStatusCode.OK, (await SlackAsync(pipeline, receiver, "U0NOBODY", approval.Id, "nobody")).StatusCode);
        var refusal = (await receiver.WaitForAsync("respond/nobody", 1))[0].Json;
        Assert.Equal("ephemeral", refusal["response_type"]!.GetValue<string>());
        Assert.Contains("not linked to a KeelPortal account", refusal["text"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await SlackAsync(pipeline, receiver, "U0VICTOR", approval.Id, "victor")).StatusCode);
        Assert.Contains("victor may not vote", (await receiver.WaitForAsync("respond/victor", 1))[0].Json["text"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(0, await VotesAsync(pipeline, approval.Id));

        // Alice's click counts as alice, once; the message is replaced with the votes so far and keeps its buttons.
        Assert.Equal(HttpStatusCode.OK, (await SlackAsync(pipeline, receiver, "U0ALICE", approval.Id, "alice")).StatusCode);
        var updated = (await receiver.WaitForAsync("respond/alice", 1))[0].Json;
        Assert.True(updated["replace_original"]!.GetValue<bool>());
        Assert.Contains("1/2: alice", updated.ToJsonString(), StringComparison.Ordinal);
        Assert.Contains(MessageComposer.ApproveActionId, updated.ToJsonString(), StringComparison.Ordinal);
        Assert.Equal(["alice"], (await pipeline.Approvals.GetAsync(approval.Id))!.Votes.Select(v => v.Voter));
        Assert.Equal(HttpStatusCode.OK, (await SlackAsync(pipeline, receiver, "U0ALICE", approval.Id, "again")).StatusCode);
        Assert.Contains("already voted", (await receiver.WaitForAsync("respond/again", 1))[0].Json["text"]!.GetValue<string>(), StringComparison.Ordinal);
        var trail = await pipeline.Portal.Services.GetRequiredService<KeelPortal.Audit.AuditTrail>().QueryAsync(new KeelPortal.Audit.AuditQuery(PageSize: 500));
        Assert.Contains(trail.Entries, e => e.Action == "approval.voted" && e.Actor == "alice" && (e.Details ?? "").EndsWith("via Slack", StringComparison.Ordinal));

        // The unlinked person follows the private link, signed in as bob; their next click is bob's vote and approves it.
        var token = Uri.UnescapeDataString(refusal["text"]!.GetValue<string>().Split("token=")[1]);
        await using (var console = ConsoleContext.Create(pipeline.Portal.Services, "bob", Roles.Approver))
        {
            console.Services.GetRequiredService<NavigationManager>().NavigateTo($"/account/chat-link?token={Uri.EscapeDataString(token)}");
            var page = console.Render<ChatLinkPage>();
            page.Find("[data-testid=chat-link-confirm]").Click();
            page.WaitForAssertion(() => Assert.Contains("now votes as bob", page.Find("[data-testid=chat-link-message]").TextContent, StringComparison.Ordinal));
        }
        Assert.Equal(HttpStatusCode.OK, (await SlackAsync(pipeline, receiver, "U0NOBODY", approval.Id, "bob")).StatusCode);
        var decided = (await receiver.WaitForAsync("respond/bob", 1))[0].Json.ToJsonString();
        Assert.Contains("approved by alice, bob", decided, StringComparison.Ordinal);
        Assert.DoesNotContain(MessageComposer.ApproveActionId, decided, StringComparison.Ordinal);
        await pipeline.ApprovalAsync($"{Workload}:1.1.0", a => a.State == ApprovalState.Applied);
        Assert.Equal(1, pipeline.PatchesOf("shop"));
    }

    [Fact]
    public async Task A_Mattermost_click_never_names_its_voter_it_answers_with_a_private_sign_in_link_and_the_signed_in_person_votes()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var (pipeline, approval) = await StartAsync(receiver, ChannelType.Mattermost);
        await using var _ = pipeline;
        var actions = (await receiver.WaitForAsync("team", 1))[0].Json["attachments"]![0]!["actions"]!.AsArray();
        Assert.Equal(["approve", "reject"], actions.Select(a => a!["id"]!.GetValue<string>()));
        Assert.Equal($"{NotificationHost.BaseUrl}v1/chat/mattermost/actions", actions[0]!["integration"]!["url"]!.GetValue<string>());
        var approve = actions[0]!["integration"]!["context"]!.AsObject();
        var reject = actions[1]!["integration"]!["context"]!.AsObject();
        using var mattermost = new HttpClient { BaseAddress = pipeline.Url };
        Task<HttpResponseMessage> ActAsync(string user, JsonObject context) =>
            mattermost.PostAsJsonAsync("v1/chat/mattermost/actions", new JsonObject { ["user_id"] = user, ["channel_id"] = "c1", ["context"] = context.DeepClone() });

        // The reject button's secret does not approve; no secret, a made-up one, or another approval's id is refused.
        var swapped = (JsonObject)reject.DeepClone();
        swapped["action"] = "approve";
        var otherApproval = (JsonObject)approve.DeepClone();
        otherApproval["approval"] = approval.Id + 1;
        var forged = (JsonObject)approve.DeepClone();
        forged["secret"] = "CfDJ8forged";
        foreach (var bad in new[] { swapped, otherApproval, forged })
        {
            Assert.Equal(HttpStatusCode.Unauthorized, (await ActAsync("U0ALICE", bad)).StatusCode);
        }
        Assert.Equal(HttpStatusCode.BadRequest, (await mattermost.PostAsync("v1/chat/mattermost/actions", new StringContent("{not json", Encoding.UTF8, "application/json"))).StatusCode);

        // Whoever holds the Approve secret and names a linked user (alice) votes as nobody: the answer is a link that needs sign-in.
        string link;
        using (var claimed = await ActAsync("U0ALICE", approve))
        {
            Assert.Equal(HttpStatusCode.OK, claimed.StatusCode);
            var text = (await claimed.Content.ReadFromJsonAsync<JsonObject>())!["ephemeral_text"]!.GetValue<string>();
            Assert.Contains("sign in to KeelPortal", text, StringComparison.Ordinal);
            Assert.DoesNotContain("chat-link", text, StringComparison.Ordinal);
            link = System.Text.RegularExpressions.Regex.Match(text, @"https?://\S+approvals/decide\?token=\S+").Value;
            Assert.NotEmpty(link);
        }
        using (var unlinked = await ActAsync("U0NOBODY", approve))
        {
            // No link token for an identity Mattermost did not prove: nobody can pre-claim a chat id.
            Assert.DoesNotContain("chat-link", (await unlinked.Content.ReadFromJsonAsync<JsonObject>())!["ephemeral_text"]!.GetValue<string>(), StringComparison.Ordinal);
        }
        Assert.Equal(0, await VotesAsync(pipeline, approval.Id));

        // The person who opens the link and is signed in votes, as themselves.
        await using var console = ConsoleContext.Create(pipeline.Portal.Services, "bob", Roles.Approver);
        console.Services.GetRequiredService<NavigationManager>().NavigateTo(link.Replace(NotificationHost.BaseUrl, "/", StringComparison.Ordinal));
        var page = console.Render<DecidePage>();
        page.WaitForAssertion(() => page.Find("[data-testid=decide-confirm]"), TimeSpan.FromSeconds(10));
        page.Find("[data-testid=decide-confirm]").Click();
        page.WaitForAssertion(() => Assert.Contains("Your vote was counted", page.Find("[data-testid=decide-message]").TextContent, StringComparison.Ordinal));
        Assert.Equal(["bob"], (await pipeline.Approvals.GetAsync(approval.Id))!.Votes.Select(v => v.Voter));
    }

    [Fact]
    public async Task A_Teams_message_carries_signed_links_that_open_the_decision_for_the_signed_in_person()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var (pipeline, approval) = await StartAsync(receiver, ChannelType.Teams);
        await using var _ = pipeline;
        var card = (await receiver.WaitForAsync("team", 1))[0].Json["attachments"]![0]!["content"]!;
        var links = card["actions"]!.AsArray().ToDictionary(a => a!["title"]!.GetValue<string>(), a => a!["url"]!.GetValue<string>());
        Assert.StartsWith($"{NotificationHost.BaseUrl}approvals/decide?token=", links["Approve"], StringComparison.Ordinal);
        Assert.NotEqual(links["Approve"], links["Reject"]);

        await using var console = ConsoleContext.Create(pipeline.Portal.Services, "bob", Roles.Approver);
        var navigation = console.Services.GetRequiredService<NavigationManager>();
        navigation.NavigateTo(links["Approve"].Replace(NotificationHost.BaseUrl, "/", StringComparison.Ordinal));
        var page = console.Render<DecidePage>();
        // The page reads the approval after its first render.
        page.WaitForAssertion(() => page.Find("[data-testid=decide-confirm]"), TimeSpan.FromSeconds(10));
        page.Find("[data-testid=decide-confirm]").Click();
        page.WaitForAssertion(() => Assert.Contains("Your vote was counted", page.Find("[data-testid=decide-message]").TextContent, StringComparison.Ordinal));
        Assert.Equal(["bob"], (await pipeline.Approvals.GetAsync(approval.Id))!.Votes.Select(v => v.Voter));

        // A link altered by one character is not the portal's.
        navigation.NavigateTo(links["Reject"].Replace(NotificationHost.BaseUrl, "/", StringComparison.Ordinal)[..^2] + "xx");
        var tampered = console.Render<DecidePage>();
        tampered.WaitForAssertion(() => Assert.Contains("not one the portal signed", tampered.Find("[data-testid=decide-problem]").TextContent, StringComparison.Ordinal),
            TimeSpan.FromSeconds(10));
        Assert.Single((await pipeline.Approvals.GetAsync(approval.Id))!.Votes);
    }
}
