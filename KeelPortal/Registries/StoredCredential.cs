using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace KeelPortal.Registries;

/// <summary>A registry login an administrator stored in the portal. The password is kept encrypted with Data Protection.</summary>
public sealed class StoredCredential
{
    public long Id { get; set; }

    /// <summary>The registry host as images name it (<c>docker.io</c>, <c>ghcr.io</c>, <c>registry.example.com:5000</c>).</summary>
    public required string Host { get; set; }

    public required string Username { get; set; }

    /// <summary>The password or token, protected; never the plain text.</summary>
    public required string ProtectedPassword { get; set; }

    public DateTime UpdatedAtUtc { get; set; }

    public required string UpdatedBy { get; set; }
}

internal sealed class StoredCredentialConfiguration : IEntityTypeConfiguration<StoredCredential>
{
    public void Configure(EntityTypeBuilder<StoredCredential> builder)
    {
        builder.ToTable("RegistryCredentials");
        builder.Property(c => c.Host).HasMaxLength(255);
        builder.Property(c => c.Username).HasMaxLength(255);
        builder.Property(c => c.ProtectedPassword).HasMaxLength(8000);
        builder.Property(c => c.UpdatedBy).HasMaxLength(200);
        builder.HasIndex(c => c.Host).IsUnique();
    }
}
