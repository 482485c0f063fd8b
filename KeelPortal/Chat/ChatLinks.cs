using System.Text.RegularExpressions;
using KeelPortal.Access;
using KeelPortal.Audit;
using KeelPortal.Data;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace KeelPortal.Chat;

/// <summary>A chat account (a Slack or Mattermost user id) voting as a portal account.</summary>
public sealed class ChatLink
{
    public required string Platform { get; set; }
    public required string ChatUserId { get; set; }
    public required string UserName { get; set; }
    public required string LinkedBy { get; set; }
    public DateTime LinkedAtUtc { get; set; }
}

internal sealed class ChatLinkConfiguration : IEntityTypeConfiguration<ChatLink>
{
    public void Configure(EntityTypeBuilder<ChatLink> builder)
    {
        builder.ToTable("ChatLinks");
        builder.HasKey(l => new { l.Platform, l.ChatUserId });
        builder.Property(l => l.Platform).HasMaxLength(20);
        builder.Property(l => l.ChatUserId).HasMaxLength(64);
        builder.Property(l => l.UserName).HasMaxLength(256);
        builder.Property(l => l.LinkedBy).HasMaxLength(256);
        builder.HasIndex(l => l.UserName);
    }
}

public sealed record ChatLinkResult(bool Done, string Message);

/// <summary>
/// Which portal account each chat user votes as. An Admin links anyone; a person links their own chat account only
/// through the signed link the chat sends them privately (so nobody can claim another's chat identity). Audited.
/// </summary>
public sealed partial class ChatLinks(IDbContextFactory<PortalDbContext> contexts, AccountService accounts, AuditTrail audit, TimeProvider time)
{
    public const string Slack = "slack";
    public const string Mattermost = "mattermost";

    public static string Display(string platform) => platform == Slack ? "Slack" : platform == Mattermost ? "Mattermost" : platform;

    public static bool IsChatUserId(string? id) => id is not null && ChatUserPattern().IsMatch(id);

    public async Task<string?> UserOfAsync(string platform, string chatUserId, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        return await db.Set<ChatLink>().Where(l => l.Platform == platform && l.ChatUserId == chatUserId).Select(l => l.UserName).SingleOrDefaultAsync(ct);
    }

    public async Task<IReadOnlyList<ChatLink>> AllAsync(CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        return await db.Set<ChatLink>().AsNoTracking().OrderBy(l => l.UserName).ThenBy(l => l.Platform).ToListAsync(ct);
    }

    /// <summary>Links (or re-links) a chat user to <paramref name="userName"/>; the caller has checked who may.</summary>
    public async Task<ChatLinkResult> LinkAsync(string? platform, string? chatUserId, string? userName, string actor, CancellationToken ct = default)
    {
        if (platform is not (Slack or Mattermost))
        {
            return new(false, "the platform must be slack or mattermost");
        }
        if (!IsChatUserId(chatUserId))
        {
            return new(false, $"'{Shown(chatUserId)}' is not a {Display(platform)} user id (letters, digits, '.', '_' and '-', up to 64; such as U024BE7LH)");
        }
        if (string.IsNullOrWhiteSpace(userName) || await accounts.CurrentRoleAsync(userName.Trim(), ct) is null)
        {
            return new(false, $"there is no active account {Shown(userName)}");
        }
        var user = userName.Trim();
        await using (var db = await contexts.CreateDbContextAsync(ct))
        {
            var row = await db.Set<ChatLink>().SingleOrDefaultAsync(l => l.Platform == platform && l.ChatUserId == chatUserId, ct);
            if (row?.UserName == user)
            {
                return new(false, $"{Display(platform)} user {chatUserId} already votes as {user}");
            }
            if (row is null)
            {
                db.Add(new ChatLink { Platform = platform, ChatUserId = chatUserId!, UserName = user, LinkedBy = actor, LinkedAtUtc = time.GetUtcNow().UtcDateTime });
            }
            else
            {
                (row.UserName, row.LinkedBy, row.LinkedAtUtc) = (user, actor, time.GetUtcNow().UtcDateTime);
            }
            try
            {
                await db.SaveChangesAsync(ct);
            }
            catch (DbUpdateException e) when (e.IsUniqueViolation())
            {
                return new(false, $"{Display(platform)} user {chatUserId} was linked by someone else at the same moment");
            }
        }
        await audit.RecordAsync(actor, AuditActions.ChatLinked, $"{platform}/{chatUserId}", $"votes as {user}", ct);
        return new(true, $"{Display(platform)} user {chatUserId} now votes as {user}");
    }

    public async Task<ChatLinkResult> UnlinkAsync(string platform, string chatUserId, string actor, CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var row = await db.Set<ChatLink>().SingleOrDefaultAsync(l => l.Platform == platform && l.ChatUserId == chatUserId, ct);
        if (row is null)
        {
            return new(false, $"{Display(platform)} user {Shown(chatUserId)} is not linked");
        }
        db.Remove(row);
        await db.SaveChangesAsync(ct);
        await audit.RecordAsync(actor, AuditActions.ChatUnlinked, $"{platform}/{chatUserId}", $"voted as {row.UserName}", ct);
        return new(true, $"{Display(platform)} user {chatUserId} no longer votes as {row.UserName}");
    }

    private static string Shown(string? text) => text is null ? "" : text.Length > 64 ? text[..64] + "…" : text;

    [GeneratedRegex("^[A-Za-z0-9._-]{1,64}$")]
    private static partial Regex ChatUserPattern();
}
