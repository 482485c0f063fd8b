using System.Security.Claims;
using KeelPortal.Access;

namespace KeelPortal.Approvals;

/// <summary>What a person asked of an approval, and why it was refused when it was.</summary>
public sealed record GateResult(bool Allowed, string Reason, int Changed = 0)
{
    public static GateResult Refused(string reason) => new(false, reason);
}

/// <summary>
/// The one door people's actions on approvals go through, from the console and the API alike. Each action re-reads the
/// caller's role from the database at the moment it acts, so a person demoted, locked or removed a second ago cannot
/// use the rights their open session or token was issued with. Voting needs Approver or Admin; changing the votes
/// an approval needs, and archiving or deleting one, need Admin.
/// </summary>
public sealed class ApprovalGate(ApprovalBook book, AccountService accounts)
{
    public async Task<VoteResult> VoteAsync(string actor, long approvalId, bool approve, string? comment = null, string? via = null, CancellationToken ct = default) =>
        await VoteAsRoleAsync(actor, await accounts.CurrentRoleAsync(actor, ct), approvalId, approve, comment, via, ct);

    /// <summary>
    /// A vote by the caller of an API request. The API's authentication read the account, its lockout and its roles
    /// from the database in this same request, moments ago: that read is the role at the moment of acting, and it is not
    /// read a second time. Any other principal (a console session's cookie) is read again like every other action.
    /// </summary>
    public async Task<VoteResult> VoteAsync(ClaimsPrincipal caller, long approvalId, bool approve, CancellationToken ct = default)
    {
        var actor = caller.Identity?.Name ?? "";
        return caller.Identity is { IsAuthenticated: true, AuthenticationType: ApiAuthenticationHandler.SchemeName }
            ? await VoteAsRoleAsync(actor, Roles.Highest(caller.FindAll(ClaimTypes.Role).Select(c => c.Value)), approvalId, approve, null, null, ct)
            : await VoteAsync(actor, approvalId, approve, ct: ct);
    }

    private async Task<VoteResult> VoteAsRoleAsync(string actor, string? role, long approvalId, bool approve, string? comment, string? via, CancellationToken ct)
    {
        if (role is not (Roles.Approver or Roles.Admin))
        {
            return new(VoteOutcome.NotAllowed, $"{actor} may not vote: {Holds(role)}; voting needs the {Roles.Approver} or {Roles.Admin} role");
        }
        return await book.VoteAsync(approvalId, actor, approve, comment, via, ct);
    }

    public async Task<GateResult> SetVotesRequiredAsync(string actor, string workloadId, int votesRequired, CancellationToken ct = default)
    {
        if (await RefuseUnlessAdminAsync(actor, "change the votes an approval needs", ct) is { } refused)
        {
            return refused;
        }
        var changed = await book.SetVotesRequiredAsync(workloadId, votesRequired, actor, ct);
        return new(true, $"{changed} pending approval(s) of {workloadId} now need {votesRequired} vote(s)", changed);
    }

    public async Task<GateResult> ArchiveAsync(string actor, long approvalId, bool delete, CancellationToken ct = default)
    {
        if (await RefuseUnlessAdminAsync(actor, delete ? "delete approvals" : "archive approvals", ct) is { } refused)
        {
            return refused;
        }
        return await book.ArchiveAsync(approvalId, actor, delete, ct)
            ? new(true, $"approval {approvalId} {(delete ? "deleted" : "archived")}", 1)
            : GateResult.Refused($"approval {approvalId} does not exist");
    }

    /// <summary>An Admin lets one update past its change windows and freezes, with a reason.</summary>
    public async Task<VoteResult> OverrideScheduleAsync(string actor, long approvalId, string? reason, CancellationToken ct = default)
    {
        if (await RefuseUnlessAdminAsync(actor, "let an update past its change windows and freezes", ct) is { } refused)
        {
            return new(VoteOutcome.NotAllowed, refused.Reason);
        }
        return await book.OverrideScheduleAsync(approvalId, actor, reason, ct);
    }

    private async Task<GateResult?> RefuseUnlessAdminAsync(string actor, string what, CancellationToken ct)
    {
        var role = await accounts.CurrentRoleAsync(actor, ct);
        return role == Roles.Admin ? null : GateResult.Refused($"{actor} may not {what}: {Holds(role)}; it needs the {Roles.Admin} role");
    }

    private static string Holds(string? role) => role is null ? "the account does not exist or is locked" : $"the account is a{(role == Roles.Admin || role == Roles.Approver ? "n" : "")} {role}";
}
