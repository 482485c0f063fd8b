using KeelPortal.Notifications;
using KeelPortal.Tests.TestSupport;

namespace KeelPortal.Tests.Notifications;

/// <summary>Keel's SHOUTRRR_URLS: each service URL becomes a channel of the kind it names; any other service stops start-up naming its scheme.</summary>
[Collection(AppHosts.Name)]
public sealed class ShoutrrrUrlsTests
{
    [Theory]
    [InlineData("slack://hook:T0001-B0002-secretpart@webhook?botname=keel", ChannelType.Slack, "https://hooks.slack.com/services/T0001/B0002/secretpart", null, "keel")]
    [InlineData("slack://keelbot@T0001/B0002/secretpart", ChannelType.Slack, "https://hooks.slack.com/services/T0001/B0002/secretpart", null, "keelbot")]
    [InlineData("slack://xoxb:123-456-abc@C0123DEPLOY", ChannelType.Slack, "xoxb-123-456-abc", "C0123DEPLOY", null)]
    [InlineData("discord://tok-en@693853386302554172", ChannelType.Discord, "https://discord.com/api/webhooks/693853386302554172/tok-en", null, null)]
    [InlineData("mattermost://keel@chat.example.com/bywsw8zt5jgpte/deploys", ChannelType.Mattermost, "https://chat.example.com/hooks/bywsw8zt5jgpte", "deploys", "keel")]
    [InlineData("mattermost://chat.example.com:8065/bywsw8zt5jgpte?disabletls=yes", ChannelType.Mattermost, "http://chat.example.com:8065/hooks/bywsw8zt5jgpte", null, null)]
    [InlineData("teams://group1@tenant1/alt1/owner1?host=acme.webhook.office.com", ChannelType.Teams, "https://acme.webhook.office.com/webhookb2/group1@tenant1/IncomingWebhook/alt1/owner1", null, null)]
    [InlineData("generic://hooks.example.com/keel", ChannelType.Webhook, "https://hooks.example.com/keel", null, null)]
    [InlineData("generic+http://127.0.0.1:8080/keel", ChannelType.Webhook, "http://127.0.0.1:8080/keel", null, null)]
    [InlineData("smtp://u:p@mail.example.com:587/?from=keel@example.com&to=ops@example.com", ChannelType.Email, "smtp://u:p@mail.example.com:587/?from=keel@example.com&to=ops@example.com", null, null)]
    public void Each_service_url_becomes_the_channel_it_names(string url, ChannelType type, string target, string? channel, string? username)
    {
        var (channels, errors) = ShoutrrrUrls.Parse(url);

        Assert.Empty(errors);
        var parsed = Assert.Single(channels);
        Assert.Equal((type, target, channel, username), (parsed.Type, parsed.Target, parsed.Channel, parsed.Username));
    }

    [Fact]
    public void A_service_keelportal_does_not_speak_is_named_by_its_scheme_and_no_url_is_quoted()
    {
        var (channels, errors) = ShoutrrrUrls.Parse("generic://hooks.example.com/a  ntfy://secret-token@ntfy.sh/topic\nslack://hook:only-two@webhook");

        Assert.Single(channels);
        Assert.Equal(2, errors.Count);
        Assert.StartsWith("SHOUTRRR_URLS entry 2 (scheme 'ntfy'): KeelPortal does not send to this service", errors[0], StringComparison.Ordinal);
        Assert.StartsWith("SHOUTRRR_URLS entry 3 (slack): a Slack webhook token has three parts", errors[1], StringComparison.Ordinal);
        Assert.DoesNotContain(errors, e => e.Contains("secret-token", StringComparison.Ordinal) || e.Contains("only-two", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Keels_shoutrrr_urls_deliver_notifications_and_an_unknown_service_stops_start_up()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        var hook = receiver.Url("shout");
        using var portal = NotificationHost.Portal()
            .With("SHOUTRRR_URLS", $"generic+http://{hook.Authority}{hook.AbsolutePath}");

        await portal.RaiseAsync("test:applied", NotificationHost.UpdateApplied());
        var delivery = await portal.DeliveryAsync("shoutrrr-1-generic-http", d => d.State == DeliveryState.Delivered);

        Assert.Equal(200, delivery.StatusCode);
        Assert.Single(receiver.At("shout"));
        using var refused = new PortalFactory().With("SHOUTRRR_URLS", "pushbullet://secret-token-9/device");
        var report = refused.RefusedSettingsReport();
        Assert.Contains("SHOUTRRR_URLS entry 1 (scheme 'pushbullet')", report, StringComparison.Ordinal);
        Assert.DoesNotContain("secret-token-9", report, StringComparison.Ordinal);
    }
}
