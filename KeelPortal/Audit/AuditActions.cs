namespace KeelPortal.Audit;

/// <summary>What an audit entry records, by name (<c>apply.succeeded</c>): only the names in <see cref="AuditActions"/> exist.</summary>
public sealed record AuditAction
{
    internal AuditAction(string name) => Name = name;

    public string Name { get; }

    public override string ToString() => Name;
}

/// <summary>Every action the audit trail records, in one list: the trail's filter, the docs and the code read it from here.</summary>
public static class AuditActions
{
    public static readonly AuditAction ApiSigninFailed = new("api.signin.failed");

    public static readonly AuditAction ApplyFailed = new("apply.failed");

    public static readonly AuditAction ApplyOverride = new("apply.override");

    public static readonly AuditAction ApplyRetried = new("apply.retried");

    public static readonly AuditAction ApplyRetrying = new("apply.retrying");

    public static readonly AuditAction ApplyScheduled = new("apply.scheduled");

    public static readonly AuditAction ApplyStarted = new("apply.started");

    public static readonly AuditAction ApplySucceeded = new("apply.succeeded");

    public static readonly AuditAction ApplySuperseded = new("apply.superseded");

    public static readonly AuditAction ApprovalApproved = new("approval.approved");

    public static readonly AuditAction ApprovalArchived = new("approval.archived");

    public static readonly AuditAction ApprovalCreated = new("approval.created");

    public static readonly AuditAction ApprovalDeleted = new("approval.deleted");

    public static readonly AuditAction ApprovalExpired = new("approval.expired");

    public static readonly AuditAction ApprovalRejected = new("approval.rejected");

    public static readonly AuditAction ApprovalSuperseded = new("approval.superseded");

    public static readonly AuditAction ApprovalVoted = new("approval.voted");

    public static readonly AuditAction ApprovalVotesRequired = new("approval.votes-required");

    public static readonly AuditAction ApprovalVotesReset = new("approval.votes-reset");

    public static readonly AuditAction ChatLinked = new("chat.linked");

    public static readonly AuditAction ChatUnlinked = new("chat.unlinked");

    public static readonly AuditAction Decision = new("decision");

    public static readonly AuditAction FreezeAdded = new("freeze.added");

    public static readonly AuditAction FreezeRemoved = new("freeze.removed");

    public static readonly AuditAction NotificationChannelAdd = new("notification.channel.add");

    public static readonly AuditAction NotificationChannelChange = new("notification.channel.change");

    public static readonly AuditAction NotificationChannelDisable = new("notification.channel.disable");

    public static readonly AuditAction NotificationChannelEnable = new("notification.channel.enable");

    public static readonly AuditAction NotificationChannelRemove = new("notification.channel.remove");

    public static readonly AuditAction NotificationTest = new("notification.test");

    public static readonly AuditAction PollFailed = new("poll.failed");

    public static readonly AuditAction RegistryCredentialAdd = new("registry.credential.add");

    public static readonly AuditAction RegistryCredentialChange = new("registry.credential.change");

    public static readonly AuditAction RegistryCredentialRemove = new("registry.credential.remove");

    public static readonly AuditAction RollbackAutomatic = new("rollback.automatic");

    public static readonly AuditAction RollbackRequested = new("rollback.requested");

    public static readonly AuditAction RolloutFailed = new("rollout.failed");

    public static readonly AuditAction RolloutSucceeded = new("rollout.succeeded");

    public static readonly AuditAction Signin = new("signin");

    public static readonly AuditAction SigninFailed = new("signin.failed");

    public static readonly AuditAction TagDetected = new("tag.detected");

    public static readonly AuditAction TokenCreated = new("token.created");

    public static readonly AuditAction TokenRevoked = new("token.revoked");

    public static readonly AuditAction UpdateApproved = new("update.approved");

    public static readonly AuditAction UserCreated = new("user.created");

    public static readonly AuditAction UserLocked = new("user.locked");

    public static readonly AuditAction UserPassword = new("user.password");

    public static readonly AuditAction UserRemoved = new("user.removed");

    public static readonly AuditAction UserRole = new("user.role");

    public static readonly AuditAction UserUnlocked = new("user.unlocked");

    public static readonly AuditAction VersionSkip = new("version.skip");

    public static readonly AuditAction VersionUnskip = new("version.unskip");

    public static readonly AuditAction WebhookReceived = new("webhook.received");

    public static readonly AuditAction WebhookUnconfirmed = new("webhook.unconfirmed");

    public static readonly AuditAction WindowDeleted = new("window.deleted");

    public static readonly AuditAction WindowSaved = new("window.saved");

    public static readonly AuditAction WorkDeadLettered = new("work.dead-lettered");

    public static readonly AuditAction WorkRevived = new("work.revived");

    public static readonly AuditAction WorkloadHold = new("workload.hold");

    public static readonly AuditAction WorkloadRelease = new("workload.release");

    public static readonly AuditAction WorkloadSettings = new("workload.settings");

    /// <summary>All of them, for the audit page's filter and the tests.</summary>
    public static IReadOnlyList<AuditAction> All { get; } = typeof(AuditActions).GetFields()
        .Where(f => f.FieldType == typeof(AuditAction)).Select(f => (AuditAction)f.GetValue(null)!).ToList();
}
