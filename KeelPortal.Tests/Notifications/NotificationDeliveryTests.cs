using System.Text;
using KeelPortal.Notifications;
using KeelPortal.Tests.TestSupport;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;

namespace KeelPortal.Tests.Notifications;

/// <summary>Retries, final answers, filters and secrets, against the loopback receiver.</summary>
[Collection(AppHosts.Name)]
public sealed class NotificationDeliveryTests
{
    [Fact]
    public async Task A_server_error_is_retried_and_the_same_message_then_delivered()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.Answer("flaky", (500, "upstream broke"), (503, "still broken"));
        using var portal = NotificationHost.Portal();
        await portal.AddAsync(NotificationHost.Channel("flaky", ChannelType.Mattermost, receiver.Url("flaky")));

        await portal.RaiseAsync("test:applied", NotificationHost.UpdateApplied());
        var delivery = await portal.DeliveryAsync("flaky", d => d.State == DeliveryState.Delivered);

        Assert.Equal((3, 200, "200 OK: ok"), (delivery.Attempts, delivery.StatusCode, delivery.Answer));
        var bodies = receiver.At("flaky").Select(m => m.Body).ToList();
        Assert.Equal(3, bodies.Count);
        Assert.Single(bodies.Distinct());
        // Every attempt names the delivery the same way, so a receiver that keeps keys can drop a copy.
        var key = Assert.Single(receiver.At("flaky").Select(m => m.IdempotencyKey).Distinct());
        Assert.Equal($"keelportal-delivery-{delivery.Id}", key);
        Assert.Contains(portal.Logs.Lines, l => l.Message.Contains("Notification UpdateApplied to channel flaky: attempt 1 failed (500 Internal Server Error: upstream broke); it is tried again", StringComparison.Ordinal));
    }

    [Fact]
    public async Task A_client_error_is_final_and_not_retried()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.Answer("gone", (400, "invalid_payload"));
        using var portal = NotificationHost.Portal();
        await portal.AddAsync(NotificationHost.Channel("gone", ChannelType.Slack, receiver.Url("gone")));

        await portal.RaiseAsync("test:applied", NotificationHost.UpdateApplied());
        var delivery = await portal.DeliveryAsync("gone", d => d.State == DeliveryState.Failed);
        // A second event proves the queue moved on; the first one's receiver still saw exactly one request.
        await portal.RaiseAsync("test:failed", NotificationHost.UpdateFailed());
        await portal.DeliveryAsync("gone", d => d.EventKey == "test:failed" && d.State == DeliveryState.Delivered);

        Assert.Equal((1, 400, "400 Bad Request: invalid_payload"), (delivery.Attempts, delivery.StatusCode, delivery.Answer));
        Assert.Equal(2, receiver.At("gone").Count);
        Assert.Contains(portal.Logs.Lines, l => l.Message == "Notification UpdateApplied to channel gone was not delivered after 1 attempt(s): 400 Bad Request: invalid_payload");
    }

    [Fact]
    public async Task Retries_stop_after_the_configured_attempts()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.Answer("down", (502, "bad gateway"), (502, "bad gateway"), (502, "bad gateway"), (502, "bad gateway"));
        using var portal = NotificationHost.Portal().With("Work:MaxAttempts", "3");
        await portal.AddAsync(NotificationHost.Channel("down", ChannelType.Webhook, receiver.Url("down")));

        await portal.RaiseAsync("test:applied", NotificationHost.UpdateApplied());
        var delivery = await portal.DeliveryAsync("down", d => d.State == DeliveryState.Failed);

        Assert.Equal((3, 502), (delivery.Attempts, delivery.StatusCode));
        Assert.Equal(3, receiver.At("down").Count);
    }

    [Fact]
    public async Task A_receiver_that_never_answers_is_abandoned_per_attempt_and_retried()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.Hang("silent");
        using var portal = NotificationHost.Portal().With("Notifications:AttemptTimeout", "00:00:01").With("Work:MaxAttempts", "2");
        await portal.AddAsync(NotificationHost.Channel("silent", ChannelType.Discord, receiver.Url("silent")));

        await portal.RaiseAsync("test:applied", NotificationHost.UpdateApplied());
        var delivery = await portal.DeliveryAsync("silent", d => d.State == DeliveryState.Failed);

        Assert.Equal((2, null, "no answer within 1 s"), (delivery.Attempts, delivery.StatusCode, delivery.Answer));
    }

    [Fact]
    public async Task Event_filters_levels_defaults_and_disabled_channels_decide_who_is_told()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        using var portal = NotificationHost.Portal();
        await portal.AddAsync(NotificationHost.Channel("everything", ChannelType.Webhook, receiver.Url("everything")));
        await portal.AddAsync(NotificationHost.Channel("failures", ChannelType.Webhook, receiver.Url("failures"), events: NotificationEvents.UpdateFailed | NotificationEvents.RolloutFailed));
        await portal.AddAsync(NotificationHost.Channel("loud", ChannelType.Webhook, receiver.Url("loud"), level: NotificationLevel.Warn));
        await portal.AddAsync(NotificationHost.Channel("team-a", ChannelType.Mattermost, receiver.Url("team-a"), isDefault: false));
        var directory = portal.Services.GetRequiredService<ChannelDirectory>();
        await portal.AddAsync(NotificationHost.Channel("off", ChannelType.Webhook, receiver.Url("off")));
        var off = (await directory.ListAsync()).Single(c => c.Name == "off");
        Assert.True(await directory.SetEnabledAsync(off.Id!.Value, enabled: false, "admin"));

        Assert.Equal(1, await portal.RaiseAsync("test:approval", NotificationHost.ApprovalRequired()));
        Assert.Equal(3, await portal.RaiseAsync("test:failed", NotificationHost.UpdateFailed()));
        Assert.Equal(1, await portal.RaiseAsync("test:named", NotificationHost.UpdateApplied(), "team-a", "#Team-A", "nobody"));
        Assert.Equal(0, await portal.RaiseAsync("test:approval", NotificationHost.ApprovalRequired()));

        await receiver.WaitForAsync("everything", 2);
        await receiver.WaitForAsync("failures", 1);
        await receiver.WaitForAsync("loud", 1);
        await receiver.WaitForAsync("team-a", 1);
        Assert.Equal(["ApprovalRequired", "UpdateFailed"], receiver.At("everything").Select(m => m.Json["metadata"]!["event"]!.GetValue<string>()));
        Assert.Equal("UpdateFailed", receiver.At("failures")[0].Json["metadata"]!["event"]!.GetValue<string>());
        Assert.Equal("UpdateFailed", receiver.At("loud")[0].Json["metadata"]!["event"]!.GetValue<string>());
        Assert.Contains("Successfully updated", receiver.At("team-a")[0].Json["text"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Empty(receiver.At("off"));
        Assert.Contains(portal.Logs.Lines, l => l.Message.Contains("deployment/shop/web: keel.sh/notify names channel(s) nobody that are not configured", StringComparison.Ordinal));
    }

    [Fact]
    [Trait("Database", "sqlite")] // Reads the SQLite file itself.
    public async Task The_webhook_url_is_encrypted_at_rest_masked_and_never_logged()
    {
        const string secret = "T0SECRET/B0SECRET/xyzzy-plugh-4242";
        await using var receiver = await WebhookReceiver.StartAsync();
        receiver.Answer($"services/{secret}", (500, "oops"));
        using var portal = NotificationHost.Portal();
        var url = receiver.Url($"services/{secret}");
        await portal.AddAsync(NotificationHost.Channel("secret", ChannelType.Slack, url));
        using var closed = new ClosedPort();
        var unreachable = new Uri($"http://127.0.0.1:{closed.Port}/services/{secret}");
        await portal.AddAsync(NotificationHost.Channel("unreachable", ChannelType.Mattermost, unreachable));

        await portal.RaiseAsync("test:applied", NotificationHost.UpdateApplied());
        await portal.DeliveryAsync("secret", d => d.State == DeliveryState.Delivered);
        var failed = await portal.DeliveryAsync("unreachable", d => d.Attempts >= 2);
        var test = await portal.Services.GetRequiredService<NotificationCenter>().SendTestAsync("secret", "admin");
        var listed = await portal.Services.GetRequiredService<ChannelDirectory>().ListAsync();

        Assert.True(test.Delivered, test.Answer);
        Assert.Equal($"{url.Scheme}://{url.Authority}/••••••", listed.Single(c => c.Name == "secret").MaskedTarget);
        Assert.DoesNotContain("xyzzy", failed.Answer, StringComparison.Ordinal);
        Assert.Contains(portal.Logs.Lines, l => l.Message.Contains("Notification UpdateApplied to channel unreachable", StringComparison.Ordinal));
        Assert.DoesNotContain("xyzzy", portal.Logs.AllText, StringComparison.Ordinal);
        // The database files as they are on disk, write-ahead log included; the job storage and key ring too.
        var files = Directory.GetFiles(portal.DataDirectory, "*", SearchOption.AllDirectories);
        Assert.Contains(files, f => f.EndsWith("portal.db", StringComparison.Ordinal));
        foreach (var file in files)
        {
            var bytes = await File.ReadAllBytesAsync(file);
            Assert.False(bytes.AsSpan().IndexOf("xyzzy"u8) >= 0, $"{Path.GetFileName(file)} holds the webhook URL in plain text");
            Assert.False(bytes.AsSpan().IndexOf(Encoding.Unicode.GetBytes("xyzzy")) >= 0, $"{Path.GetFileName(file)} holds the webhook URL in UTF-16");
        }
    }

    [Theory]
    [InlineData("not a url")]
    [InlineData("ftp://files.example.com/hook")]
    [InlineData("/services/relative")]
    [InlineData("https://")]
    [InlineData("")]
    public async Task A_channel_whose_url_is_not_http_is_refused_with_a_reason_and_nothing_is_stored(string url)
    {
        using var portal = NotificationHost.Portal();
        var directory = portal.Services.GetRequiredService<ChannelDirectory>();

        var result = await directory.SaveAsync(new ChannelInput(null, "ops", ChannelType.Mattermost, url, null, null, null,
            NotificationEvents.All, NotificationLevel.Info, true, true), "admin");

        Assert.False(result.Succeeded);
        Assert.Contains(url.Length == 0 ? "Enter the Mattermost incoming-webhook URL" : "The webhook URL must be an absolute http:// or https:// URL", result.Error, StringComparison.Ordinal);
        Assert.Empty(await directory.ListAsync());
    }

    [Fact]
    public async Task Other_bad_channel_input_is_refused_with_a_reason()
    {
        using var portal = NotificationHost.Portal().With("WEBHOOK_ENDPOINT", "https://hooks.example.com/keel");
        var directory = portal.Services.GetRequiredService<ChannelDirectory>();
        ChannelInput Input(string? name, ChannelType type = ChannelType.Slack, string? target = "https://hooks.example.com/x", string? channel = null,
            NotificationEvents events = NotificationEvents.All, string? icon = null) =>
            new(null, name, type, target, channel, null, icon, events, NotificationLevel.Info, true, true);

        Assert.Contains("is not a channel name", (await directory.SaveAsync(Input("ops,dev"), "admin")).Error, StringComparison.Ordinal);
        Assert.Contains("Enter a name", (await directory.SaveAsync(Input(" "), "admin")).Error, StringComparison.Ordinal);
        Assert.Contains("enter the channel", (await directory.SaveAsync(Input("ops", target: "xoxb-123"), "admin")).Error, StringComparison.Ordinal);
        Assert.Contains("at least one event", (await directory.SaveAsync(Input("ops", events: NotificationEvents.None), "admin")).Error, StringComparison.Ordinal);
        Assert.Contains("icon must be", (await directory.SaveAsync(Input("ops", icon: "javascript:alert(1)"), "admin")).Error, StringComparison.Ordinal);
        Assert.Contains("up to 200 characters", (await directory.SaveAsync(Input("ops", channel: new string('c', 201)), "admin")).Error, StringComparison.Ordinal);
        Assert.Contains("up to 2,000 characters", (await directory.SaveAsync(Input("ops", target: "https://h.example.com/" + new string('x', 2000)), "admin")).Error, StringComparison.Ordinal);
        Assert.Contains("declared in configuration", (await directory.SaveAsync(Input("Webhook"), "admin")).Error, StringComparison.Ordinal);
        Assert.True((await directory.SaveAsync(Input("ops"), "admin")).Succeeded);
        Assert.Contains("exists already", (await directory.SaveAsync(Input("OPS"), "admin")).Error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_misdeclared_channel_stops_start_up_naming_it_but_not_its_url()
    {
        using var portal = NotificationHost.Portal()
            .With("Notifications:Channels:0:Name", "ops")
            .With("Notifications:Channels:0:Type", "Slack")
            .With("Notifications:Channels:0:Url", "hooks.slack.com/services/T0/B0/hidden-part")
            .With("Notifications:Channels:1:Name", "pager")
            .With("Notifications:Channels:1:Type", "Pager")
            .With("Notifications:Channels:1:Url", "https://pager.example.com/hidden-part")
            .With("Notifications:Channels:1:Events:0", "Exploded");

        var message = portal.RefusedSettingsReport();

        Assert.Contains("Notifications:Channels:0 (ops): Url must be an absolute http:// or https:// URL", message, StringComparison.Ordinal);
        Assert.Contains("Notifications:Channels:1 (pager): Type must be one of Slack, Mattermost, Teams, Discord, Webhook, Email, Telegram, Pushover.", message, StringComparison.Ordinal);
        Assert.Contains("'Exploded' is not an event", message, StringComparison.Ordinal);
        Assert.DoesNotContain("hidden-part", message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_channel_declared_in_configuration_receives_what_its_filters_allow()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        using var portal = NotificationHost.Portal()
            .With("Notifications:Channels:0:Name", "gitops")
            .With("Notifications:Channels:0:Type", "mattermost")
            .With("Notifications:Channels:0:Url", receiver.Url("gitops").AbsoluteUri)
            .With("Notifications:Channels:0:Events:0", "update-failed")
            .With("Notifications:Channels:0:Username", "keel-gitops");

        Assert.Equal(0, await portal.RaiseAsync("test:applied", NotificationHost.UpdateApplied()));
        Assert.Equal(1, await portal.RaiseAsync("test:failed", NotificationHost.UpdateFailed()));

        var message = (await receiver.WaitForAsync("gitops"))[0].Json;
        Assert.Equal("keel-gitops", message["username"]!.GetValue<string>());
        var listed = Assert.Single(await portal.Services.GetRequiredService<ChannelDirectory>().ListAsync());
        Assert.Equal((ConfiguredChannels.FromSettings, NotificationEvents.UpdateFailed, (long?)null), (listed.Source, listed.Events, listed.Id));
    }

    [Fact]
    public async Task A_delivery_whose_claim_was_taken_over_neither_posts_nor_records_and_the_holder_posts_it_once()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        using var portal = NotificationHost.Portal();
        await portal.AddAsync(NotificationHost.Channel("ops", ChannelType.Webhook, receiver.Url("ops")));
        var contexts = portal.Services.GetRequiredService<IDbContextFactory<KeelPortal.Data.PortalDbContext>>();
        // Its work, now held by another replica.
        var (delivery, work) = await HeldDeliveryAsync(contexts, "the-new-holder");
        var now = DateTime.UtcNow;
        KeelPortal.Data.WorkContext Claim(string token) => new(work.Id, now, 1, 5, token, async ct =>
        {
            await using var db = await contexts.CreateDbContextAsync(ct);
            return await db.Set<KeelPortal.Data.PortalEvent>().AnyAsync(e => e.Id == work.Id && e.ClaimToken == token, ct);
        }, TimeProvider.System, TimeSpan.FromSeconds(30));
        var handler = ActivatorUtilities.CreateInstance<DeliveryHandler>(portal.Services);

        // The replica frozen past its lease wakes up: its fence says the claim is gone before anything is posted.
        await handler.HandleAsync(new DeliveryDue(delivery.Id), Claim("the-old-holder"), CancellationToken.None);
        Assert.Empty(receiver.At("ops"));
        var untouched = (await portal.Services.GetRequiredService<NotificationCenter>().LogAsync("ops")).Single(d => d.Id == delivery.Id);
        Assert.Equal((DeliveryState.Pending, 0), (untouched.State, untouched.Attempts));

        await handler.HandleAsync(new DeliveryDue(delivery.Id), Claim("the-new-holder"), CancellationToken.None);
        Assert.Single(receiver.At("ops"));
        var delivered = (await portal.Services.GetRequiredService<NotificationCenter>().LogAsync("ops")).Single(d => d.Id == delivery.Id);
        Assert.Equal((DeliveryState.Delivered, 1), (delivered.State, delivered.Attempts));
    }

    [Fact]
    public async Task A_sender_that_stands_still_between_its_fence_and_its_post_sends_nothing_when_it_wakes_and_the_next_attempt_sends_it_once()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        using var portal = NotificationHost.Portal();
        await portal.AddAsync(NotificationHost.Channel("ops", ChannelType.Webhook, receiver.Url("ops")));
        var contexts = portal.Services.GetRequiredService<IDbContextFactory<KeelPortal.Data.PortalDbContext>>();
        var (delivery, work) = await HeldDeliveryAsync(contexts, "the-holder");
        var clock = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
        var claim = new KeelPortal.Data.WorkContext(work.Id, DateTime.UtcNow, 1, 5, "the-holder", _ => Task.FromResult(true), clock, TimeSpan.FromSeconds(4));
        // The process stands still for 10 s after the fence renewed the claim (4 s safe) and before the body leaves:
        // the connection is made while it stands still, as a SIGSTOP there would leave it.
        using var standsStill = new StandsStill(clock, TimeSpan.FromSeconds(10)) { InnerHandler = new SocketsHttpHandler() };
        using var http = new HttpClient(standsStill);
        var handler = ActivatorUtilities.CreateInstance<DeliveryHandler>(portal.Services, ActivatorUtilities.CreateInstance<HttpNotifier>(portal.Services, http));

        var woke = await handler.HandleAsync(new DeliveryDue(delivery.Id), claim, CancellationToken.None);
        Assert.Equal(KeelPortal.Data.WorkEnd.Lost, woke.End);
        Assert.Empty(receiver.At("ops")); // Had it left, its answer would have come back before HandleAsync returned.
        var center = portal.Services.GetRequiredService<NotificationCenter>();
        Assert.Equal(DeliveryState.Pending, (await center.LogAsync("ops")).Single(d => d.Id == delivery.Id).State);
        Assert.Contains(portal.Logs.Lines, l => l.Message.Contains("not sent, its claim ran out before the message left", StringComparison.Ordinal));

        // The next attempt (this claim renewed, or another replica's) stands still no more: the message goes, once.
        var next = await handler.HandleAsync(new DeliveryDue(delivery.Id), claim, CancellationToken.None);
        Assert.Equal(KeelPortal.Data.WorkEnd.Done, next.End);
        Assert.Single(receiver.At("ops"));
        Assert.Equal(DeliveryState.Delivered, (await center.LogAsync("ops")).Single(d => d.Id == delivery.Id).State);
    }

    [Fact]
    public async Task A_post_refused_by_its_fence_puts_not_one_byte_on_the_wire()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        var url = $"http://127.0.0.1:{((System.Net.IPEndPoint)listener.LocalEndpoint).Port}/hook";
        using var portal = NotificationHost.Portal();
        var notifier = portal.Services.GetRequiredService<INotifier>();
        var channel = new ChannelSettings("wire", ChannelType.Webhook, url, null, null, null, NotificationEvents.All, NotificationLevel.Info, true, true, "test");
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));

        var sending = notifier.SendAsync(channel, NotificationHost.UpdateApplied(), timeout.Token, new DeliveryFence("keelportal-delivery-1", () => false));
        using var connection = await listener.AcceptTcpClientAsync(timeout.Token);
        var received = new MemoryStream();
        await connection.GetStream().CopyToAsync(received, timeout.Token); // Until the sender drops the connection.
        var attempt = await sending;

        Assert.True(attempt.FencedOff, attempt.Answer);
        Assert.False(attempt.Delivered);
        Assert.Equal(0, received.Length);
    }

    private static async Task<(NotificationDelivery Delivery, KeelPortal.Data.PortalEvent Work)> HeldDeliveryAsync(
        IDbContextFactory<KeelPortal.Data.PortalDbContext> contexts, string holder)
    {
        var now = DateTime.UtcNow;
        var delivery = new NotificationDelivery
        {
            ChannelName = "ops", EventKey = "test:fenced", Event = NotificationEvents.UpdateApplied, Level = NotificationLevel.Success,
            NotificationJson = System.Text.Json.JsonSerializer.Serialize(NotificationHost.UpdateApplied(), NotificationCenter.Json),
            State = DeliveryState.Pending, OccurredAtUtc = now, QueuedAtUtc = now, CreatedAtUtc = now, UpdatedAtUtc = now,
        };
        // Its work, held by the test (written as no work of this portal's, so only the test acts on it).
        var work = new KeelPortal.Data.PortalEvent { Type = nameof(DeliveryDue), Payload = "{}", OccurredAtUtc = now, ClaimToken = holder, ClaimedUntilUtc = now.AddHours(1) };
        await using var db = await contexts.CreateDbContextAsync();
        db.AddRange(delivery, work);
        await db.SaveChangesAsync();
        return (delivery, work);
    }

    /// <summary>The first request finds the process standing still for <paramref name="still"/> before it goes on.</summary>
    private sealed class StandsStill(Microsoft.Extensions.Time.Testing.FakeTimeProvider clock, TimeSpan still) : DelegatingHandler
    {
        private int requests;

        protected override Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (Interlocked.Increment(ref requests) == 1)
            {
                clock.Advance(still);
            }
            return base.SendAsync(request, cancellationToken);
        }
    }
}
