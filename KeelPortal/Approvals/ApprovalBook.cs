using KeelPortal.Audit;
using KeelPortal.Data;
using Microsoft.EntityFrameworkCore;
using static KeelPortal.Approvals.ApprovalEvent;

namespace KeelPortal.Approvals;

/// <summary>
/// Written whenever an approval changes state, receives a vote or is archived; <paramref name="StateMoved"/> is false
/// when its state stayed what it was (a vote, an archive), so nothing acts on it as news.
/// </summary>
public sealed record ApprovalChanged(long ApprovalId, string WorkloadId, ApprovalState State, bool StateMoved = true);

/// <summary>Written when a new approval starts waiting for votes (not when a vote arrives).</summary>
public sealed record ApprovalProposed(long ApprovalId);

/// <summary>Written when an approval has all its votes (or needed none): the update pipeline applies it.</summary>
public sealed record ApprovalApproved(long ApprovalId);

/// <summary>
/// The approvals, persisted around the pure <see cref="ApprovalMachine"/>: each command locks the approval's row, reads
/// its facts, lets the machine decide, and writes the events (state, votes, audit entries, outbox messages) in the
/// same transaction — or nothing, when the machine refuses. Concurrent callers (replicas, a double click, a retried
/// job) take turns on the row, so each decides on what the one before it committed.
/// </summary>
public sealed partial class ApprovalBook(
    IDbContextFactory<PortalDbContext> contexts, AuditTrail audit, Outbox outbox, TimeProvider time, Telemetry.PortalMetrics metrics, ILogger<ApprovalBook> logger)
{
    public static string IdentifierOf(string workloadId, string version) => $"{workloadId}:{version}";

    public static string MessageOf(string workloadId, string from, string to)
    {
        var resource = Workloads.WorkloadId.TryParse(workloadId, out _, out var ns, out var name) ? $"{ns}/{name}" : workloadId;
        return $"New image is available for resource {resource} ({from} -> {to}).";
    }

    private static readonly ApprovalDecision Missing = new(Refusal.NotFound, "there is no such approval", []);

    /// <summary>One command on one approval, in its own transaction: the decision, and the row as it is afterwards (null: no such approval).</summary>
    private async Task<(ApprovalDecision Decision, Approval? Row)> RunAsync(long approvalId, ApprovalCommand command, CancellationToken ct)
    {
        var now = time.GetUtcNow().UtcDateTime;
        await using var db = await contexts.CreateDbContextAsync(ct);
        await using var transaction = await db.Database.BeginTransactionAsync(ct);
        var (decision, row) = await DecideInAsync(db, approvalId, command, now, ct);
        if (!decision.Accepted)
        {
            return (decision, row); // Nothing written: the transaction is rolled back.
        }
        await db.SaveChangesAsync(ct);
        await transaction.CommitAsync(ct);
        return (decision, row);
    }

    /// <summary>
    /// Inside the caller's transaction: locks the row (touching it is the lock on PostgreSQL and takes SQLite's write
    /// lock), reads its facts, decides, and stages the events on the tracked row — saved with the caller's other rows.
    /// </summary>
    private async Task<(ApprovalDecision Decision, Approval? Row)> DecideInAsync(
        PortalDbContext db, long approvalId, ApprovalCommand command, DateTime now, CancellationToken ct)
    {
        if (await db.Set<Approval>().Where(a => a.Id == approvalId).ExecuteUpdateAsync(s => s.SetProperty(a => a.UpdatedAtUtc, now), ct) == 0)
        {
            return (Missing, null);
        }
        var row = await db.Set<Approval>().Include(a => a.Votes).SingleAsync(a => a.Id == approvalId, ct);
        var before = row.State;
        var decision = ApprovalMachine.Decide(await FactsAsync(db, row, command, now, ct), command);
        if (decision.Accepted)
        {
            Write(db, row, decision.Events, now);
            if (decision.MovesTo is { } to && to != before)
            {
                LogChange(row.Id, before, to, decision.Reason);
            }
        }
        return (decision, row);
    }

    /// <summary>The facts a command reads beyond the row itself.</summary>
    private static async Task<ApprovalFacts> FactsAsync(PortalDbContext db, Approval row, ApprovalCommand command, DateTime now, CancellationToken ct) => command switch
    {
        ApprovalCommand.Claim when row.ClaimToken is { } held =>
            ApprovalFacts.Of(row, claimLive: await Claims.Live(db, now).AnyAsync(e => e.ClaimToken == held, ct)),
        ApprovalCommand.NewDigestAtApply => ApprovalFacts.Of(row, otherPending: await db.Set<Approval>()
            .AnyAsync(a => a.WorkloadId == row.WorkloadId && a.State == ApprovalState.Pending && a.Id != row.Id, ct)),
        _ => ApprovalFacts.Of(row),
    };

    /// <summary>Writes a decision's events on the tracked row, in order: columns, votes, outbox messages, audit entries.</summary>
    private void Write(PortalDbContext db, Approval row, IReadOnlyList<ApprovalEvent> events, DateTime now)
    {
        row.UpdatedAtUtc = now;
        foreach (var e in events)
        {
            switch (e)
            {
                case Moved moved:
                    (row.State, row.Reason) = (moved.To, moved.Reason ?? row.Reason);
                    outbox.Stage(db, new ApprovalChanged(row.Id, row.WorkloadId, moved.To));
                    break;
                case Noted noted:
                    row.Reason = noted.Reason ?? row.Reason;
                    outbox.Stage(db, new ApprovalChanged(row.Id, row.WorkloadId, row.State, StateMoved: false));
                    break;
                case VoteCast vote:
                    db.Add(new ApprovalVote { ApprovalId = row.Id, Voter = vote.Voter, Approve = vote.Approve, Comment = vote.Comment, CastAtUtc = now });
                    break;
                case VotesCleared cleared:
                    db.RemoveRange(row.Votes);
                    row.Digest = cleared.Digest;
                    break;
                case VotesRequiredSet set:
                    row.VotesRequiredBefore ??= row.VotesRequired;
                    (row.VotesRequired, row.VotesRequiredChangedBy, row.VotesRequiredChangedAtUtc) = (set.VotesRequired, set.Actor, now);
                    break;
                case Archived:
                    row.Archived = true;
                    break;
                case Claimed claimed:
                    (row.ClaimToken, row.ClaimedAtUtc, row.ApplyAttempts) = (claimed.Token, now, row.ApplyAttempts + 1);
                    break;
                case AttemptsReset:
                    row.ApplyAttempts = 0;
                    break;
                case Finished finished:
                    row.CurrentVersion = finished.FromVersion ?? row.CurrentVersion;
                    row.Message = row.RollbackBy is null ? MessageOf(row.WorkloadId, row.CurrentVersion, row.NewVersion) : row.Message;
                    row.Generation = finished.Generation;
                    break;
                case ScheduledFor scheduled:
                    (row.ScheduledForUtc, row.ScheduleReason) = (scheduled.AtUtc, scheduled.Reason ?? row.ScheduleReason);
                    break;
                case Overridden overridden:
                    (row.OverrideBy, row.OverrideReason, row.ScheduledForUtc) = (overridden.Actor, overridden.Reason, null);
                    break;
                case ApplyRequested:
                    // The approved approval's apply: work committed with it, started on this replica right after the commit.
                    outbox.Stage(db, new ApprovalApproved(row.Id));
                    break;
                case Audited entry:
                    audit.Stage(db, entry.Actor, entry.Action, row.Identifier, entry.Details);
                    break;
                default:
                    throw new InvalidOperationException($"no write for {e.GetType().Name}");
            }
        }
    }

    [LoggerMessage(Level = LogLevel.Debug, Message = "{Subject}: another caller wrote {What} at the same moment; theirs stands")]
    private partial void LogLostRace(string subject, string what);

    [LoggerMessage(Level = LogLevel.Information, Message = "Approval {ApprovalId}: {From} -> {To} ({Reason})")]
    private partial void LogChange(long approvalId, ApprovalState from, ApprovalState to, string reason);
}
