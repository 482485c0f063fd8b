using KeelPortal.Approvals;
using KeelPortal.Registries;
using KeelPortal.Workloads;

namespace KeelPortal.Updates;

/// <summary>
/// Polls do not read a pending version's digest on every cycle; the apply confirms it once instead. When the tag now
/// points elsewhere than when it was proposed, votes cast for the old image do not carry over: the approval goes back
/// to pending with its votes cleared. An update that needed no votes goes ahead with the digest the tag has now.
/// </summary>
public sealed partial class DigestConfirmation(
    ApprovalBook approvals, WorkloadStore workloads, CredentialResolver credentials, IRegistryClient registry, ILogger<DigestConfirmation> logger)
{
    /// <summary>The digest to apply; null when the approval went back to its voters (or had no digest to confirm).</summary>
    public async Task<string?> ConfirmAsync(Approval approval, CancellationToken ct)
    {
        if (approval.Digest is null || ApprovalBook.ImagesOf(approval).Any(i => i.Image.Contains('@', StringComparison.Ordinal)))
        {
            return approval.Digest; // Nothing to confirm, or an image pinned to its digest.
        }
        var workload = await workloads.GetAsync(approval.WorkloadId, ct);
        var image = ImageReference.Parse(approval.Repository).WithTag(approval.NewVersion);
        var credential = workload is null ? null : await credentials.ForAsync(workload, image, ct);
        var now = await registry.GetDigestAsync(image, credential, ct);
        if (!now.Succeeded || now.Value == approval.Digest)
        {
            if (!now.Succeeded)
            {
                LogUnconfirmed(approval.Identifier, now.Failure!.Reason);
            }
            return approval.Digest;
        }
        if (approval.VotesRequired <= 0)
        {
            return now.Value;
        }
        await approvals.ReturnForNewDigestAsync(approval.Id, now.Value!, approval.ClaimToken, ct);
        return null;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "{Approval}: the registry could not confirm the approved digest ({Reason}); applying the approved one")]
    private partial void LogUnconfirmed(string approval, string reason);
}
