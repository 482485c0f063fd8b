using KeelPortal.Approvals;
using KeelPortal.Chat;
using KeelPortal.Notifications;
using Bunit;
using KeelPortal.Tests.TestSupport;
using Microsoft.Extensions.DependencyInjection;

namespace KeelPortal.Tests.Chat;

/// <summary>
/// Keel's Slack bot without a public URL: the portal, configured with Keel's own variables, connects in Socket Mode to
/// an imitation of Slack that checks the tokens, requires every envelope to be acknowledged (and sends it again when it
/// is not, as Slack does) and records what the bot posts. Buttons and Keel's commands vote as the linked person, once.
/// </summary>
[Collection(AppHosts.Name)]
public sealed class SlackSocketModeTests
{
    private const string Workload = "deployment/shop/shop";
    private const string Identifier = Workload + ":1.1.0";
    private const string Approvals = SlackImitation.ApprovalsChannelId;

    private static PortalFactory AsKeelUsersSetIt(PortalFactory portal, SlackImitation slack, string appToken = SlackImitation.AppToken) => portal
        .With("SLACK_APP_TOKEN", appToken)
        .With("SLACK_BOT_TOKEN", SlackImitation.BotToken)
        .With("SLACK_CHANNELS", "deployments")
        .With("SLACK_APPROVALS_CHANNEL", "approvals")
        .With("Notifications:SlackApiUrl", slack.ApiUrl.AbsoluteUri)
        .With("Chat:ResponseUrlPrefixes:0", slack.ResponseUrl("").AbsoluteUri)
        .With("Work:FirstRetryDelay", "00:00:00.100");

    private static async Task<(PipelinePortal Pipeline, Approval Approval)> StartAsync(SlackImitation slack)
    {
        var pipeline = await PipelinePortal.StartAsync(configure: p => AsKeelUsersSetIt(p, slack));
        var approval = await pipeline.PendingAsync("shop", 2);
        await pipeline.LinkChatUsersAsync("slack", ("U0ALICE", "alice"), ("U0BOB", "bob"), ("U0VICTOR", "victor"));
        return (pipeline, approval);
    }

    private static string Text(System.Text.Json.Nodes.JsonObject reply) => reply["text"]!.GetValue<string>();

    [Fact]
    public async Task Keels_commands_are_answered_in_the_thread_and_buttons_and_commands_vote_as_the_linked_person_once()
    {
        await using var slack = await SlackImitation.StartAsync();
        var (pipeline, approval) = await StartAsync(slack);
        await using var _ = pipeline;
        await slack.ConnectedAsync();

        // The approval is asked in the approvals channel with the buttons: clicks come back over the socket.
        await Eventually.TrueAsync(() => slack.Posts.Any(p => p["channel"]?.GetValue<string>() == "approvals" && p.ToJsonString().Contains(MessageComposer.ApproveActionId, StringComparison.Ordinal)),
            TimeSpan.FromSeconds(30), "the approval message with its buttons in #approvals");

        // "get approvals" in the approvals channel, no mention needed: answered in the message's thread.
        var (_, listTs) = await slack.SayAsync("U0ALICE", Approvals, "get approvals");
        var list = await slack.ReplyToAsync(listTs);
        Assert.Equal(Approvals, list["channel"]!.GetValue<string>());
        Assert.Contains($"`{Identifier}` (#{approval.Id}): 1.0.0 → 1.1.0, 0/2 votes", Text(list), StringComparison.Ordinal);

        // Approving by direct message counts as alice; Slack sending the same envelope again counts nothing more.
        var (approveEnvelope, approveTs) = await slack.SayAsync("U0ALICE", "D0ALICE", $"approve {Identifier}", channelType: "im");
        Assert.Contains("alice: approved", Text(await slack.ReplyToAsync(approveTs)), StringComparison.Ordinal);
        await slack.ResendAsync(approveEnvelope);
        var (_, helpTs) = await slack.SayAsync("U0ALICE", "D0ALICE", "help", channelType: "im");
        Assert.Contains("`approve <identifier>`", Text(await slack.ReplyToAsync(helpTs)), StringComparison.Ordinal);
        Assert.Single(slack.RepliesTo(approveTs));
        Assert.Equal(["alice"], (await pipeline.Approvals.GetAsync(approval.Id))!.Votes.Select(v => v.Voter));

        // A Viewer's reject is refused; a vote by mention outside the approvals channel is pointed there.
        var (_, victorTs) = await slack.SayAsync("U0VICTOR", Approvals, $"reject {Identifier}");
        Assert.Contains("victor may not vote", Text(await slack.ReplyToAsync(victorTs)), StringComparison.Ordinal);
        var (_, elsewhereTs) = await slack.SayAsync("U0BOB", SlackImitation.GeneralChannelId, $"<@{SlackImitation.BotUserId}> approve #{approval.Id}", eventType: "app_mention");
        Assert.Contains("Votes are taken in #approvals or in a direct message", Text(await slack.ReplyToAsync(elsewhereTs)), StringComparison.Ordinal);

        // Talk in the approvals channel, a bot's message and an edit are left alone; work runs in order, so once the
        // mention after them is answered, they were passed over.
        var (_, chatterTs) = await slack.SayAsync("U0BOB", Approvals, "lunch anyone?");
        var (_, botTs) = await slack.SayAsync("U0BOB", Approvals, "get approvals", botId: "B0OTHER");
        var (_, editTs) = await slack.SayAsync("U0BOB", Approvals, "get approvals", subtype: "message_changed");
        var (_, unknownTs) = await slack.SayAsync("U0BOB", Approvals, $"<@{SlackImitation.BotUserId}> deploy everything", eventType: "app_mention");
        Assert.Contains("Say `help`", Text(await slack.ReplyToAsync(unknownTs)), StringComparison.Ordinal);
        Assert.Empty(slack.RepliesTo(chatterTs).Concat(slack.RepliesTo(botTs)).Concat(slack.RepliesTo(editTs)));
        Assert.Single((await pipeline.Approvals.GetAsync(approval.Id))!.Votes);

        // Bob's click on Approve over the socket is the second vote: the message is replaced, the update applied once.
        await slack.ClickAsync("U0BOB", MessageComposer.ApproveActionId, approval.Id, "bob");
        var decided = (await slack.ResponseAsync("bob")).ToJsonString();
        Assert.Contains("approved by alice, bob", decided, StringComparison.Ordinal);
        Assert.DoesNotContain(MessageComposer.ApproveActionId, decided, StringComparison.Ordinal);
        await pipeline.ApprovalAsync(Identifier, a => a.State == ApprovalState.Applied);
        Assert.Equal(1, pipeline.PatchesOf("shop"));

        // Every envelope was acknowledged; the audit names the voters and the way they voted; no token reached the log.
        await Eventually.TrueAsync(() => slack.Sent.All(slack.Acked), TimeSpan.FromSeconds(10), "every envelope acknowledged");
        var trail = await pipeline.Portal.Services.GetRequiredService<KeelPortal.Audit.AuditTrail>().QueryAsync(new KeelPortal.Audit.AuditQuery(PageSize: 500));
        Assert.Contains(trail.Entries, e => e.Action == "approval.voted" && e.Actor == "alice" && (e.Details ?? "").EndsWith("via Slack", StringComparison.Ordinal));
        Assert.Contains(trail.Entries, e => e.Action == "approval.voted" && e.Actor == "bob");
        Assert.DoesNotContain(pipeline.Portal.Logs.Lines, l => l.Message.Contains(SlackImitation.AppToken, StringComparison.Ordinal)
            || l.Message.Contains(SlackImitation.BotToken, StringComparison.Ordinal) || l.Message.Contains("ticket=", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_wrong_app_token_never_connects_and_a_refresh_or_its_warning_opens_a_new_connection()
    {
        await using var slack = await SlackImitation.StartAsync();
        await using (var wrong = AsKeelUsersSetIt(new PortalFactory(), slack, appToken: "xapp-1-not-this-app"))
        {
            var socket = wrong.Services.GetRequiredService<SlackSocket>();
            await Eventually.TrueAsync(() => socket.Status.State == SlackSocketState.Failing, TimeSpan.FromSeconds(30), "the refusal seen");
            Assert.StartsWith("Slack refused the app-level token (Chat:SlackAppToken); trying again in", socket.Status.Detail, StringComparison.Ordinal);
            Assert.True(slack.RefusedOpens >= 1);
            Assert.Empty(slack.Connections);
        }

        await using var portal = AsKeelUsersSetIt(new PortalFactory(), slack);
        var status = portal.Services.GetRequiredService<SlackSocket>();
        var first = await slack.ConnectedAsync(1);
        await Eventually.TrueAsync(() => status.Status.State == SlackSocketState.Connected, TimeSpan.FromSeconds(10), "connected");

        await first.DisconnectAsync("warning");
        await slack.ConnectedAsync(2);
        await Eventually.TrueAsync(() => !first.IsOpen, TimeSpan.FromSeconds(10), "the warned connection closed");
        await slack.Connections[1].DisconnectAsync("refresh_requested");
        await slack.ConnectedAsync(3);

        var (_, ts) = await slack.SayAsync("U0ALICE", "D0ALICE", "get approvals", channelType: "im");
        Assert.Equal("No approval is waiting for votes.", Text(await slack.ReplyToAsync(ts)));
        Assert.Single(slack.Open);
        Assert.Contains(slack.Connections[2].Acks, id => slack.Sent.Contains(id));

        // The Users page says so, with since when.
        await portal.EnsureUserAsync("root", KeelPortal.Access.Roles.Admin);
        await using var console = ConsoleContext.Create(portal.Services, "root", KeelPortal.Access.Roles.Admin);
        var panel = console.Render<ChatLinksPanel>();
        Assert.StartsWith("Slack in Socket Mode: connected since less than a minute ago", panel.Find("[data-testid=slack-socket]").TextContent.Trim(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Of_two_replicas_only_the_one_that_watches_the_cluster_holds_the_connection_and_the_other_takes_over()
    {
        await using var slack = await SlackImitation.StartAsync();
        await using var pipeline = await PipelinePortal.StartAsync(chartValues: ["replicas=2", "database.provider=postgres", "database.existingSecret=db"]);
        PortalFactory Replica(string name) => pipeline.SecondInstance(p => AsKeelUsersSetIt(p, slack).With("Workloads:LeaderElection", "on")
            .With("Workloads:LeaseNamespace", "keel").With("Workloads:ReplicaName", name).With("Workloads:LeaseDuration", "00:00:03"));
        await using var first = Replica("first");
        await slack.ConnectedAsync(1);
        await using var second = Replica("second");
        var standby = second.Services.GetRequiredService<SlackSocket>();
        await Eventually.TrueAsync(() => standby.Status.State == SlackSocketState.Standby, TimeSpan.FromSeconds(10), "the second replica on standby");
        Assert.Single(slack.Connections);

        // The first replica stops (a rolling update): it gives up the lease and its connection; the second takes both.
        await first.DisposeAsync();
        await slack.ConnectedAsync(2, TimeSpan.FromSeconds(60));
        await Eventually.TrueAsync(() => standby.Status.State == SlackSocketState.Connected, TimeSpan.FromSeconds(10), "the second replica connected");
        Assert.Single(slack.Open);
        var (_, ts) = await slack.SayAsync("U0ALICE", "D0ALICE", "help", channelType: "im");
        Assert.Contains("`get approvals`", Text(await slack.ReplyToAsync(ts)), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("SLACK_APP_TOKEN", "xoxb-not-an-app-token", "must be the Slack app's app-level token, starting with xapp-")]
    [InlineData("SLACK_BOT_TOKEN", "", "needs the bot token the bot answers with")]
    [InlineData("SLACK_BOT_TOKEN", "xapp-1-wrong-kind", "must be a bot token, starting with xoxb-")]
    public void Socket_mode_without_both_of_slacks_tokens_stops_start_up_naming_what_is_wrong(string name, string value, string problem)
    {
        using var portal = new PortalFactory().With("SLACK_APP_TOKEN", SlackImitation.AppToken).With("SLACK_BOT_TOKEN", SlackImitation.BotToken).With(name, value);

        var report = portal.RefusedSettingsReport();

        Assert.Contains(problem, report, StringComparison.Ordinal);
        if (value.Length > 0)
        {
            Assert.DoesNotContain(value, report, StringComparison.Ordinal);
        }
    }
}
