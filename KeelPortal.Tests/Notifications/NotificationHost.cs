using System.Text.Json;
using System.Text.Json.Nodes;
using KeelPortal.Notifications;
using KeelPortal.Tests.TestSupport;
using Microsoft.Extensions.DependencyInjection;

namespace KeelPortal.Tests.Notifications;

/// <summary>A portal with a webhook receiver, fast retries and a public base URL, for the notification tests.</summary>
internal static class NotificationHost
{
    public const string BaseUrl = "https://keel.example.com/";

    public static PortalFactory Portal() => new PortalFactory()
        .With("Notifications:PublicBaseUrl", BaseUrl)
        .With("Work:FirstRetryDelay", "00:00:00.100")
        .With("Notifications:AttemptTimeout", "00:00:03");

    public static ChannelInput Channel(string name, ChannelType type, Uri url, NotificationEvents events = NotificationEvents.All,
        NotificationLevel level = NotificationLevel.Info, bool isDefault = true, string? channel = null, string? username = null, string? icon = null) =>
        new(null, name, type, url.AbsoluteUri, channel, username, icon, events, level, isDefault, Enabled: true);

    public static async Task AddAsync(this PortalFactory portal, ChannelInput input)
    {
        var result = await portal.Services.GetRequiredService<ChannelDirectory>().SaveAsync(input, "admin");
        Assert.True(result.Succeeded, result.Error);
    }

    public static Task<int> RaiseAsync(this PortalFactory portal, string key, Notification notification, params string[] notify) =>
        portal.Services.GetRequiredService<NotificationCenter>().RaiseAsync(key, notification, notify);

    public static async Task<NotificationDelivery> DeliveryAsync(this PortalFactory portal, string channel, Func<NotificationDelivery, bool> condition)
    {
        var center = portal.Services.GetRequiredService<NotificationCenter>();
        NotificationDelivery? found = null;
        await Eventually.TrueAsync(async () => (found = (await center.LogAsync(channel)) is [var newest, ..] ? newest : null) is not null && condition(found),
            TimeSpan.FromSeconds(20), $"delivery to {channel} ({found?.State}, {found?.Attempts} attempt(s), {found?.Answer})");
        return found!;
    }

    /// <summary>Compares with <c>Golden/{name}.json</c>; <c>UPDATE_GOLDEN=1</c> rewrites the file from what arrived.</summary>
    public static void MatchesGolden(string name, JsonNode actual)
    {
        var path = Path.Combine(RepoPaths.Root, "KeelPortal.Tests", "Notifications", "Golden", name + ".json");
        var text = actual.ToJsonString(new JsonSerializerOptions { WriteIndented = true, Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
        if (Environment.GetEnvironmentVariable("UPDATE_GOLDEN") == "1")
        {
            File.WriteAllText(path, text + "\n");
        }
        Assert.True(File.Exists(path), $"golden file {path} is missing; this arrived:\n{text}");
        var expected = File.ReadAllText(path);
        Assert.True(JsonNode.DeepEquals(JsonNode.Parse(expected), actual), $"{name} differs from its golden file.\nExpected:\n{expected}\nArrived:\n{text}");
    }

    /// <summary>An approval waiting for two votes, as the pipeline raises it.</summary>
    public static Notification ApprovalRequired() => new(
        NotificationEvents.ApprovalRequired, NotificationLevel.Info,
        NotificationText.ApprovalRequired("deployment", "shop", "web", "1.2.3", "1.2.4", 2, new DateTime(2026, 11, 28, 12, 0, 0, DateTimeKind.Utc)),
        "deployment", "shop", "web", "1.2.3", "1.2.4", "0/2", new DateTime(2026, 11, 28, 12, 0, 0, DateTimeKind.Utc), null,
        "approvals#approval-7", new DateTime(2026, 11, 27, 10, 0, 0, DateTimeKind.Utc));

    /// <summary>A successful update of a workload with release notes.</summary>
    public static Notification UpdateApplied() => new(
        NotificationEvents.UpdateApplied, NotificationLevel.Success,
        NotificationText.Applied("deployment", "shop", "web", "1.2.3", "1.2.4", ["registry.example.com/team/app:1.2.4"], "https://github.com/example/app/releases/tag/1.2.4"),
        "deployment", "shop", "web", "1.2.3", "1.2.4", null, null, "https://github.com/example/app/releases/tag/1.2.4",
        "workloads/deployment/shop/web", new DateTime(2026, 11, 27, 10, 5, 0, DateTimeKind.Utc));

    /// <summary>A failed update, at error level.</summary>
    public static Notification UpdateFailed(string error = "admission webhook denied the request") => new(
        NotificationEvents.UpdateFailed, NotificationLevel.Error,
        NotificationText.Failed("deployment", "shop", "web", "1.2.3", "1.2.4", error),
        "deployment", "shop", "web", "1.2.3", "1.2.4", null, null, null, "workloads/deployment/shop/web", new DateTime(2026, 11, 27, 10, 6, 0, DateTimeKind.Utc));
}
