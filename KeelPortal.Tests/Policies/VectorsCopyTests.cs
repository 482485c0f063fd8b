using KeelPortal.Tests.TestSupport;

namespace KeelPortal.Tests.Policies;

public sealed class VectorsCopyTests
{
    [Fact]
    public void The_test_copy_of_the_vectors_matches_the_shared_file()
    {
        var shared = RepoPaths.Shared("vectors/keel-policy-vectors.json");
        Assert.True(File.Exists(shared), $"the shared vectors file is missing at {shared}");
        Assert.Equal(File.ReadAllText(shared), File.ReadAllText(RepoPaths.TestFile(PolicyVectors.FileName)));
    }
}
