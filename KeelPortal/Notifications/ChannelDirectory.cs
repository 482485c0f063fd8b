using System.Security.Cryptography;
using KeelPortal.Audit;
using KeelPortal.Data;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.EntityFrameworkCore;

namespace KeelPortal.Notifications;

/// <summary>What an administrator enters for a channel. An empty target when editing keeps the stored one.</summary>
public sealed record ChannelInput(
    long? Id, string? Name, ChannelType Type, string? Target, string? Channel, string? Username, string? IconUrl,
    NotificationEvents Events, NotificationLevel MinimumLevel, bool IsDefault, bool Enabled);

/// <summary>What the console shows of a channel: never its target, only the masked form.</summary>
public sealed record ChannelSummary(
    long? Id, string Name, ChannelType Type, string MaskedTarget, string? Channel, string? Username, string? IconUrl,
    NotificationEvents Events, NotificationLevel MinimumLevel, bool IsDefault, bool Enabled, string Source, bool Readable);

/// <summary>What saving said; <see cref="Fields"/> names each wrong field of the input, with why (all of them at once).</summary>
public sealed record ChannelSaveResult(ChannelSummary? Saved, string? Error, IReadOnlyDictionary<string, string>? Fields = null)
{
    public bool Succeeded => Saved is not null;
}

/// <summary>Published when channels are added, changed or removed, or a delivery to one of them moved on.</summary>
public sealed record NotificationChannelsChanged(string? ChannelName);

/// <summary>
/// Every channel: the ones administrators keep in the console (targets encrypted with Data Protection, changes audited
/// without the target) and the ones declared as code (read-only here).
/// </summary>
public sealed partial class ChannelDirectory(
    IDbContextFactory<PortalDbContext> contexts,
    IDataProtectionProvider protection,
    ConfiguredChannels configured,
    AuditTrail audit,
    Outbox outbox,
    TimeProvider time,
    ILogger<ChannelDirectory> logger)
{
    private readonly IDataProtector protector = protection.CreateProtector("KeelPortal.Notifications.Targets.v1");

    /// <summary>Every usable channel, decrypted, for routing and delivery. An unreadable target is left out with a warning.</summary>
    public async Task<IReadOnlyList<ChannelSettings>> AllAsync(CancellationToken ct = default)
    {
        var result = new List<ChannelSettings>(configured.All);
        foreach (var row in await StoredAsync(null, ct))
        {
            if (Settings(row) is { } channel)
            {
                result.Add(channel);
            }
        }
        return result;
    }

    /// <summary>One channel by name, decrypting only that one (a delivery needs no other).</summary>
    public async Task<ChannelSettings?> FindAsync(string name, CancellationToken ct = default)
    {
        var key = ChannelNames.Normalise(name);
        return configured.All.FirstOrDefault(c => c.Name == key) ?? (await StoredAsync(key, ct)).Select(Settings).FirstOrDefault();
    }

    public async Task<IReadOnlyList<ChannelSummary>> ListAsync(CancellationToken ct = default)
    {
        var list = configured.All.Select(c => new ChannelSummary(null, c.Name, c.Type, ChannelTargets.Mask(c.Target), c.Channel, c.Username,
            c.IconUrl, c.Events, c.MinimumLevel, c.IsDefault, c.Enabled, c.Source, true)).ToList();
        list.AddRange((await StoredAsync(null, ct)).Select(r => Summary(r, Decrypt(r) is not null)));
        return list.OrderBy(c => c.Name, StringComparer.Ordinal).ToList();
    }

    public async Task<ChannelSaveResult> SaveAsync(ChannelInput input, string actor, CancellationToken ct = default)
    {
        // Every field is checked at once, so a form can show each problem beside its field.
        var problems = Validate(input);
        var name = problems.ContainsKey("name") ? "" : ChannelNames.Normalise(input.Name!);
        if (name.Length > 0 && configured.All.Any(c => c.Name == name))
        {
            problems["name"] = $"A channel named '{name}' is declared in configuration; choose another name or change it there.";
        }
        await using var db = await contexts.CreateDbContextAsync(ct);
        var set = db.Set<NotificationChannel>();
        if (name.Length > 0 && !problems.ContainsKey("name") && await set.AnyAsync(c => c.Name == name && c.Id != (input.Id ?? 0), ct))
        {
            problems["name"] = $"A channel named '{name}' exists already.";
        }
        NotificationChannel? row = null;
        if (input.Id is { } id && (row = await set.SingleOrDefaultAsync(c => c.Id == id, ct)) is null)
        {
            return new(null, "The channel was removed in the meantime.");
        }
        var target = string.IsNullOrWhiteSpace(input.Target) ? null : input.Target.Trim();
        // No new target keeps the stored one; with neither, the problem is "enter the URL".
        var existingTarget = target is null && row is not null ? Decrypt(row) : null;
        if (!problems.ContainsKey("target") && ChannelTargets.Problem(input.Type, target ?? existingTarget, input.Channel) is { } targetProblem)
        {
            // A bot needs a chat or channel to post to, Pushover a user key: that is the channel field's problem.
            problems[ChannelTargets.IsAboutChannel(targetProblem) ? "channel" : "target"] = targetProblem;
        }
        if (problems.Count > 0)
        {
            return new(null, string.Join(" ", problems.Values), problems);
        }
        var previousName = row?.Name;
        var action = row is null ? Audit.AuditActions.NotificationChannelAdd : Audit.AuditActions.NotificationChannelChange;
        if (row is null)
        {
            row = new NotificationChannel { Name = name, ProtectedTarget = "", MaskedTarget = "", UpdatedBy = actor };
            set.Add(row);
        }
        Fill(row, name, input, target, actor);
        outbox.Stage(db, new NotificationChannelsChanged(name));
        await db.SaveChangesAsync(ct);
        if (previousName is not null && previousName != name)
        {
            await db.Set<NotificationDelivery>().Where(d => d.ChannelName == previousName)
                .ExecuteUpdateAsync(s => s.SetProperty(d => d.ChannelName, name), ct);
        }
        await audit.RecordAsync(actor, action, $"channel/{name}",
            $"{ChannelTargets.Describe(row.Type)}; events {row.Events}; minimum level {row.MinimumLevel.KeelName()}; "
            + $"{(row.IsDefault ? "default" : "named only")}; {(row.Enabled ? "enabled" : "disabled")}{(target is null ? "" : "; target replaced")}", ct);
        return new(Summary(row, true), null);
    }

    /// <summary>Copies the form onto the row; a new target is stored encrypted (and masked for display), none keeps the stored one.</summary>
    private void Fill(NotificationChannel row, string name, ChannelInput input, string? target, string actor)
    {
        row.Name = name;
        row.Type = input.Type;
        if (target is not null)
        {
            row.ProtectedTarget = protector.Protect(target);
            row.MaskedTarget = ChannelTargets.Mask(target);
        }
        row.Channel = Blank(input.Channel);
        row.Username = Blank(input.Username);
        row.IconUrl = Blank(input.IconUrl);
        row.Events = input.Events & NotificationEvents.All;
        row.MinimumLevel = input.MinimumLevel;
        row.IsDefault = input.IsDefault;
        row.Enabled = input.Enabled;
        row.UpdatedAtUtc = time.GetUtcNow().UtcDateTime;
        row.UpdatedBy = actor;
    }

    public async Task<bool> SetEnabledAsync(long id, bool enabled, string actor, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var row = await db.Set<NotificationChannel>().SingleOrDefaultAsync(c => c.Id == id, ct);
        if (row is null || row.Enabled == enabled)
        {
            return false;
        }
        row.Enabled = enabled;
        row.UpdatedAtUtc = time.GetUtcNow().UtcDateTime;
        row.UpdatedBy = actor;
        outbox.Stage(db, new NotificationChannelsChanged(row.Name));
        await db.SaveChangesAsync(ct);
        await audit.RecordAsync(actor, enabled ? AuditActions.NotificationChannelEnable : AuditActions.NotificationChannelDisable, $"channel/{row.Name}", null, ct);
        return true;
    }

    public async Task<bool> RemoveAsync(long id, string actor, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var row = await db.Set<NotificationChannel>().SingleOrDefaultAsync(c => c.Id == id, ct);
        if (row is null)
        {
            return false;
        }
        db.Remove(row);
        outbox.Stage(db, new NotificationChannelsChanged(row.Name));
        await db.SaveChangesAsync(ct);
        await db.Set<NotificationDelivery>().Where(d => d.ChannelName == row.Name).ExecuteDeleteAsync(ct);
        await audit.RecordAsync(actor, AuditActions.NotificationChannelRemove, $"channel/{row.Name}", ChannelTargets.Describe(row.Type), ct);
        return true;
    }

    private static Dictionary<string, string> Validate(ChannelInput input)
    {
        var problems = new Dictionary<string, string>(StringComparer.Ordinal);
        if (ChannelNames.Problem(input.Name) is { } nameProblem)
        {
            problems["name"] = nameProblem;
        }
        if (!Enum.IsDefined(input.Type))
        {
            problems["type"] = "Choose the kind of channel.";
        }
        if (input.Target?.Trim().Length > 2000)
        {
            problems["target"] = "The webhook URL may be up to 2,000 characters.";
        }
        if (input.IconUrl?.Trim().Length > 1000)
        {
            problems["icon"] = "The icon URL may be up to 1,000 characters.";
        }
        else if (ChannelTargets.IconProblem(input.IconUrl) is { } iconProblem)
        {
            problems["icon"] = iconProblem;
        }
        if (input.Channel?.Trim().Length > 200)
        {
            problems["channel"] = "The channel override may be up to 200 characters.";
        }
        if (input.Username?.Trim().Length > 200)
        {
            problems["username"] = "The user name override may be up to 200 characters.";
        }
        if ((input.Events & NotificationEvents.All) == NotificationEvents.None)
        {
            problems["events"] = "Choose at least one event the channel receives.";
        }
        return problems;
    }

    /// <summary>The channels kept in the console, all or the one named, leaving out any a declared channel's name shadows.</summary>
    private async Task<List<NotificationChannel>> StoredAsync(string? name, CancellationToken ct)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var rows = await db.Set<NotificationChannel>().AsNoTracking().Where(c => name == null || c.Name == name).OrderBy(c => c.Name).ToListAsync(ct);
        return rows.Where(r => configured.All.All(c => c.Name != r.Name)).ToList();
    }

    private ChannelSettings? Settings(NotificationChannel row) => Decrypt(row) is { } target
        ? new ChannelSettings(row.Name, row.Type, target, row.Channel, row.Username, row.IconUrl, row.Events, row.MinimumLevel, row.IsDefault, row.Enabled, "console", row.Id)
        : null;

    private string? Decrypt(NotificationChannel row)
    {
        try
        {
            return protector.Unprotect(row.ProtectedTarget);
        }
        catch (CryptographicException)
        {
            LogUnreadable(row.Name);
            return null;
        }
    }

    private static ChannelSummary Summary(NotificationChannel r, bool readable) => new(r.Id, r.Name, r.Type, r.MaskedTarget, r.Channel, r.Username,
        r.IconUrl, r.Events, r.MinimumLevel, r.IsDefault, r.Enabled, "console", readable);

    private static string? Blank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();

    [LoggerMessage(Level = LogLevel.Warning, Message = "The target of notification channel {Channel} cannot be decrypted (was the Data Protection key ring under Data:KeysPath lost?); enter it again on the Notifications page")]
    private partial void LogUnreadable(string channel);
}
