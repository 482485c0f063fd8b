using System.Text.Json.Nodes;
using KeelPortal.Chat;

namespace KeelPortal.Tests.Chat;

/// <summary>Keel's bot commands as Slack sends their text, and which messages reach the bot at all.</summary>
public sealed class SlackCommandsTests
{
    [Theory]
    [InlineData("help", SlackCommandKind.Help, null, false)]
    [InlineData("<@U0KEELBOT> help", SlackCommandKind.Help, null, false)]
    [InlineData("<@U0KEELBOT|keel>:  Get   Approvals ", SlackCommandKind.ListApprovals, null, false)]
    [InlineData("keel approve deployment/default/wd:0.0.15", SlackCommandKind.Vote, "deployment/default/wd:0.0.15", true)]
    [InlineData("reject #12", SlackCommandKind.Vote, "12", false)]
    [InlineData("APPROVE <http://deployment/a/b:1.0|deployment/a/b:1.0>", SlackCommandKind.Vote, "deployment/a/b:1.0", true)]
    [InlineData("approve &lt;x&gt;", SlackCommandKind.Vote, "<x>", true)]
    [InlineData("approve", SlackCommandKind.Unknown, null, false)]
    [InlineData("approve a b", SlackCommandKind.Unknown, null, false)]
    [InlineData("<!channel> get deployments", SlackCommandKind.Unknown, null, false)]
    [InlineData("help me", SlackCommandKind.Unknown, null, false)]
    public void A_commands_text_is_read_as_keel_read_it(string text, SlackCommandKind kind, string? identifier, bool approve)
    {
        var command = SlackCommand.Parse(text, "keel");

        Assert.Equal((kind, identifier, approve), (command.Kind, command.Identifier, command.Approve));
    }

    private static JsonObject Event(string type = "message", string user = "U0ALICE", string channel = "C0APPROVALS", string text = "help", string? channelType = "channel") =>
        new() { ["type"] = type, ["user"] = user, ["channel"] = channel, ["text"] = text, ["ts"] = "1765000000.000100", ["channel_type"] = channelType };

    [Fact]
    public void Only_direct_messages_the_approvals_channel_and_mentions_reach_the_bot_and_never_a_bot_or_an_edit()
    {
        const string bot = "U0KEELBOT";
        const string approvals = "C0APPROVALS";

        Assert.Equal(SlackPlace.ApprovalsChannel, SlackMessage.Parse(Event(), bot, approvals)!.Place);
        Assert.Equal(SlackPlace.Direct, SlackMessage.Parse(Event(channel: "D0ALICE", channelType: "im"), bot, approvals)!.Place);
        Assert.Equal(SlackPlace.Mention, SlackMessage.Parse(Event("app_mention", channel: "C0GENERAL", text: "<@U0KEELBOT> help"), bot, approvals)!.Place);
        Assert.Equal(SlackPlace.ApprovalsMention, SlackMessage.Parse(Event("app_mention", text: "<@U0KEELBOT> help"), bot, approvals)!.Place);
        // The message event of a mention in the approvals channel: the app_mention event answers it.
        Assert.Null(SlackMessage.Parse(Event(text: "<@U0KEELBOT> help"), bot, approvals));
        Assert.Null(SlackMessage.Parse(Event(channel: "C0GENERAL"), bot, approvals));
        Assert.Null(SlackMessage.Parse(Event(user: bot), bot, approvals));
        var fromBot = Event();
        fromBot["bot_id"] = "B0OTHER";
        Assert.Null(SlackMessage.Parse(fromBot, bot, approvals));
        var edit = Event();
        edit["subtype"] = "message_changed";
        Assert.Null(SlackMessage.Parse(edit, bot, approvals));
        Assert.Null(SlackMessage.Parse(Event(user: "not a user"), bot, approvals));
        Assert.Null(SlackMessage.Parse(Event(channel: "../x"), bot, approvals));
        Assert.Null(SlackMessage.Parse(Event(text: new string('a', 4001)), bot, approvals));
        // Without a known approvals channel, only direct messages and mentions reach it.
        Assert.Null(SlackMessage.Parse(Event(), bot, null));
        var threaded = Event();
        threaded["thread_ts"] = "1764999999.000200";
        Assert.Equal("1764999999.000200", SlackMessage.Parse(threaded, bot, approvals)!.ThreadTs);
    }
}
