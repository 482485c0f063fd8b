using KeelPortal.Data;
using Microsoft.EntityFrameworkCore;

namespace KeelPortal.Approvals;

public enum VoteOutcome { Counted, Approved, Rejected, NotFound, NotPending, AlreadyVoted, NotAllowed, Invalid }

public sealed record VoteResult(VoteOutcome Outcome, string Reason, Approval? Approval = null);

public sealed partial class ApprovalBook
{
    /// <summary>
    /// One vote by <paramref name="voter"/> — the authenticated caller, never a name from a request body. A reject
    /// ends the approval; the vote that reaches the required count approves it (once, whoever races). The vote, its
    /// audit entries, the state it moves and the events commit in one transaction that holds the approval's row:
    /// concurrent votes on one approval take turns, so each counts the votes committed before it.
    /// </summary>
    public async Task<VoteResult> VoteAsync(long approvalId, string voter, bool approve, string? comment = null, string? via = null, CancellationToken ct = default)
    {
        ApprovalDecision decision;
        Approval? row;
        try
        {
            (decision, row) = await RunAsync(approvalId, new ApprovalCommand.Vote(voter, approve, comment, via), ct);
        }
        catch (DbUpdateException e) when (e.IsUniqueViolation())
        {
            LogLostVote(approvalId);
            return new(VoteOutcome.AlreadyVoted, $"{voter} has already voted on approval {approvalId}");
        }
        if (decision.Accepted)
        {
            metrics.Votes.Add(1, new KeyValuePair<string, object?>("kind", approve ? "approve" : "reject"));
        }
        var outcome = decision.Refused switch
        {
            Refusal.NotFound => VoteOutcome.NotFound,
            Refusal.AlreadyVoted => VoteOutcome.AlreadyVoted,
            Refusal.Invalid => VoteOutcome.Invalid,
            not null => VoteOutcome.NotPending,
            null => decision.MovesTo switch
            {
                ApprovalState.Approved => VoteOutcome.Approved,
                ApprovalState.Rejected => VoteOutcome.Rejected,
                _ => VoteOutcome.Counted,
            },
        };
        return new(outcome, outcome == VoteOutcome.NotFound ? $"approval {approvalId} does not exist" : decision.Reason, row);
    }

    /// <summary>Marks pending approvals past their deadline expired (never deletes them); returns how many.</summary>
    public async Task<int> ExpireAsync(CancellationToken ct = default)
    {
        var now = time.GetUtcNow().UtcDateTime;
        List<long> due;
        await using (var db = await contexts.CreateDbContextAsync(ct))
        {
            due = await db.Set<Approval>().Where(a => a.State == ApprovalState.Pending && a.DeadlineUtc <= now).Select(a => a.Id).ToListAsync(ct);
        }
        return await CountAcceptedAsync(due, new ApprovalCommand.Expire(now), ct);
    }

    /// <summary>Keel's <c>PUT /v1/approvals</c>: changes the votes a workload's pending approvals need; enough votes approve them.</summary>
    public async Task<int> SetVotesRequiredAsync(string workloadId, int votesRequired, string actor, CancellationToken ct = default) =>
        await CountAcceptedAsync(await PendingOfAsync(workloadId, null, ct), new ApprovalCommand.SetVotesRequired(votesRequired, actor), ct);

    /// <summary>
    /// Closes the workload's pending approval (of <paramref name="version"/> only, when given) as superseded, for a hold
    /// or a skip; returns how many were closed.
    /// </summary>
    public async Task<int> SupersedePendingAsync(string workloadId, string? version, string reason, CancellationToken ct = default) =>
        await CountAcceptedAsync(await PendingOfAsync(workloadId, version, ct), new ApprovalCommand.Close(reason), ct);

    /// <summary>Keel's archive and delete: hide from Keel's list; a pending one is closed as rejected.</summary>
    public async Task<bool> ArchiveAsync(long approvalId, string actor, bool delete, CancellationToken ct = default) =>
        (await RunAsync(approvalId, new ApprovalCommand.Archive(actor, delete), ct)).Decision.Accepted;

    private async Task<List<long>> PendingOfAsync(string workloadId, string? version, CancellationToken ct)
    {
        await using var db = await contexts.CreateDbContextAsync(ct);
        return await db.Set<Approval>().Where(a => a.WorkloadId == workloadId && a.State == ApprovalState.Pending && (version == null || a.NewVersion == version))
            .Select(a => a.Id).ToListAsync(ct);
    }

    /// <summary>One command on each approval, each in its own transaction; how many the machine accepted.</summary>
    private async Task<int> CountAcceptedAsync(IEnumerable<long> approvalIds, ApprovalCommand command, CancellationToken ct)
    {
        var accepted = 0;
        foreach (var id in approvalIds)
        {
            if ((await RunAsync(id, command, ct)).Decision.Accepted)
            {
                accepted++;
            }
        }
        return accepted;
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "Approval {ApprovalId}: the same person voted twice at the same moment; the first vote stands")]
    private partial void LogLostVote(long approvalId);
}
