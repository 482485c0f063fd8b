using BenchmarkDotNet.Attributes;
using KeelPortal.Policies;

namespace KeelPortal.Bench;

/// <summary>Choosing a tag among 10,000 for each policy kind, as one poll of a busy repository does.</summary>
[MemoryDiagnoser]
public class TagChoiceBenchmarks
{
    private string[] tags = [];
    private UpdatePolicy policy = UpdatePolicy.Never;

    [Params("all", "major", "minor", "patch", "force", "glob:build-*", "regexp:^build-(?P<compare>[0-9]+)$")]
    public string Policy { get; set; } = "all";

    [GlobalSetup]
    public void Setup()
    {
        policy = UpdatePolicy.Parse(Policy).Policy;
        var random = new Random(42);
        // A registry's mix: releases, pre-releases, build tags and a few words, in no particular order.
        tags = Enumerable.Range(0, 10_000).Select(i => (i % 4) switch
        {
            0 => $"{random.Next(0, 20)}.{random.Next(0, 50)}.{random.Next(0, 100)}",
            1 => $"v{random.Next(0, 20)}.{random.Next(0, 50)}.{random.Next(0, 100)}-rc.{random.Next(0, 20)}",
            2 => $"build-{1_690_000_000 + i}",
            _ => i % 40 == 3 ? "latest" : $"{random.Next(0, 20)}.{random.Next(0, 50)}-alpine",
        }).ToArray();
    }

    [Benchmark]
    public string? Choose() => TagChooser.Choose(policy, Policy.StartsWith("glob", StringComparison.Ordinal) || Policy.StartsWith("regexp", StringComparison.Ordinal)
        ? "build-1690000002" : "5.10.20", tags).Chosen;
}
