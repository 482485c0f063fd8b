using KeelPortal.Audit;
using static KeelPortal.Approvals.ApprovalCommand;
using static KeelPortal.Approvals.ApprovalEvent;

namespace KeelPortal.Approvals;

/// <summary>
/// The approval's state machine, pure: <c>Decide(facts, command) → events</c>, no I/O and no clock (time arrives in the
/// command). Pending → Approved → Applying → Applied | Failed, or Rejected | Expired | Superseded; a failed one may be
/// tried again, an applying one given back or returned to Pending for a new digest. <see cref="ApprovalBook"/> reads
/// the facts with the approval's row locked, writes the events in the same transaction, or writes nothing when refused.
/// </summary>
public static class ApprovalMachine
{
    public static ApprovalDecision Decide(ApprovalFacts facts, ApprovalCommand command) => command switch
    {
        Vote vote => DecideVote(facts, vote),
        Expire expire => facts.State != ApprovalState.Pending ? NotIn(facts, "expired")
            : facts.DeadlineUtc > expire.Now ? Refuse(Refusal.NothingToDo, $"{facts.Identifier} is due at {facts.DeadlineUtc:u}")
            : MoveAudited(facts, ApprovalState.Expired, $"deadline {facts.DeadlineUtc:u} passed", AuditActions.ApprovalExpired),
        SetVotesRequired set => DecideVotesRequired(facts, set),
        Close close => facts.State != ApprovalState.Pending ? NotIn(facts, "closed")
            : MoveAudited(facts, ApprovalState.Superseded, close.Reason, AuditActions.ApprovalSuperseded),
        SupersedeBy by => DecideSupersedeBy(facts, by),
        NewDigest digest => facts.State != ApprovalState.Pending ? NotIn(facts, "given a new digest")
            : facts.Digest == digest.Digest ? Refuse(Refusal.NothingToDo, $"{facts.Identifier} already has digest {digest.Digest}")
            : Accept($"the tag was pushed again with digest {digest.Digest}; votes reset",
                new VotesCleared(digest.Digest), new Noted($"the tag was pushed again with digest {digest.Digest}; votes reset"),
                new Audited(AuditTrail.System, AuditActions.ApprovalVotesReset, $"digest {facts.Digest} -> {digest.Digest}; {facts.Votes.Count} vote(s) cleared")),
        Archive archive => Accept(archive.Delete ? "deleted" : "archived",
            new Archived(),
            facts.State == ApprovalState.Pending
                ? new Moved(ApprovalState.Pending, ApprovalState.Rejected, $"{(archive.Delete ? "deleted" : "archived")} by {archive.Actor}")
                : new Noted(),
            new Audited(archive.Actor, archive.Delete ? AuditActions.ApprovalDeleted : AuditActions.ApprovalArchived, null)),
        Override o => DecideOverride(facts, o),
        Schedule schedule => facts.State != ApprovalState.Approved ? NotIn(facts, "scheduled")
            : facts.OverrideBy is not null ? Refuse(Refusal.AlreadyOverridden, $"{facts.Identifier} was let past its windows by {facts.OverrideBy}")
            : facts.ScheduledForUtc == schedule.AtUtc ? Refuse(Refusal.NothingToDo, $"{facts.Identifier} already waits until {schedule.AtUtc:u}")
            : Accept(schedule.Reason, new ScheduledFor(schedule.AtUtc, schedule.Reason), new Noted()),
        Reschedule again => facts.State == ApprovalState.Approved && facts.ScheduledForUtc > again.Now
            ? Accept("looked at again", new ScheduledFor(again.Now, null), new ApplyRequested())
            : Refuse(Refusal.NothingToDo, $"{facts.Identifier} is not waiting for a window"),
        Claim claim => DecideClaim(facts, claim),
        Finish finish => Fenced(facts, finish.Token, "finished") ?? Accept(finish.Reason,
            new Moved(ApprovalState.Applying, finish.Succeeded ? ApprovalState.Applied : ApprovalState.Failed, finish.Reason),
            new Finished(finish.Generation, finish.FromVersion),
            new Audited(AuditTrail.System, finish.Succeeded ? AuditActions.ApplySucceeded : AuditActions.ApplyFailed, finish.Reason)),
        NewDigestAtApply digest => Fenced(facts, digest.Token, "returned for a new digest") ?? DecideNewDigestAtApply(facts, digest),
        SupersedeAtApply stale => Fenced(facts, stale.Token, "superseded") ?? MoveAudited(facts, ApprovalState.Superseded, stale.Reason, AuditActions.ApplySuperseded),
        Release release => Fenced(facts, release.Token, "given back") ?? Accept(release.Reason, new Moved(ApprovalState.Applying, ApprovalState.Approved, release.Reason)),
        GiveUp giveUp => facts.State != ApprovalState.Approved ? NotIn(facts, "given up")
            : MoveAudited(facts, ApprovalState.Failed, giveUp.Reason, AuditActions.ApplyFailed),
        Retry retry => facts.State != ApprovalState.Failed ? NotIn(facts, "tried again")
            : Accept($"tried again by {retry.Actor}", new AttemptsReset(),
                new Moved(ApprovalState.Failed, ApprovalState.Approved, $"tried again by {retry.Actor}"),
                new Audited(retry.Actor, AuditActions.ApplyRetried, $"tried again by {retry.Actor}"), new ApplyRequested()),
        _ => throw new ArgumentOutOfRangeException(nameof(command), command, "an approval command without a rule"),
    };

    private static ApprovalDecision DecideVote(ApprovalFacts facts, Vote vote)
    {
        if (AuditReason.CommentProblem(vote.Comment) is { } problem)
        {
            return Refuse(Refusal.Invalid, problem);
        }
        if (facts.State != ApprovalState.Pending)
        {
            return Refuse(Refusal.NotInState, $"{facts.Identifier} is {Name(facts.State)}; votes are closed");
        }
        if (facts.Votes.Any(v => v.Voter == vote.Voter))
        {
            return Refuse(Refusal.AlreadyVoted, $"{vote.Voter} has already voted on {facts.Identifier}");
        }
        var details = string.IsNullOrWhiteSpace(vote.Comment) ? null : vote.Comment.Trim();
        var channel = vote.Via is null ? "" : $" via {vote.Via}";
        var cast = new VoteCast(vote.Voter, vote.Approve, vote.Comment);
        if (!vote.Approve)
        {
            var reason = $"rejected by {vote.Voter}{(details is null ? "" : ": " + details)}";
            return Accept(reason, cast, new Moved(ApprovalState.Pending, ApprovalState.Rejected, reason),
                new Audited(vote.Voter, AuditActions.ApprovalRejected, vote.Via is null ? details : $"{details ?? "rejected"}{channel}"));
        }
        var approvals = facts.Approvals + 1;
        var counted = new Audited(vote.Voter, AuditActions.ApprovalVoted, $"{approvals}/{facts.VotesRequired}{(details is null ? "" : "; " + details)}{channel}");
        return approvals < facts.VotesRequired
            ? Accept($"{approvals}/{facts.VotesRequired} votes", cast, counted, new Noted())
            : Accept($"{facts.Identifier} approved", [cast, counted, .. Approve(facts, $"approved by {approvals} vote(s)")]);
    }

    private static ApprovalDecision DecideVotesRequired(ApprovalFacts facts, SetVotesRequired set)
    {
        if (facts.State != ApprovalState.Pending)
        {
            return NotIn(facts, "given a new vote count");
        }
        ApprovalEvent[] changed = [new VotesRequiredSet(set.VotesRequired, set.Actor),
            new Audited(set.Actor, AuditActions.ApprovalVotesRequired, $"{facts.VotesRequired} -> {set.VotesRequired}")];
        return facts.Approvals < set.VotesRequired
            ? Accept($"{facts.Approvals}/{set.VotesRequired} votes", [.. changed, new Noted()])
            : Accept($"{facts.Identifier} approved",
                [.. changed, .. Approve(facts, $"approved by {facts.Approvals} vote(s) after the required votes became {set.VotesRequired}")]);
    }

    private static ApprovalDecision DecideSupersedeBy(ApprovalFacts facts, SupersedeBy by) => facts.State switch
    {
        ApprovalState.Pending => MoveAudited(facts, ApprovalState.Superseded, $"superseded by {by.Version}", AuditActions.ApprovalSuperseded,
            $"superseded by {by.Version}"),
        // Approved and not yet claimed: the newer update passes it, so the workload is written once, to the newest.
        ApprovalState.Approved when facts.RollbackBy is null => MoveAudited(facts, ApprovalState.Superseded,
            $"superseded by {by.Version} before it was applied", AuditActions.ApprovalSuperseded, $"superseded by {by.Version}"),
        _ => NotIn(facts, "superseded"),
    };

    private static ApprovalDecision DecideOverride(ApprovalFacts facts, Override o)
    {
        if (AuditReason.Problem(o.Reason) is { } problem)
        {
            return Refuse(Refusal.Invalid, problem);
        }
        if (facts.OverrideBy is not null)
        {
            return Refuse(Refusal.AlreadyOverridden, $"{facts.Identifier} was already let past its windows by {facts.OverrideBy}");
        }
        if (facts.State is not (ApprovalState.Pending or ApprovalState.Approved))
        {
            return Refuse(Refusal.NotInState,
                $"{facts.Identifier} is {Name(facts.State)}; only a pending or approved update can be let past its windows");
        }
        var text = o.Reason.Trim();
        var waiting = facts.State == ApprovalState.Approved && facts.ScheduleReason is { } why ? $" (it was waiting: {why})" : "";
        ApprovalEvent[] events = [new Overridden(o.Actor, text), new Noted(), new Audited(o.Actor, AuditActions.ApplyOverride, text + waiting)];
        return Accept($"{facts.Identifier} may be applied outside its windows and freezes",
            facts.State == ApprovalState.Approved ? [.. events, new ApplyRequested()] : events);
    }

    private static ApprovalDecision DecideClaim(ApprovalFacts facts, Claim claim)
    {
        // An Applying one is taken over only when no live work holds its claim (its applier stopped or froze past its lease).
        var free = facts.State == ApprovalState.Approved
            || (facts.State == ApprovalState.Applying && facts.ClaimToken != claim.Token && !facts.ClaimLive);
        if (!free)
        {
            return facts.State == ApprovalState.Applying
                ? Refuse(Refusal.ClaimLost, $"{facts.Identifier} is being applied under another claim")
                : NotIn(facts, "applied");
        }
        return Accept($"attempt {facts.ApplyAttempts + 1}", new Claimed(claim.Token),
            new Moved(facts.State, ApprovalState.Applying, null),
            new Audited(AuditTrail.System, AuditActions.ApplyStarted, $"{facts.CurrentVersion} -> {facts.NewVersion} (attempt {facts.ApplyAttempts + 1})"));
    }

    private static ApprovalDecision DecideNewDigestAtApply(ApprovalFacts facts, NewDigestAtApply digest)
    {
        if (facts.OtherPending)
        {
            // A newer version already waits for votes: this one steps aside rather than compete for the one pending slot.
            var aside = $"the tag was pushed again with digest {digest.Digest} before it was applied, and a newer version is pending";
            return Accept(aside, new Moved(ApprovalState.Applying, ApprovalState.Superseded, aside));
        }
        var reason = $"the tag was pushed again with digest {digest.Digest} before it was applied; votes reset";
        return Accept(reason, new Moved(ApprovalState.Applying, ApprovalState.Pending, reason), new VotesCleared(digest.Digest),
            new Audited(AuditTrail.System, AuditActions.ApprovalVotesReset, $"digest {facts.Digest} -> {digest.Digest} at apply; {facts.Votes.Count} vote(s) cleared"));
    }

    /// <summary>Voting completes: approved, audited by the system, and its apply committed with it.</summary>
    private static ApprovalEvent[] Approve(ApprovalFacts facts, string reason) =>
        [new Moved(facts.State, ApprovalState.Approved, reason), new Audited(AuditTrail.System, AuditActions.ApprovalApproved, reason), new ApplyRequested()];

    /// <summary>The fence: an applying approval's end is written only by the claim that holds it (a null token: any).</summary>
    private static ApprovalDecision? Fenced(ApprovalFacts facts, string? token, string what) =>
        facts.State != ApprovalState.Applying ? NotIn(facts, what)
        : token is not null && facts.ClaimToken != token ? Refuse(Refusal.ClaimLost, $"{facts.Identifier} is no longer this apply's to end; another took it over")
        : null;

    private static ApprovalDecision MoveAudited(ApprovalFacts facts, ApprovalState to, string reason, AuditAction action, string? details = null) =>
        Accept(reason, new Moved(facts.State, to, reason), new Audited(AuditTrail.System, action, details ?? reason));

    private static ApprovalDecision NotIn(ApprovalFacts facts, string what) =>
        Refuse(Refusal.NotInState, $"{facts.Identifier} is {Name(facts.State)}; it cannot be {what}");

    private static ApprovalDecision Accept(string reason, params ApprovalEvent[] events) => new(null, reason, events);

    private static ApprovalDecision Refuse(Refusal why, string reason) => new(why, reason, []);

    public static string Name(ApprovalState state) => state.ToString().ToLowerInvariant();
}
