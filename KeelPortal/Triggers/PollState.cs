using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace KeelPortal.Triggers;

/// <summary>When a repository was last polled, shared by every portal instance (jobs may run on any of them).</summary>
public sealed class PollState
{
    public required string Repository { get; set; }
    public DateTime LastPolledAtUtc { get; set; }
    public string? LastOutcome { get; set; }
}

internal sealed class PollStateConfiguration : IEntityTypeConfiguration<PollState>
{
    public void Configure(EntityTypeBuilder<PollState> builder)
    {
        builder.ToTable("PollStates");
        builder.HasKey(p => p.Repository);
        builder.Property(p => p.Repository).HasMaxLength(500);
        builder.Property(p => p.LastOutcome).HasMaxLength(2000);
    }
}
