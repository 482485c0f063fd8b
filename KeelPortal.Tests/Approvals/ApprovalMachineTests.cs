using KeelPortal.Approvals;
using KeelPortal.Audit;
using static KeelPortal.Approvals.ApprovalCommand;
using static KeelPortal.Approvals.ApprovalEvent;

namespace KeelPortal.Tests.Approvals;

/// <summary>
/// The approval's state machine as a table: every command against every state, and what it does — moves to a state
/// ("→ X"), changes it without moving ("="), or refuses (the refusal). No database, no clock: the rules alone.
/// </summary>
public sealed class ApprovalMachineTests
{
    private static readonly DateTime T0 = new(2026, 12, 7, 10, 0, 0, DateTimeKind.Utc);

    private static readonly ApprovalState[] States = Enum.GetValues<ApprovalState>();

    /// <summary>Columns in <see cref="ApprovalState"/> order: Pending, Approved, Applying, Applied, Failed, Rejected, Expired, Superseded.</summary>
    private static readonly (string Name, ApprovalCommand Command, string[] Cells)[] Table =
    [
        ("vote to approve (not the last)", new Vote("bob", true), ["=", "NotInState", "NotInState", "NotInState", "NotInState", "NotInState", "NotInState", "NotInState"]),
        ("vote to reject", new Vote("bob", false, "not on a Friday"), ["→ Rejected", "NotInState", "NotInState", "NotInState", "NotInState", "NotInState", "NotInState", "NotInState"]),
        ("deadline passed", new Expire(T0.AddHours(2)), ["→ Expired", "NotInState", "NotInState", "NotInState", "NotInState", "NotInState", "NotInState", "NotInState"]),
        ("votes required changed", new SetVotesRequired(5, "admin"), ["=", "NotInState", "NotInState", "NotInState", "NotInState", "NotInState", "NotInState", "NotInState"]),
        ("hold or skip", new Close("held by ann: incident"), ["→ Superseded", "NotInState", "NotInState", "NotInState", "NotInState", "NotInState", "NotInState", "NotInState"]),
        ("a newer version proposed", new SupersedeBy("1.2.5"), ["→ Superseded", "→ Superseded", "NotInState", "NotInState", "NotInState", "NotInState", "NotInState", "NotInState"]),
        ("new digest while pending", new NewDigest("sha256:bbb"), ["=", "NotInState", "NotInState", "NotInState", "NotInState", "NotInState", "NotInState", "NotInState"]),
        ("archive", new Archive("admin", Delete: false), ["→ Rejected", "=", "=", "=", "=", "=", "=", "="]),
        ("override windows", new Override("admin", "hotfix for INC-42"), ["=", "=", "NotInState", "NotInState", "NotInState", "NotInState", "NotInState", "NotInState"]),
        ("wait for a window", new Schedule(T0.AddHours(4), "outside Mon-Fri 09:00-17:00"), ["NotInState", "=", "NotInState", "NotInState", "NotInState", "NotInState", "NotInState", "NotInState"]),
        ("windows changed", new Reschedule(T0), ["NothingToDo", "=", "NothingToDo", "NothingToDo", "NothingToDo", "NothingToDo", "NothingToDo", "NothingToDo"]),
        ("claim for applying", new Claim("t2"), ["NotInState", "→ Applying", "ClaimLost", "NotInState", "NotInState", "NotInState", "NotInState", "NotInState"]),
        ("apply succeeded", new Finish("t1", true, "applied", 2, "1.2.3"), ["NotInState", "NotInState", "→ Applied", "NotInState", "NotInState", "NotInState", "NotInState", "NotInState"]),
        ("apply failed", new Finish("t1", false, "forbidden", null, null), ["NotInState", "NotInState", "→ Failed", "NotInState", "NotInState", "NotInState", "NotInState", "NotInState"]),
        ("new digest at apply", new NewDigestAtApply("t1", "sha256:bbb"), ["NotInState", "NotInState", "→ Pending", "NotInState", "NotInState", "NotInState", "NotInState", "NotInState"]),
        ("stale at apply", new SupersedeAtApply("t1", "1.2.5 got there first"), ["NotInState", "NotInState", "→ Superseded", "NotInState", "NotInState", "NotInState", "NotInState", "NotInState"]),
        ("given back to retry", new Release("t1", "API server answered 503"), ["NotInState", "NotInState", "→ Approved", "NotInState", "NotInState", "NotInState", "NotInState", "NotInState"]),
        ("apply work given up", new GiveUp("5 attempts failed"), ["NotInState", "→ Failed", "NotInState", "NotInState", "NotInState", "NotInState", "NotInState", "NotInState"]),
        ("tried again", new Retry("ann"), ["NotInState", "NotInState", "NotInState", "NotInState", "→ Approved", "NotInState", "NotInState", "NotInState"]),
    ];

    /// <summary>An approval in <paramref name="state"/>: 1 of 3 votes (ann), applying under a live claim t1, waiting for a window.</summary>
    private static ApprovalFacts In(ApprovalState state) => new(
        7, "deployment/default/web:1.2.4", state, "1.2.3", "1.2.4", "sha256:aaa", 3, [new VoteFact("ann", true)], T0.AddHours(1), null,
        ClaimToken: "t1", ClaimLive: true, ApplyAttempts: 1, ScheduledForUtc: T0.AddHours(3), ScheduleReason: "outside Mon-Fri 09:00-17:00");

    public static TheoryData<string, ApprovalState> Cells()
    {
        var data = new TheoryData<string, ApprovalState>();
        foreach (var row in Table)
        {
            foreach (var state in States)
            {
                data.Add(row.Name, state);
            }
        }
        return data;
    }

    [Theory]
    [MemberData(nameof(Cells))]
    public void Every_command_in_every_state_does_what_the_table_says(string command, ApprovalState state)
    {
        var row = Table.Single(r => r.Name == command);
        var decision = ApprovalMachine.Decide(In(state), row.Command);

        Assert.Equal(row.Cells[(int)state], Cell(state, decision));
        if (!decision.Accepted)
        {
            Assert.Empty(decision.Events);
            Assert.False(string.IsNullOrWhiteSpace(decision.Reason));
        }
    }

    [Fact]
    public void The_table_has_a_row_for_every_command()
    {
        var commands = typeof(ApprovalCommand).GetNestedTypes().Where(t => t.IsSubclassOf(typeof(ApprovalCommand))).Select(t => t.Name).Order();
        Assert.Equal(commands, Table.Select(r => r.Command.GetType().Name).Distinct().Order());
        Assert.All(Table, r => Assert.Equal(States.Length, r.Cells.Length));
    }

    [Theory]
    [MemberData(nameof(Cells))]
    public void An_apply_is_requested_only_for_an_approval_that_ends_approved_and_every_move_is_announced(string command, ApprovalState state)
    {
        var decision = ApprovalMachine.Decide(In(state), Table.Single(r => r.Name == command).Command);

        if (decision.Events.OfType<ApplyRequested>().Any())
        {
            Assert.Equal(ApprovalState.Approved, decision.MovesTo ?? state);
        }
        // Each move names the state it leaves, and it is the state the approval was in.
        Assert.All(decision.Events.OfType<Moved>(), m => Assert.Equal(state, m.From));
    }

    [Fact]
    public void The_vote_that_reaches_the_count_approves_audits_and_requests_the_apply_in_that_order()
    {
        var facts = In(ApprovalState.Pending) with { VotesRequired = 2 };

        var decision = ApprovalMachine.Decide(facts, new Vote("bob", true, "  looks good ", Via: "Slack"));

        Assert.Equal(ApprovalState.Approved, decision.MovesTo);
        Assert.Collection(decision.Events,
            e => Assert.Equal(new VoteCast("bob", true, "  looks good "), e),
            e => Assert.Equal(new Audited("bob", AuditActions.ApprovalVoted, "2/2; looks good via Slack"), e),
            e => Assert.Equal(new Moved(ApprovalState.Pending, ApprovalState.Approved, "approved by 2 vote(s)"), e),
            e => Assert.Equal(new Audited(AuditTrail.System, AuditActions.ApprovalApproved, "approved by 2 vote(s)"), e),
            e => Assert.IsType<ApplyRequested>(e));
    }

    [Fact]
    public void A_second_vote_by_the_same_person_or_a_hostile_comment_is_refused()
    {
        Assert.Equal(Refusal.AlreadyVoted, ApprovalMachine.Decide(In(ApprovalState.Pending), new Vote("ann", false)).Refused);
        Assert.Equal(Refusal.Invalid, ApprovalMachine.Decide(In(ApprovalState.Pending), new Vote("bob", true, "ok\u001b[2J")).Refused);
        Assert.Equal(Refusal.Invalid, ApprovalMachine.Decide(In(ApprovalState.Pending), new Vote("bob", true, new string('x', 2001))).Refused);
    }

    [Fact]
    public void Lowering_the_votes_required_to_the_votes_cast_approves()
    {
        var decision = ApprovalMachine.Decide(In(ApprovalState.Pending), new SetVotesRequired(1, "admin"));

        Assert.Equal(ApprovalState.Approved, decision.MovesTo);
        Assert.Contains(new VotesRequiredSet(1, "admin"), decision.Events);
        Assert.Contains(new Audited("admin", AuditActions.ApprovalVotesRequired, "3 -> 1"), decision.Events);
        Assert.Contains(decision.Events, e => e is ApplyRequested);
    }

    [Fact]
    public void The_deadline_expires_an_approval_only_once_it_has_passed()
    {
        Assert.Equal(Refusal.NothingToDo, ApprovalMachine.Decide(In(ApprovalState.Pending), new Expire(T0.AddMinutes(59))).Refused);
        Assert.Equal(ApprovalState.Expired, ApprovalMachine.Decide(In(ApprovalState.Pending), new Expire(T0.AddHours(1))).MovesTo);
    }

    [Fact]
    public void A_claim_is_taken_over_only_when_no_live_work_holds_it_and_a_lost_claim_can_neither_end_nor_give_back()
    {
        var frozen = In(ApprovalState.Applying) with { ClaimLive = false };
        var takeover = ApprovalMachine.Decide(frozen, new Claim("t2"));
        Assert.Equal(ApprovalState.Applying, takeover.MovesTo);
        Assert.Contains(new Claimed("t2"), takeover.Events);
        Assert.Contains(new Audited(AuditTrail.System, AuditActions.ApplyStarted, "1.2.3 -> 1.2.4 (attempt 2)"), takeover.Events);
        Assert.Equal(Refusal.ClaimLost, ApprovalMachine.Decide(In(ApprovalState.Applying) with { ClaimLive = false }, new Claim("t1")).Refused);

        var taken = In(ApprovalState.Applying) with { ClaimToken = "t2" };
        ApprovalCommand[] byTheOldClaim =
            [new Finish("t1", true, "applied", 2, null), new Release("t1", "503"), new SupersedeAtApply("t1", "stale"), new NewDigestAtApply("t1", "sha256:bbb")];
        Assert.All(byTheOldClaim, c => Assert.Equal(Refusal.ClaimLost, ApprovalMachine.Decide(taken, c).Refused));
        Assert.True(ApprovalMachine.Decide(taken, new Finish(null, false, "ended by hand", null, null)).Accepted);
    }

    [Fact]
    public void A_new_digest_at_apply_returns_it_for_votes_unless_a_newer_version_waits()
    {
        var back = ApprovalMachine.Decide(In(ApprovalState.Applying), new NewDigestAtApply("t1", "sha256:bbb"));
        Assert.Equal(ApprovalState.Pending, back.MovesTo);
        Assert.Contains(new VotesCleared("sha256:bbb"), back.Events);
        Assert.Contains(new Audited(AuditTrail.System, AuditActions.ApprovalVotesReset, "digest sha256:aaa -> sha256:bbb at apply; 1 vote(s) cleared"), back.Events);

        var aside = ApprovalMachine.Decide(In(ApprovalState.Applying) with { OtherPending = true }, new NewDigestAtApply("t1", "sha256:bbb"));
        Assert.Equal(ApprovalState.Superseded, aside.MovesTo);
        Assert.DoesNotContain(aside.Events, e => e is VotesCleared);

        Assert.Equal(Refusal.NothingToDo, ApprovalMachine.Decide(In(ApprovalState.Pending), new NewDigest("sha256:aaa")).Refused);
    }

    [Fact]
    public void An_override_needs_a_reason_happens_once_and_applies_an_approved_update_at_once()
    {
        Assert.Equal(Refusal.Invalid, ApprovalMachine.Decide(In(ApprovalState.Approved), new Override("admin", "  ")).Refused);
        Assert.Equal(Refusal.AlreadyOverridden, ApprovalMachine.Decide(In(ApprovalState.Approved) with { OverrideBy = "eve" }, new Override("admin", "again")).Refused);
        Assert.Equal(Refusal.AlreadyOverridden, ApprovalMachine.Decide(In(ApprovalState.Approved) with { OverrideBy = "eve" }, new Schedule(T0.AddDays(1), "freeze")).Refused);

        var approved = ApprovalMachine.Decide(In(ApprovalState.Approved), new Override("admin", " hotfix "));
        Assert.Contains(new Overridden("admin", "hotfix"), approved.Events);
        Assert.Contains(new Audited("admin", AuditActions.ApplyOverride, "hotfix (it was waiting: outside Mon-Fri 09:00-17:00)"), approved.Events);
        Assert.Contains(approved.Events, e => e is ApplyRequested);
        Assert.DoesNotContain(ApprovalMachine.Decide(In(ApprovalState.Pending), new Override("admin", "hotfix")).Events, e => e is ApplyRequested);
    }

    [Fact]
    public void A_rollback_approved_is_not_passed_by_a_newer_update_and_the_same_wait_is_recorded_once()
    {
        Assert.Equal(Refusal.NotInState, ApprovalMachine.Decide(In(ApprovalState.Approved) with { RollbackBy = "ann" }, new SupersedeBy("1.2.5")).Refused);
        Assert.Equal(Refusal.NothingToDo, ApprovalMachine.Decide(In(ApprovalState.Approved), new Schedule(T0.AddHours(3), "again")).Refused);
    }

    [Fact]
    public void A_retry_counts_its_attempts_afresh_and_requests_the_apply()
    {
        var decision = ApprovalMachine.Decide(In(ApprovalState.Failed), new Retry("ann"));

        Assert.Collection(decision.Events,
            e => Assert.IsType<AttemptsReset>(e),
            e => Assert.Equal(new Moved(ApprovalState.Failed, ApprovalState.Approved, "tried again by ann"), e),
            e => Assert.Equal(new Audited("ann", AuditActions.ApplyRetried, "tried again by ann"), e),
            e => Assert.IsType<ApplyRequested>(e));
    }

    private static string Cell(ApprovalState state, ApprovalDecision decision) =>
        decision.Refused is { } refusal ? refusal.ToString()
        : decision.MovesTo is { } to && to != state ? $"→ {to}"
        : "=";
}
