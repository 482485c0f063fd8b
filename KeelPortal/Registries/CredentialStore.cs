using System.Security.Cryptography;
using KeelPortal.Audit;
using KeelPortal.Data;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.EntityFrameworkCore;

namespace KeelPortal.Registries;

/// <summary>What the console shows of a stored credential: never the password.</summary>
public sealed record StoredCredentialSummary(string Host, string Username, DateTime UpdatedAtUtc, string UpdatedBy);

/// <summary>The outcome of saving a credential: the summary, or what is wrong with the input (<see cref="Fields"/>: each wrong field, with why).</summary>
public sealed record CredentialSaveResult(StoredCredentialSummary? Saved, string? Error, IReadOnlyDictionary<string, string>? Fields = null)
{
    public bool Succeeded => Saved is not null;
}

/// <summary>
/// Registry credentials stored by administrators, the third source of <see cref="CredentialLookup"/>. Passwords are
/// encrypted with ASP.NET Core Data Protection before they reach the database and are decrypted only to sign in to the
/// registry; changes are audited without the password.
/// </summary>
public sealed partial class CredentialStore(
    IDbContextFactory<PortalDbContext> contexts,
    IDataProtectionProvider protection,
    AuditTrail audit,
    TimeProvider time,
    ILogger<CredentialStore> logger)
{
    public const string Source = "stored in the portal";

    private readonly IDataProtector protector = protection.CreateProtector("KeelPortal.Registries.Credentials.v1");

    public async Task<CredentialSaveResult> SaveAsync(string host, string username, string password, string actor, CancellationToken ct = default)
    {
        var problems = Validate(host, username, password);
        if (problems.Count > 0)
        {
            return new CredentialSaveResult(null, string.Join(" ", problems.Values), problems);
        }
        var key = RegistryCredential.NormaliseHost(host);
        await using var db = await contexts.CreateDbContextAsync(ct);
        var row = await db.Set<StoredCredential>().SingleOrDefaultAsync(c => c.Host == key, ct);
        var action = row is null ? Audit.AuditActions.RegistryCredentialAdd : Audit.AuditActions.RegistryCredentialChange;
        if (row is null)
        {
            row = new StoredCredential { Host = key, Username = "", ProtectedPassword = "", UpdatedBy = actor };
            db.Add(row);
        }
        row.Username = username.Trim();
        row.ProtectedPassword = protector.Protect(password);
        row.UpdatedAtUtc = time.GetUtcNow().UtcDateTime;
        row.UpdatedBy = actor;
        await db.SaveChangesAsync(ct);
        await audit.RecordAsync(actor, action, $"registry/{key}", $"user {row.Username}", ct);
        return new CredentialSaveResult(Summary(row), null);
    }

    public async Task<bool> RemoveAsync(string host, string actor, CancellationToken ct = default)
    {
        var key = RegistryCredential.NormaliseHost(host);
        await using var db = await contexts.CreateDbContextAsync(ct);
        var removed = await db.Set<StoredCredential>().Where(c => c.Host == key).ExecuteDeleteAsync(ct);
        if (removed > 0)
        {
            await audit.RecordAsync(actor, AuditActions.RegistryCredentialRemove, $"registry/{key}", null, ct);
        }
        return removed > 0;
    }

    public async Task<IReadOnlyList<StoredCredentialSummary>> ListAsync(CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var rows = await db.Set<StoredCredential>().AsNoTracking().OrderBy(c => c.Host).ToListAsync(ct);
        return rows.ConvertAll(Summary);
    }

    /// <summary>
    /// Every stored credential, decrypted, keyed by registry host, for <see cref="CredentialLookup.Find"/>. A password
    /// that can no longer be decrypted (the key ring was lost) is left out with a warning naming the registry.
    /// </summary>
    public async Task<IReadOnlyDictionary<string, RegistryCredential>> ReadAllAsync(CancellationToken ct = default)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        var rows = await db.Set<StoredCredential>().AsNoTracking().ToListAsync(ct);
        var credentials = new Dictionary<string, RegistryCredential>(StringComparer.OrdinalIgnoreCase);
        foreach (var row in rows)
        {
            try
            {
                credentials[row.Host] = new RegistryCredential(row.Username, protector.Unprotect(row.ProtectedPassword), Source);
            }
            catch (CryptographicException)
            {
                LogUnreadable(row.Host);
            }
        }
        return credentials;
    }

    /// <summary>Every field that cannot be used, with why — all of them, so a form can show each beside its field.</summary>
    private static Dictionary<string, string> Validate(string? host, string? username, string? password)
    {
        var problems = new Dictionary<string, string>(StringComparer.Ordinal);
        var key = string.IsNullOrWhiteSpace(host) ? "" : RegistryCredential.NormaliseHost(host);
        if (string.IsNullOrWhiteSpace(host))
        {
            problems["host"] = "Enter the registry host, for example ghcr.io or registry.example.com:5000.";
        }
        else if (key.Length == 0 || key.Any(char.IsWhiteSpace) || !ImageReference.TryParse($"{key}/probe", out var probe, out _) || probe.Registry != key)
        {
            problems["host"] = $"'{host.Trim()}' is not a registry host; use a host name with an optional port, such as registry.example.com:5000.";
        }
        if (string.IsNullOrWhiteSpace(username))
        {
            problems["username"] = "Enter the user name for the registry.";
        }
        if (string.IsNullOrEmpty(password))
        {
            problems["password"] = "Enter the password or access token for the registry.";
        }
        return problems;
    }

    private static StoredCredentialSummary Summary(StoredCredential row) => new(row.Host, row.Username, row.UpdatedAtUtc, row.UpdatedBy);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The stored credential for {Registry} cannot be decrypted (was the Data Protection key ring under Data:KeysPath lost?); enter it again on the Registries page")]
    private partial void LogUnreadable(string registry);
}
