using KeelPortal.Notifications;
using KeelPortal.Tests.TestSupport;

namespace KeelPortal.Tests.Notifications;

/// <summary>What arrives at each kind of receiver, byte for byte against golden files, through the real delivery jobs.</summary>
[Collection(AppHosts.Name)]
public sealed class NotificationMessageTests
{
    private static readonly (string Path, ChannelType Type, string? Channel, string? Username, string? Icon)[] Receivers =
    [
        ("slack", ChannelType.Slack, "#deployments", "keel-bot", "https://keel.example.com/icon.png"),
        ("mattermost", ChannelType.Mattermost, null, "keel", "https://keel.example.com/icon.png"),
        ("teams", ChannelType.Teams, null, null, null),
        ("discord", ChannelType.Discord, null, "KeelPortal", null),
        ("webhook", ChannelType.Webhook, null, null, null),
    ];

    [Fact]
    public async Task Every_channel_type_receives_the_json_in_the_golden_files()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        using var portal = NotificationHost.Portal();
        foreach (var (path, type, channel, username, icon) in Receivers)
        {
            await portal.AddAsync(NotificationHost.Channel(path, type, receiver.Url(path), channel: channel, username: username, icon: icon));
        }

        Assert.Equal(5, await portal.RaiseAsync("test:approval", NotificationHost.ApprovalRequired()));
        foreach (var (path, _, _, _, _) in Receivers)
        {
            await receiver.WaitForAsync(path, 1);
        }
        Assert.Equal(5, await portal.RaiseAsync("test:applied", NotificationHost.UpdateApplied()));
        foreach (var (path, _, _, _, _) in Receivers)
        {
            var messages = await receiver.WaitForAsync(path, 2);
            NotificationHost.MatchesGolden($"{path}-approval-required", messages[0].Json);
            NotificationHost.MatchesGolden($"{path}-update-applied", messages[1].Json);
            Assert.StartsWith("application/json", messages[0].ContentType, StringComparison.Ordinal);
        }

        // The parts the issue names, spelled out beside the golden files.
        var slack = receiver.At("slack")[0].Json;
        var blocks = slack["attachments"]![0]!["blocks"]!.AsArray();
        Assert.Equal("#2196F3", slack["attachments"]![0]!["color"]!.GetValue<string>());
        Assert.Equal("header", blocks[0]!["type"]!.GetValue<string>());
        Assert.Contains(blocks, b => b!["type"]!.GetValue<string>() == "actions"
            && b["elements"]![0]!["url"]!.GetValue<string>() == "https://keel.example.com/approvals#approval-7");
        var mattermost = receiver.At("mattermost")[1].Json;
        Assert.Equal("keel", mattermost["username"]!.GetValue<string>());
        Assert.Equal("https://keel.example.com/icon.png", mattermost["icon_url"]!.GetValue<string>());
        Assert.Contains("Successfully updated deployment shop/web 1.2.3->1.2.4 (registry.example.com/team/app:1.2.4). Release notes: https://github.com/example/app/releases/tag/1.2.4",
            mattermost["text"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal("#00C853", mattermost["attachments"]![0]!["color"]!.GetValue<string>());
        Assert.Equal(0x00C853, receiver.At("discord")[1].Json["embeds"]![0]!["color"]!.GetValue<int>());
        var keel = receiver.At("webhook")[1].Json;
        Assert.Equal(("deployment update", "success", "deployment/shop/web"),
            (keel["type"]!.GetValue<string>(), keel["level"]!.GetValue<string>(), keel["identifier"]!.GetValue<string>()));
    }

    /// <summary>Values from a workload, a registry and people that try to mention, link, format or track, in every format.</summary>
    public static Notification Hostile() => new(
        NotificationEvents.UpdateApplied, NotificationLevel.Success,
        NotificationText.Applied("deployment", "shop", "web_*app*", "1.2.3", "<!channel> @channel [Approve here](https://evil.example)",
            ["registry.example.com/team/app:![t](https://evil.example/p.png)"], "<https://evil.example|Approve here>"),
        "deployment", "shop", "web_*app*", "1.2.3", "@here ~~1.2.4~~ `x` |a|b|", "alice\n# heading @all", null,
        "javascript:alert(1)", "workloads/deployment/shop/web", new DateTime(2026, 11, 27, 10, 5, 0, DateTimeKind.Utc));

    [Fact]
    public async Task Hostile_values_are_text_in_every_chat_format_and_unsafe_release_notes_are_left_out()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        using var portal = NotificationHost.Portal();
        foreach (var (path, type, channel, username, icon) in Receivers)
        {
            await portal.AddAsync(NotificationHost.Channel(path, type, receiver.Url(path), channel: channel, username: username, icon: icon));
        }

        Assert.Equal(5, await portal.RaiseAsync("test:hostile", Hostile()));
        foreach (var (path, _, _, _, _) in Receivers)
        {
            NotificationHost.MatchesGolden($"{path}-hostile", (await receiver.WaitForAsync(path, 1))[0].Json);
        }

        var slack = receiver.At("slack")[0].Json.ToJsonString();
        Assert.DoesNotContain("<!channel>", slack, StringComparison.Ordinal);
        Assert.DoesNotContain("<https://evil.example|", slack, StringComparison.Ordinal);
        var mattermost = receiver.At("mattermost")[0].Json;
        Assert.DoesNotContain("@channel", mattermost.ToJsonString(), StringComparison.Ordinal);
        Assert.DoesNotMatch(@"(?<!\\)\]\(https://evil", mattermost["text"]!.GetValue<string>());
        Assert.Contains("\\[Approve here\\](https://evil.example)", mattermost["text"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.DoesNotContain("Release notes", mattermost["text"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Empty(receiver.At("discord")[0].Json["allowed_mentions"]!["parse"]!.AsArray());
        Assert.DoesNotContain("javascript:", receiver.At("webhook")[0].Json.ToJsonString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("https://github.com/example/app/releases/tag/1.2.4", "https://github.com/example/app/releases/tag/1.2.4")]
    [InlineData("https://example.com/notes_(v2)?a=1&b=[2]", "https://example.com/notes%5F%28v2%29?a=1&b=%5B2%5D")]
    [InlineData("https://user:pass@example.com/notes", null)]
    [InlineData("javascript:alert(1)", null)]
    [InlineData("ftp://example.com/notes", null)]
    [InlineData("<https://evil.example|Approve here>", null)]
    [InlineData("notes.example.com", null)]
    public void Release_notes_reach_a_message_only_as_a_safe_link(string notes, string? expected)
    {
        Assert.Equal(expected, KeelPortal.Registries.SafeLink.ForMessage(notes));
        Assert.Equal(expected is null ? "Successfully updated deployment shop/web 1->2 (a:2)" : $"Successfully updated deployment shop/web 1->2 (a:2). Release notes: {expected}",
            NotificationText.Applied("deployment", "shop", "web", "1", "2", ["a:2"], notes));
    }

    [Fact]
    public async Task A_failed_update_uses_keels_sentence_and_the_error_colour()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        using var portal = NotificationHost.Portal();
        await portal.AddAsync(NotificationHost.Channel("slack", ChannelType.Slack, receiver.Url("slack")));

        await portal.RaiseAsync("test:failed", NotificationHost.UpdateFailed());
        var message = (await receiver.WaitForAsync("slack"))[0].Json;

        NotificationHost.MatchesGolden("slack-update-failed", message);
        // Slack's text is mrkdwn: its control characters arrive as entities, which Slack shows as the characters.
        Assert.Equal("Update failed: deployment shop/web update 1.2.3-&gt;1.2.4 failed, error: admission webhook denied the request", message["text"]!.GetValue<string>());
        Assert.Equal("#F44336", message["attachments"]![0]!["color"]!.GetValue<string>());
    }

    [Fact]
    public async Task Keels_environment_variables_become_channels_and_a_slack_bot_token_posts_with_the_web_api()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.Answer("api/chat.postMessage", (200, """{"ok":true}"""), (200, """{"ok":true}"""));
        using var portal = NotificationHost.Portal()
            .With("SLACK_TOKEN", "xoxb-test-token-1234")
            .With("SLACK_CHANNELS", "deployments")
            .With("SLACK_BOT_NAME", "keel-bot")
            .With("Notifications:SlackApiUrl", receiver.Url("api/chat.postMessage").AbsoluteUri)
            .With("MATTERMOST_ENDPOINT", receiver.Url("mattermost").AbsoluteUri)
            .With("MATTERMOST_USERNAME", "deployer")
            .With("TEAMS_WEBHOOK_URL", receiver.Url("teams").AbsoluteUri)
            .With("DISCORD_WEBHOOK_URL", receiver.Url("discord").AbsoluteUri)
            .With("WEBHOOK_ENDPOINT", receiver.Url("webhook").AbsoluteUri)
            .With("NOTIFICATION_LEVEL", "success");

        Assert.Equal(5, await portal.RaiseAsync("test:applied", NotificationHost.UpdateApplied()));
        Assert.Equal(0, await portal.RaiseAsync("test:approval", NotificationHost.ApprovalRequired()));

        var slack = (await receiver.WaitForAsync("api/chat.postMessage"))[0];
        Assert.Equal("Bearer xoxb-test-token-1234", slack.Authorization);
        Assert.Equal(("deployments", "keel-bot"), (slack.Json["channel"]!.GetValue<string>(), slack.Json["username"]!.GetValue<string>()));
        Assert.Equal("deployer", (await receiver.WaitForAsync("mattermost"))[0].Json["username"]!.GetValue<string>());
        await receiver.WaitForAsync("teams");
        await receiver.WaitForAsync("discord");
        Assert.Equal("success", (await receiver.WaitForAsync("webhook"))[0].Json["level"]!.GetValue<string>());
        var listed = await Microsoft.Extensions.DependencyInjection.ServiceProviderServiceExtensions
            .GetRequiredService<ChannelDirectory>(portal.Services).ListAsync();
        Assert.Equal(["deployments", "discord", "mattermost", "teams", "webhook"], listed.Select(c => c.Name));
        Assert.All(listed, c => Assert.Equal(ConfiguredChannels.FromKeelVariables, c.Source));
        Assert.Equal("xoxb-••••••", listed[0].MaskedTarget);
    }

    [Fact]
    public async Task Slack_refusing_a_bot_token_message_is_a_failed_delivery_with_slacks_reason()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.Answer("api/chat.postMessage", (200, """{"ok":false,"error":"channel_not_found"}"""));
        using var portal = NotificationHost.Portal()
            .With("SLACK_TOKEN", "xoxb-test-token-1234")
            .With("SLACK_CHANNELS", "nowhere")
            .With("Notifications:SlackApiUrl", receiver.Url("api/chat.postMessage").AbsoluteUri);

        await portal.RaiseAsync("test:failed", NotificationHost.UpdateFailed());
        var delivery = await portal.DeliveryAsync("nowhere", d => d.State == DeliveryState.Failed);

        Assert.Equal(1, delivery.Attempts);
        Assert.Equal("Slack refused the message: channel_not_found", delivery.Answer);
    }
}
