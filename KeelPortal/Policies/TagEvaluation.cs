namespace KeelPortal.Policies;

/// <summary>
/// Every tag read and judged once, in registry order, with the policy's best-first order at hand. One verdict per
/// tag and nothing else per tag: polling ten thousand tags stays off the large-object heap.
/// </summary>
internal sealed class TagEvaluation
{
    private readonly Comparison<TagVerdict> order;
    private IReadOnlyList<TagVerdict>? ranked;

    private TagEvaluation(TagVerdict[] verdicts, Comparison<TagVerdict> order)
    {
        Verdicts = verdicts;
        this.order = order;
    }

    public int Count => Verdicts.Length;

    /// <summary>Verdicts in registry order; platform checks may replace entries before <see cref="Ranked"/> is read.</summary>
    public TagVerdict[] Verdicts { get; }

    /// <summary>Best first, each tag once (a registry listing a tag twice shows it once).</summary>
    public IReadOnlyList<TagVerdict> Ranked => ranked ??= Distinct(BestFirst(Enumerable.Range(0, Count))).Select(i => Verdicts[i]).ToArray();

    public static TagEvaluation Run(UpdatePolicy policy, string current, IEnumerable<string> tags)
    {
        var now = policy.Read(current, -1);
        var verdicts = tags is ICollection<string> known ? new List<TagVerdict>(known.Count) : [];
        foreach (var tag in tags)
        {
            verdicts.Add(policy.Evaluate(now, policy.Read(tag, verdicts.Count)));
        }
        return new TagEvaluation(verdicts.ToArray(), TagOrder.For(policy.Kind));
    }

    /// <summary>Whether tag <paramref name="a"/> comes before tag <paramref name="b"/> in the policy's order.</summary>
    public bool Ahead(int a, int b) => order(Verdicts[a], Verdicts[b]) < 0;

    public IEnumerable<int> EligibleBestFirst() => Distinct(BestFirst(Enumerable.Range(0, Count).Where(i => Verdicts[i].Eligible)));

    private int[] BestFirst(IEnumerable<int> indexes)
    {
        var result = indexes.ToArray();
        Array.Sort(result, (a, b) => order(Verdicts[a], Verdicts[b]) is var c && c != 0 ? c : a.CompareTo(b));
        return result;
    }

    /// <summary>Equal tags sort next to each other (every order breaks ties on the tag), so one look back suffices.</summary>
    private IEnumerable<int> Distinct(int[] sorted)
    {
        for (var i = 0; i < sorted.Length; i++)
        {
            if (i == 0 || Verdicts[sorted[i]].Tag != Verdicts[sorted[i - 1]].Tag)
            {
                yield return sorted[i];
            }
        }
    }
}
