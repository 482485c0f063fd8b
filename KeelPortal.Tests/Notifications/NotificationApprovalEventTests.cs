using KeelPortal.Approvals;
using KeelPortal.Notifications;
using KeelPortal.Tests.TestSupport;
using KeelPortal.Workloads;
using Microsoft.Extensions.DependencyInjection;

namespace KeelPortal.Tests.Notifications;

/// <summary>Every approval event reaches a channel, in the order it happened, with Keel's identifiers.</summary>
[Collection(AppHosts.Name)]
public sealed class NotificationApprovalEventTests
{
    private static Proposal Propose(string workload, string from, string to, TimeSpan deadline) =>
        new($"deployment/shop/{workload}", "registry.example.com/team/" + workload, from, to, null,
            [new ImageUpdate("app", $"registry.example.com/team/{workload}:{to}")], 1, deadline, "test");

    [Fact]
    public async Task Required_superseded_rejected_and_expired_are_each_told_once_and_in_order()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        using var portal = NotificationHost.Portal();
        await portal.AddAsync(NotificationHost.Channel("all", ChannelType.Webhook, receiver.Url("all")));
        var book = portal.Services.GetRequiredService<ApprovalBook>();

        await book.ProposeAsync(Propose("web", "1.0.0", "1.1.0", TimeSpan.FromHours(1)), _ => true);
        var newer = await book.ProposeAsync(Propose("web", "1.0.0", "1.2.0", TimeSpan.FromHours(1)), _ => true);
        await receiver.WaitForAsync("all", 3);
        await book.VoteAsync(newer.ApprovalId!.Value, "bob", approve: false, comment: "breaks checkout");
        await book.ProposeAsync(Propose("api", "2.0.0", "2.1.0", TimeSpan.Zero), _ => true);
        await receiver.WaitForAsync("all", 5);
        Assert.Equal(1, await book.ExpireAsync());
        var messages = await receiver.WaitForAsync("all", 6);

        Assert.Equal(
            [
                ("ApprovalRequired", "1.1.0"), ("Superseded", "1.1.0"), ("ApprovalRequired", "1.2.0"), ("Rejected", "1.2.0"),
                ("ApprovalRequired", "2.1.0"), ("Expired", "2.1.0"),
            ],
            messages.Select(m => (m.Json["metadata"]!["event"]!.GetValue<string>(), m.Json["metadata"]!["to"]!.GetValue<string>())));
        Assert.Equal("Approval to update deployment shop/web 1.0.0->1.1.0 was superseded by 1.2.0.", messages[1].Json["message"]!.GetValue<string>());
        Assert.Contains("breaks checkout", messages[3].Json["message"]!.GetValue<string>(), StringComparison.Ordinal);
        Assert.Equal(("update rejected", "warn"), (messages[3].Json["type"]!.GetValue<string>(), messages[3].Json["level"]!.GetValue<string>()));
        Assert.Equal("Approval to update deployment shop/api 2.0.0->2.1.0 expired with 0/1 vote(s).", messages[5].Json["message"]!.GetValue<string>());
        Assert.All(messages, m => Assert.StartsWith("deployment/shop/", m.Json["identifier"]!.GetValue<string>(), StringComparison.Ordinal));
    }

    [Fact]
    public async Task An_edited_channel_keeps_its_url_when_none_is_entered_and_removing_it_removes_its_log()
    {
        await using var receiver = await WebhookReceiver.StartAsync();
        using var portal = NotificationHost.Portal();
        var directory = portal.Services.GetRequiredService<ChannelDirectory>();
        var center = portal.Services.GetRequiredService<NotificationCenter>();
        await portal.AddAsync(NotificationHost.Channel("ops", ChannelType.Mattermost, receiver.Url("ops")));
        await portal.RaiseAsync("test:one", NotificationHost.UpdateApplied());
        await portal.DeliveryAsync("ops", d => d.State == DeliveryState.Delivered);
        var saved = (await directory.ListAsync()).Single();

        var edited = await directory.SaveAsync(new ChannelInput(saved.Id, "platform", ChannelType.Mattermost, "", null, "bot", null,
            NotificationEvents.All, NotificationLevel.Info, true, true), "admin");
        await portal.RaiseAsync("test:two", NotificationHost.UpdateFailed());
        var messages = await receiver.WaitForAsync("ops", 2);

        Assert.True(edited.Succeeded, edited.Error);
        Assert.Equal("bot", messages[1].Json["username"]!.GetValue<string>());
        Assert.Equal(2, (await center.LogAsync("platform")).Count);
        Assert.True(await directory.RemoveAsync(saved.Id!.Value, "admin"));
        Assert.Empty(await center.LogAsync("platform"));
        Assert.Empty(await directory.ListAsync());
    }
}
