namespace KeelPortal.Policies;

/// <summary>Looks up which platforms a candidate tag's image supports (the registry's answer).</summary>
public delegate ValueTask<CandidatePlatforms> PlatformLookup(string tag, CancellationToken cancellationToken);

/// <summary>
/// Chooses the tag a workload should move to: the best tag in the policy's order that the policy accepts; if that
/// is the current tag there is nothing to do. With platforms, a tag whose image does not cover every platform the
/// workload runs on is skipped, and registry lookups stop at the first tag that fits.
/// </summary>
public static class TagChooser
{
    /// <summary>Every distinct tag with its verdict, best first in the policy's order.</summary>
    public static IReadOnlyList<TagVerdict> Rank(UpdatePolicy policy, string current, IEnumerable<string> tags) =>
        TagEvaluation.Run(policy, current, tags).Ranked;

    /// <summary>Choice without platform constraints; one pass over the tags, no sorting.</summary>
    public static TagChoice Choose(UpdatePolicy policy, string current, IEnumerable<string> tags)
    {
        var evaluation = TagEvaluation.Run(policy, current, tags);
        var best = -1;
        for (var i = 0; i < evaluation.Count; i++)
        {
            if (evaluation.Verdicts[i].Eligible && (best < 0 || evaluation.Ahead(i, best)))
            {
                best = i;
            }
        }
        return Decide(best < 0 ? null : evaluation.Verdicts[best], current, evaluation);
    }

    public static async ValueTask<TagChoice> ChooseAsync(
        UpdatePolicy policy, string current, IEnumerable<string> tags, WorkloadPlatforms platforms,
        PlatformLookup lookup, CancellationToken cancellationToken = default)
    {
        if (!platforms.IsResolved)
        {
            return new TagChoice(null, TagEvaluation.Run(policy, current, tags),
                $"no tag chosen: the platforms the workload runs on are unknown ({platforms.UnresolvedReason})");
        }
        if (platforms.Required.Count == 0)
        {
            return Choose(policy, current, tags);
        }
        var evaluation = TagEvaluation.Run(policy, current, tags);
        foreach (var i in evaluation.EligibleBestFirst())
        {
            var verdict = evaluation.Verdicts[i];
            if (verdict.Tag == current)
            {
                return Decide(verdict, current, evaluation);
            }
            var supported = await lookup(verdict.Tag, cancellationToken).ConfigureAwait(false);
            var missing = supported.Error is null ? supported.Missing(platforms) : [];
            if (supported.Error is null && missing.Count == 0)
            {
                return Decide(verdict, current, evaluation);
            }
            evaluation.Verdicts[i] = supported.Error is not null
                ? verdict.With(VerdictKind.PlatformUnknown, supported.Error)
                : verdict.With(VerdictKind.WrongPlatform, string.Join(", ", missing));
        }
        return Decide(null, current, evaluation);
    }

    /// <summary>
    /// The apply's last check, made against what the workload runs at the moment of the write: null when
    /// <paramref name="target"/> is still an update of <paramref name="running"/> under <paramref name="policy"/> (the same
    /// tag is: its digest is followed), else why it is not — an older or equal version, or one the policy no longer takes.
    /// </summary>
    public static string? WhyNotForward(UpdatePolicy policy, string running, string target)
    {
        ArgumentNullException.ThrowIfNull(policy);
        if (running == target)
        {
            return null;
        }
        var verdict = TagEvaluation.Run(policy, running, [target]).Verdicts[0];
        return verdict.Eligible ? null : verdict.Reason;
    }

    private static TagChoice Decide(TagVerdict? best, string current, TagEvaluation evaluation)
    {
        if (best is null)
        {
            return new TagChoice(null, evaluation, evaluation.Count == 0 ? "no tags to choose from" : $"no tag may replace {current}");
        }
        return best.Tag == current
            ? new TagChoice(null, evaluation, $"{current} is already the best tag")
            : new TagChoice(best.Tag, evaluation, best.Reason);
    }
}

/// <summary>The outcome of choosing among a repository's tags: the tag to move to, if any, and every tag's verdict.</summary>
public sealed class TagChoice
{
    private readonly TagEvaluation evaluation;

    internal TagChoice(string? chosen, TagEvaluation evaluation, string summary)
    {
        Chosen = chosen;
        Summary = summary;
        this.evaluation = evaluation;
    }

    public string? Chosen { get; }

    public string Summary { get; }

    public bool HasUpdate => Chosen is not null;

    /// <summary>Every tag's verdict, best first; sorted only when someone asks.</summary>
    public IReadOnlyList<TagVerdict> Verdicts => evaluation.Ranked;
}
