using KeelPortal.Approvals;
using KeelPortal.Audit;
using KeelPortal.Updates;

namespace KeelPortal.Tests.Updates;

/// <summary>How rollbacks read in the approvals' history.</summary>
public sealed class RollbackEntryTests
{
    private static Approval Approval(long id, string from, string to, ApprovalState state, string message, string? rollbackBy = null) => new()
    {
        Id = id, Identifier = $"deployment/shop/shop:{to}", WorkloadId = "deployment/shop/shop", Repository = "r/shop", CurrentVersion = from,
        NewVersion = to, ImagesJson = "[]", Message = message, State = state, RollbackBy = rollbackBy,
    };

    [Fact]
    public void An_automatic_rollback_reads_as_one_says_why_and_names_the_update_it_undid()
    {
        var older = Approval(1, "1.0.0", "1.1.0", ApprovalState.Applied, "update");
        var undone = Approval(3, "1.0.0", "1.1.0", ApprovalState.Applied, "update");
        var rollback = Approval(4, "1.1.0", "1.0.0", ApprovalState.Applied,
            "automatic rollback to 1.0.0: the rollout of 1.1.0 failed — ProgressDeadlineExceeded", AuditTrail.System);

        var entry = RollbackEntry.Of(rollback, [rollback, undone, older]);

        Assert.Equal(new RollbackEntry("Rolled back automatically", "the rollout of 1.1.0 failed — ProgressDeadlineExceeded", 3), entry);
    }

    [Fact]
    public void A_rollback_a_person_asked_for_names_them_and_their_reason_and_an_update_is_no_rollback()
    {
        var update = Approval(1, "1.1.0", "1.2.0", ApprovalState.Applied, "update");
        var asked = Approval(2, "1.2.0", "1.1.0", ApprovalState.Failed, "rollback to 1.1.0 requested by alice: 1.2.0 leaks memory", "alice");

        Assert.Equal(new RollbackEntry("Rollback by alice: failed", "1.2.0 leaks memory", 1), RollbackEntry.Of(asked, [asked, update]));
        Assert.Null(RollbackEntry.Of(update, [asked, update]));
    }
}
