using KeelPortal.Approvals;
using KeelPortal.Audit;
using KeelPortal.Policies;
using KeelPortal.Registries;
using KeelPortal.Workloads;

namespace KeelPortal.Updates;

/// <summary>
/// Turns "repository X has tag T" (a webhook) or "repository X has these tags" (a poll) into one decision per
/// tracked workload: the policy engine picks the tag (platforms included), and the decision becomes a proposal —
/// applied at once when no votes are needed, a pending approval otherwise.
/// </summary>
public sealed partial class UpdatePlanner(
    WorkloadStore workloads,
    IRegistryClient registry,
    CredentialResolver credentials,
    TagFacts facts,
    ApprovalBook approvals,
    WorkloadChecks checks,
    Holds holds,
    AuditTrail audit,
    TimeProvider time,
    Microsoft.Extensions.Options.IOptions<WorkloadsOptions> options,
    ILogger<UpdatePlanner> logger)
{
    /// <summary>
    /// How long, at most, a webhook's tag is asked for again while the registry already has the manifest it names:
    /// registries built on Distribution (Harbor among them) send the push notification once the manifest is stored and
    /// write the tag only after, so the tag may follow the notification by moments — longer on a busy registry.
    /// </summary>
    internal static readonly TimeSpan TagLinkWait = TimeSpan.FromSeconds(10);

    private readonly WorkloadLocks deciding = new();

    /// <summary>
    /// A webhook's event: confirmed in the registry when it can be reached, then decided for every workload. Its span
    /// joins <paramref name="traceParent"/> (the webhook request's) when given, else the current one.
    /// </summary>
    public async Task<int> PlanEventAsync(string repository, string tag, string? digest, string source, string? traceParent = null, CancellationToken ct = default)
    {
        using var activity = Telemetry.PortalTelemetry.StartIn("keelportal.plan", traceParent);
        activity?.SetTag("keelportal.repository", repository);
        activity?.SetTag("keelportal.tag", tag);
        var tracking = await workloads.TrackingAsync(repository, ct);
        if (tracking.Count == 0)
        {
            LogNobodyTracks(repository, tag);
            return 0;
        }
        var image = ImageReference.Parse(repository);
        var credential = await credentials.ForAsync(tracking[0], image, ct);
        var confirmed = await ConfirmTagAsync(image, tag, digest, credential, ct);
        if (confirmed.Succeeded)
        {
            digest = confirmed.Value;
        }
        else if (confirmed.Failure!.Kind == RegistryFailureKind.NotFound)
        {
            await audit.RecordAsync(AuditTrail.System, AuditActions.WebhookUnconfirmed, $"{repository}:{tag}",
                $"{source}: the registry does not have this tag ({confirmed.Failure.Reason}); nothing planned", ct);
            return 0;
        }
        // Written while the first decision reads what it needs; committed before that decision writes anything.
        var detected = audit.RecordAsync(AuditTrail.System, AuditActions.TagDetected, $"{repository}:{tag}",
            $"{source}; digest {digest ?? "unknown"}{(confirmed.Succeeded ? " (confirmed in the registry)" : $" (not confirmed: {confirmed.Failure!.Reason})")}", ct);
        var proposed = 0;
        foreach (var workload in tracking)
        {
            proposed += await DecideAsync(workload, image, [tag], (tag, digest), credential, verbose: true, ct, detected) ? 1 : 0;
        }
        await detected;
        return proposed;
    }

    /// <summary>
    /// The tag's digest in the registry. When the registry does not have the tag but does have the manifest the webhook
    /// named by digest, the tag is being written: it is asked for again, backing off, for up to <see cref="TagLinkWait"/>.
    /// </summary>
    private async Task<RegistryResult<string>> ConfirmTagAsync(
        ImageReference image, string tag, string? digest, RegistryCredential? credential, CancellationToken ct)
    {
        var confirmed = await registry.GetDigestAsync(image.WithTag(tag), credential, ct);
        if (confirmed.Succeeded || confirmed.Failure!.Kind != RegistryFailureKind.NotFound || digest is null
            || !(await registry.GetDigestAsync(image.WithTag(tag, digest), credential, ct)).Succeeded)
        {
            return confirmed;
        }
        var started = time.GetTimestamp();
        var pause = TimeSpan.FromMilliseconds(50);
        while (time.GetElapsedTime(started) + pause <= TagLinkWait)
        {
            await Task.Delay(pause, time, ct);
            confirmed = await registry.GetDigestAsync(image.WithTag(tag), credential, ct);
            if (confirmed.Succeeded || confirmed.Failure!.Kind != RegistryFailureKind.NotFound)
            {
                return confirmed;
            }
            pause *= 2;
        }
        LogTagNeverFollowed(image.Name, tag, digest, TagLinkWait);
        return confirmed;
    }

    /// <summary>
    /// A poll: the repository's tags are listed once and every workload tracking it decides from them. A repository
    /// whose workloads only follow one tag's digest (<c>force</c> + <c>matchTag</c>) needs no tag list.
    /// </summary>
    public async Task<int> PollAsync(string repository, CancellationToken ct = default)
    {
        using var activity = Telemetry.PortalTelemetry.Source.StartActivity("keelportal.plan");
        activity?.SetTag("keelportal.repository", repository);
        var tracking = await workloads.TrackingAsync(repository, ct);
        if (tracking.Count == 0)
        {
            return 0;
        }
        var image = ImageReference.Parse(repository);
        var credential = await credentials.ForAsync(tracking[0], image, ct);
        if (tracking.All(FollowsDigestOnly))
        {
            var digestFollowers = 0;
            foreach (var workload in tracking)
            {
                var followed = workload.Containers.Where(c => string.Equals(c.Repository, image.Name, StringComparison.OrdinalIgnoreCase)).Select(c => c.Tag!).ToList();
                digestFollowers += await DecideAsync(workload, image, followed, null, credential, verbose: false, ct) ? 1 : 0;
            }
            return digestFollowers;
        }
        var tags = await registry.ListTagsAsync(image, credential, ct);
        if (!tags.Succeeded)
        {
            var reason = credentials.Explain(image, tags.Failure!);
            await audit.RecordAsync(AuditTrail.System, AuditActions.PollFailed, repository, reason, ct);
            await checks.FailedAsync(tracking.Select(w => (w.Id, CurrentOf(w, image) ?? "")), image.Name, reason, ct);
            return 0;
        }
        var proposed = 0;
        foreach (var workload in tracking)
        {
            proposed += await DecideAsync(workload, image, tags.Value!, null, credential, verbose: false, ct) ? 1 : 0;
        }
        return proposed;
    }

    /// <summary>
    /// One workload's decision. <paramref name="written"/>, when given, is a write of the caller's still in flight: the
    /// decision reads beside it and waits for it before it writes anything of its own.
    /// </summary>
    private async Task<bool> DecideAsync(
        WorkloadSnapshot workload, ImageReference image, IReadOnlyList<string> tags, (string Tag, string? Digest)? known,
        RegistryCredential? credential, bool verbose, CancellationToken ct, Task? written = null)
    {
        var containers = workload.Containers.Where(c => string.Equals(c.Repository, image.Name, StringComparison.OrdinalIgnoreCase)).ToList();
        if (containers.Count == 0)
        {
            return false;
        }
        // Decisions for one workload are made one after the other, each seeing what the one before proposed.
        using var turn = await deciding.TakeAsync(workload.Id, ct);
        var current = containers[0].Tag!;
        containers = containers.Where(c => c.Tag == current).ToList();
        var policy = workload.UpdatePolicy();
        var digestOnly = policy.Kind == PolicyKind.Force && policy.MatchTag;
        // Whether it is held and which versions were declined for it are read together, in one wait.
        var holdRead = holds.ActiveAsync(workload.Id, ct);
        var declinedRead = digestOnly ? null : holds.DeclinedVersionsAsync(workload.Id, ct);
        await Task.WhenAll(holdRead, declinedRead ?? Task.CompletedTask, written ?? Task.CompletedTask);
        if (await holdRead is { } hold)
        {
            if (verbose)
            {
                await audit.RecordChangeAsync(AuditTrail.System, AuditActions.Decision, workload.Id, $"no update: held by {hold.HeldBy}: {hold.Reason}", ct);
            }
            return false;
        }
        if (digestOnly)
        {
            return await FollowDigestAsync(workload, image, containers, current, tags, known, credential, ct);
        }
        // A version declined for this workload (rejected or expired) is out of the running, so it never hides a lower
        // eligible one: polls and webhooks both propose the best version that is left.
        var declined = await declinedRead!;
        var open = OpenTags(tags, current, declined);
        var choice = await TagChooser.ChooseAsync(policy, current, open, workload.RequiredPlatforms(), PlatformsOf(registry, image, credential, facts), ct);
        // A poll saw every tag, so its answer is the workload's standing; a webhook names one tag and only says more when it wins.
        if (known is null || choice.HasUpdate)
        {
            await checks.CheckedAsync(workload.Id, image.Name, current, choice.Chosen, choice.Summary, ct);
        }
        if (!choice.HasUpdate)
        {
            if (verbose)
            {
                var skipped = tags.Where(declined.Contains).ToList();
                await audit.RecordChangeAsync(AuditTrail.System, AuditActions.Decision, workload.Id,
                    $"no update: {choice.Summary}{(skipped.Count > 0 ? $"; declined before: {string.Join(", ", skipped)}" : "")}", ct);
            }
            return false;
        }
        return await ProposeChosenAsync(workload, image, containers, current, choice.Chosen!, choice.Summary, policy, known, credential, ct);
    }

    /// <summary>Proposes the chosen version for the containers that run <paramref name="current"/>, with its digest.</summary>
    private async Task<bool> ProposeChosenAsync(
        WorkloadSnapshot workload, ImageReference image, List<TrackedContainer> containers, string current, string chosen, string summary,
        UpdatePolicy policy, (string Tag, string? Digest)? known, RegistryCredential? credential, CancellationToken ct)
    {
        // A version already in flight for this workload needs no registry request on every poll: a re-push under a
        // pending approval is caught by the apply, which confirms the digest once, and by a webhook carrying it.
        var inFlight = known is null && await approvals.OpenVersionAsync(workload.Id, ct) == chosen;
        var digest = known is { } k && k.Tag == chosen ? k.Digest
            : inFlight ? null
            : (await registry.GetDigestAsync(image.WithTag(chosen), credential, ct)).Value;
        var images = containers.Select(c => new ImageUpdate(c.Name, ImageText.WithTag(c.Image, chosen))).ToList();
        return await ProposeAsync(workload, image, current, chosen, digest, images, summary,
            pending => TagChooser.Choose(policy, current, [pending, chosen]).Chosen == chosen, ct);
    }

    /// <summary>
    /// <c>force</c> + <c>matchTag</c>: the same tag, followed by digest; the image is pinned to the new digest, or (with
    /// <c>keel.sh/forceUpdate: restart</c>, Keel's way) kept as <c>repo:tag</c> while the pods are rolled.
    /// </summary>
    private async Task<bool> FollowDigestAsync(
        WorkloadSnapshot workload, ImageReference image, List<TrackedContainer> containers, string current, IReadOnlyList<string> tags,
        (string Tag, string? Digest)? known, RegistryCredential? credential, CancellationToken ct)
    {
        if (!tags.Contains(current))
        {
            return false;
        }
        string? digest;
        if (known is { } k && k.Tag == current && k.Digest is not null)
        {
            digest = k.Digest;
        }
        else
        {
            var read = await registry.GetDigestAsync(image.WithTag(current), credential, ct);
            if (!read.Succeeded)
            {
                await checks.FailedAsync([(workload.Id, current)], image.Name, read.Failure!.Reason, ct);
                return false;
            }
            digest = read.Value;
        }
        var restart = (workload.ForceUpdate ?? options.Value.ForceUpdate) == "restart";
        // Pinned: the digest in the image. Restarted (Keel's way): the digest last written, or what the pods run.
        IReadOnlyList<string> running = containers[0].Digest is { } pinned ? [pinned]
            : restart && workload.DeployedDigest is { } deployed ? [deployed, .. containers[0].RunningDigests]
            : containers[0].RunningDigests;
        if (digest is null || running.Contains(digest))
        {
            if (digest is not null)
            {
                await checks.CheckedAsync(workload.Id, image.Name, current, null, $"{current} runs its newest digest", ct);
            }
            return false;
        }
        if (restart && containers.FirstOrDefault(c => c.PullPolicy is not null and not "Always") is { } cached)
        {
            // A restarted pod keeps the image its node has cached unless told to pull: the update would change nothing.
            await checks.FailedAsync([(workload.Id, current)], image.Name,
                $"keel.sh/forceUpdate restart needs imagePullPolicy: Always on container {cached.Name} (it is {cached.PullPolicy}): restarted pods would keep the cached {current}; set it, or use keel.sh/forceUpdate: pin", ct);
            return false;
        }
        await checks.CheckedAsync(workload.Id, image.Name, current, current, $"{current} was pushed again with digest {digest}", ct);
        var images = containers.Select(c => new ImageUpdate(c.Name, ImageText.WithTag(c.Image, current, restart ? null : digest))).ToList();
        return await ProposeAsync(workload, image, current, current, digest, images,
            $"{current} was pushed again with digest {digest}", _ => true, ct);
    }

    private async Task<bool> ProposeAsync(
        WorkloadSnapshot workload, ImageReference image, string current, string chosen, string? digest, List<ImageUpdate> images,
        string reason, Func<string, bool> isBetterThan, CancellationToken ct)
    {
        var proposal = new Proposal(workload.Id, image.Name, current, chosen, digest, images, workload.ApprovalsRequired,
            TimeSpan.FromHours(workload.ApprovalDeadlineHours), reason);
        var result = await approvals.ProposeAsync(proposal, isBetterThan, ct);
        if (result.Outcome == ProposalOutcome.FailedBefore)
        {
            // Shown on the workload until a person retries it, the tag gets a new digest or the workload changes.
            await checks.FailedAsync([(workload.Id, current)], image.Name, result.Reason, ct);
        }
        await audit.RecordChangeAsync(AuditTrail.System, AuditActions.Decision, workload.Id, $"{current} -> {chosen}: {reason}; {result.Reason}", ct);
        return result.Outcome is ProposalOutcome.Created or ProposalOutcome.AutoApproved or ProposalOutcome.VotesReset;
    }

    private static string? CurrentOf(WorkloadSnapshot workload, ImageReference image) =>
        workload.Containers.FirstOrDefault(c => string.Equals(c.Repository, image.Name, StringComparison.OrdinalIgnoreCase))?.Tag;

    private static bool FollowsDigestOnly(WorkloadSnapshot workload)
    {
        var policy = workload.UpdatePolicy();
        return policy.Kind == PolicyKind.Force && policy.MatchTag;
    }

    /// <summary>The tags still in the running for a workload: all but the versions declined for it (its current one stays).</summary>
    internal static IReadOnlyList<string> OpenTags(IReadOnlyList<string> tags, string current, IReadOnlySet<string> declined) =>
        declined.Count == 0 ? tags : tags.Where(t => t == current || !declined.Contains(t)).ToList();

    /// <summary>
    /// Asks the registry which platforms a candidate tag's image supports (for the policy engine's platform check),
    /// once per tag while <paramref name="facts"/> remembers the answer.
    /// </summary>
    internal static PlatformLookup PlatformsOf(IRegistryClient registry, ImageReference image, RegistryCredential? credential, TagFacts facts) =>
        async (tag, ct) =>
        {
            if (facts.TryGetPlatforms(image.Name, tag, out var known))
            {
                return new CandidatePlatforms(known);
            }
            var platforms = await registry.GetPlatformsAsync(image.WithTag(tag), credential, ct);
            if (!platforms.Succeeded)
            {
                return CandidatePlatforms.Failed(platforms.Failure!.Reason);
            }
            facts.RememberPlatforms(image.Name, tag, platforms.Value!);
            return new CandidatePlatforms(platforms.Value!);
        };

    [LoggerMessage(Level = LogLevel.Warning, Message = "A webhook named {Repository}:{Tag} with manifest {Digest}, which the registry has, but the tag did not appear within {Wait}; nothing planned")]
    private partial void LogTagNeverFollowed(string repository, string tag, string digest, TimeSpan wait);

    [LoggerMessage(Level = LogLevel.Information, Message = "{Repository}:{Tag} arrived, but no tracked workload uses {Repository}")]
    private partial void LogNobodyTracks(string repository, string tag);
}
