using KeelPortal.Approvals;
using KeelPortal.Policies;
using KeelPortal.Registries;
using KeelPortal.Workloads;

namespace KeelPortal.Updates;

/// <summary>One candidate tag and what the policy said about it: the answer to "why was this version not picked?".</summary>
public sealed record CandidateLine(string Tag, string Verdict, string Reason, bool Declined);

public sealed record ContainerCandidates(string Container, string Repository, string Current, string Summary, IReadOnlyList<CandidateLine> Candidates, string? Error);

/// <summary>Reads a workload's repositories now and ranks every tag with its verdict, marking versions people declined.</summary>
public sealed class CandidateReport(IRegistryClient registry, CredentialResolver credentials, ApprovalBook approvals)
{
    public async Task<IReadOnlyList<ContainerCandidates>> ExplainAsync(WorkloadSnapshot workload, int limit = 50, CancellationToken ct = default)
    {
        var policy = UpdatePolicy.Parse(workload.Policy, workload.MatchTag ? "true" : "false", workload.MatchPreRelease ? "true" : "false").Policy;
        var declined = (await approvals.ForWorkloadAsync(workload.Id, ct))
            .Where(a => a.State is ApprovalState.Rejected or ApprovalState.Expired).Select(a => a.NewVersion).ToHashSet(StringComparer.Ordinal);
        var report = new List<ContainerCandidates>();
        foreach (var container in workload.Containers.Where(c => c.Repository is not null))
        {
            var image = ImageReference.Parse(container.Repository!);
            var tags = await registry.ListTagsAsync(image, await credentials.ForAsync(workload, image, ct), ct);
            if (!tags.Succeeded)
            {
                report.Add(new(container.Name, container.Repository!, container.Tag!, "the registry could not be read", [], tags.Failure!.Reason));
                continue;
            }
            var choice = TagChooser.Choose(policy, container.Tag!, tags.Value!);
            var lines = choice.Verdicts.Take(limit).Select(v => new CandidateLine(v.Tag, v.Kind.ToString(),
                declined.Contains(v.Tag) ? $"{v.Reason}; declined earlier (rejected or expired)" : v.Reason, declined.Contains(v.Tag))).ToList();
            report.Add(new(container.Name, container.Repository!, container.Tag!, choice.Summary, lines, null));
        }
        return report;
    }
}
