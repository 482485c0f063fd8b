using KeelPortal.Policies;
using KeelPortal.Registries;
using KeelPortal.Workloads;

namespace KeelPortal.Updates;

/// <summary>One candidate tag and what the policy said about it: the answer to "why was this version not picked?".</summary>
public sealed record CandidateLine(string Tag, string Verdict, string Reason, bool Declined);

/// <summary>One container's candidates; <paramref name="Chosen"/> is the version a poll would propose now (null: none).</summary>
public sealed record ContainerCandidates(
    string Container, string Repository, string Current, string Summary, IReadOnlyList<CandidateLine> Candidates, string? Error, string? Chosen = null);

/// <summary>Reads a workload's repositories now and ranks every tag with its verdict, marking versions people declined.</summary>
public sealed class CandidateReport(IRegistryClient registry, CredentialResolver credentials, TagFacts facts, Holds holds)
{
    public async Task<IReadOnlyList<ContainerCandidates>> ExplainAsync(WorkloadSnapshot workload, int limit = 50, CancellationToken ct = default)
    {
        var policy = workload.UpdatePolicy();
        var declined = await holds.DeclinedVersionsAsync(workload.Id, ct);
        // Containers are read in parallel: one slow or unreachable registry must not hold up the others.
        var report = await Task.WhenAll(workload.Containers.Where(c => c.Repository is not null)
            .Select(container => ExplainAsync(workload, container, policy, declined, limit, ct)));
        return report;
    }

    private async Task<ContainerCandidates> ExplainAsync(
        WorkloadSnapshot workload, TrackedContainer container, UpdatePolicy policy, IReadOnlySet<string> declined, int limit, CancellationToken ct)
    {
        var image = ImageReference.Parse(container.Repository!);
        var credential = await credentials.ForAsync(workload, image, ct);
        var tags = await registry.ListTagsAsync(image, credential, ct);
        if (!tags.Succeeded)
        {
            return new(container.Name, container.Repository!, container.Tag!, "the registry could not be read", [], tags.Failure!.Reason);
        }
        // The same choice the poll makes, platforms and declined versions included: tags ahead of the pick that do not
        // run on the workload's nodes show as wrong platform, and a declined version is listed where the policy ranks
        // it but is out of the running, so the summary names the version a poll would propose.
        var current = container.Tag!;
        var open = UpdatePlanner.OpenTags(tags.Value!, current, declined);
        var choice = await TagChooser.ChooseAsync(policy, current, open, workload.RequiredPlatforms(),
            UpdatePlanner.PlatformsOf(registry, image, credential, facts), ct);
        var verdicts = choice.Verdicts;
        if (open.Count != tags.Value!.Count)
        {
            var decided = choice.Verdicts.ToDictionary(v => v.Tag, StringComparer.Ordinal);
            verdicts = TagChooser.Rank(policy, current, tags.Value!).Select(v => decided.GetValueOrDefault(v.Tag, v)).ToList();
        }
        var lines = verdicts.Take(limit).Select(v => declined.Contains(v.Tag) && v.Tag != current
            ? new CandidateLine(v.Tag, v.Kind.ToString(), $"{v.Reason}; declined earlier (rejected, expired or skipped), not proposed again", true)
            : new CandidateLine(v.Tag, v.Kind.ToString(), v.Reason, false)).ToList();
        return new(container.Name, container.Repository!, current, choice.Summary, lines, null, choice.Chosen);
    }
}
