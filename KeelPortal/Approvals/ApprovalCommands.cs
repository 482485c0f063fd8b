using KeelPortal.Audit;

namespace KeelPortal.Approvals;

/// <summary>One vote as a decision sees it.</summary>
public sealed record VoteFact(string Voter, bool Approve);

/// <summary>
/// What a decision about one approval may read: its row, and two facts about its neighbours that the persistence side
/// looks up (whether a live work claim holds its apply token; whether another approval of its workload is pending).
/// </summary>
public sealed record ApprovalFacts(
    long Id, string Identifier, ApprovalState State, string CurrentVersion, string NewVersion, string? Digest,
    int VotesRequired, IReadOnlyList<VoteFact> Votes, DateTime DeadlineUtc, string? RollbackBy,
    string? ClaimToken = null, bool ClaimLive = false, int ApplyAttempts = 0, bool OtherPending = false,
    string? OverrideBy = null, DateTime? ScheduledForUtc = null, string? ScheduleReason = null)
{
    public static ApprovalFacts Of(Approval row, bool claimLive = false, bool otherPending = false) => new(
        row.Id, row.Identifier, row.State, row.CurrentVersion, row.NewVersion, row.Digest, row.VotesRequired,
        [.. row.Votes.Select(v => new VoteFact(v.Voter, v.Approve))], row.DeadlineUtc, row.RollbackBy,
        row.ClaimToken, claimLive, row.ApplyAttempts, otherPending, row.OverrideBy, row.ScheduledForUtc, row.ScheduleReason);

    public int Approvals => Votes.Count(v => v.Approve);
}

/// <summary>What someone or something asks of one approval.</summary>
public abstract record ApprovalCommand
{
    private ApprovalCommand() { }

    /// <summary>A vote by the authenticated <paramref name="Voter"/> (<paramref name="Via"/>: the chat it came through).</summary>
    public sealed record Vote(string Voter, bool Approve, string? Comment = null, string? Via = null) : ApprovalCommand;

    /// <summary>The expiry job looks at it at <paramref name="Now"/>.</summary>
    public sealed record Expire(DateTime Now) : ApprovalCommand;

    /// <summary>Keel's <c>PUT /v1/approvals</c>: an administrator changes the votes it needs.</summary>
    public sealed record SetVotesRequired(int VotesRequired, string Actor) : ApprovalCommand;

    /// <summary>A hold or a skip closes the pending approval.</summary>
    public sealed record Close(string Reason) : ApprovalCommand;

    /// <summary>A newer version the policy prefers was proposed for the workload.</summary>
    public sealed record SupersedeBy(string Version) : ApprovalCommand;

    /// <summary>The same version's tag was pushed again (new digest) while it waits for votes.</summary>
    public sealed record NewDigest(string Digest) : ApprovalCommand;

    /// <summary>Keel's archive and delete.</summary>
    public sealed record Archive(string Actor, bool Delete) : ApprovalCommand;

    /// <summary>An administrator lets it past its change windows and freezes.</summary>
    public sealed record Override(string Actor, string Reason) : ApprovalCommand;

    /// <summary>Its apply waits for a change window or the end of a freeze.</summary>
    public sealed record Schedule(DateTime AtUtc, string Reason) : ApprovalCommand;

    /// <summary>Windows or freezes changed: an apply waiting for its time is looked at again <paramref name="Now"/>.</summary>
    public sealed record Reschedule(DateTime Now) : ApprovalCommand;

    /// <summary>The apply work (holding work claim <paramref name="Token"/>) takes it for applying.</summary>
    public sealed record Claim(string Token) : ApprovalCommand;

    /// <summary>The apply ended; <paramref name="FromVersion"/> is what the workload really ran when it was written.</summary>
    public sealed record Finish(string? Token, bool Succeeded, string Reason, long? Generation, string? FromVersion) : ApprovalCommand;

    /// <summary>At the write, the approved tag had a new digest.</summary>
    public sealed record NewDigestAtApply(string? Token, string Digest) : ApprovalCommand;

    /// <summary>At the write, the target was no longer an update of what the workload runs.</summary>
    public sealed record SupersedeAtApply(string? Token, string Reason) : ApprovalCommand;

    /// <summary>A failure worth retrying: the apply gives it back.</summary>
    public sealed record Release(string? Token, string Reason) : ApprovalCommand;

    /// <summary>Its apply work was given up before it claimed it.</summary>
    public sealed record GiveUp(string Reason) : ApprovalCommand;

    /// <summary>A person asks for a failed apply to be tried again.</summary>
    public sealed record Retry(string Actor) : ApprovalCommand;
}

/// <summary>What a decision changes; the persistence side writes each, in order, in one transaction.</summary>
public abstract record ApprovalEvent
{
    private ApprovalEvent() { }

    /// <summary>The state moves; <paramref name="Reason"/> null keeps the reason it had.</summary>
    public sealed record Moved(ApprovalState From, ApprovalState To, string? Reason) : ApprovalEvent;

    /// <summary>It changed without moving (pages refresh); <paramref name="Reason"/> replaces its reason when given.</summary>
    public sealed record Noted(string? Reason = null) : ApprovalEvent;

    public sealed record VoteCast(string Voter, bool Approve, string? Comment) : ApprovalEvent;

    public sealed record VotesCleared(string Digest) : ApprovalEvent;

    public sealed record VotesRequiredSet(int VotesRequired, string Actor) : ApprovalEvent;

    public sealed record Archived : ApprovalEvent;

    public sealed record Claimed(string Token) : ApprovalEvent;

    public sealed record AttemptsReset : ApprovalEvent;

    public sealed record Finished(long? Generation, string? FromVersion) : ApprovalEvent;

    public sealed record ScheduledFor(DateTime AtUtc, string? Reason) : ApprovalEvent;

    public sealed record Overridden(string Actor, string Reason) : ApprovalEvent;

    /// <summary>Its apply work is committed with the change.</summary>
    public sealed record ApplyRequested : ApprovalEvent;

    public sealed record Audited(string Actor, AuditAction Action, string? Details) : ApprovalEvent;
}

/// <summary>Why a command changes nothing.</summary>
public enum Refusal { NotFound, NotInState, AlreadyVoted, ClaimLost, AlreadyOverridden, Invalid, NothingToDo }

/// <summary>A decision: the events to write, or why none (<see cref="Refused"/>); <see cref="Reason"/> says it to a person.</summary>
public sealed record ApprovalDecision(Refusal? Refused, string Reason, IReadOnlyList<ApprovalEvent> Events)
{
    public bool Accepted => Refused is null;

    /// <summary>The state it moves to, or null when it stays.</summary>
    public ApprovalState? MovesTo => Events.OfType<ApprovalEvent.Moved>().Select(m => (ApprovalState?)m.To).LastOrDefault();
}
