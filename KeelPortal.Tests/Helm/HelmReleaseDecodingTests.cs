using System.IO.Compression;
using KeelPortal.Helm;
using KeelPortal.Workloads;

namespace KeelPortal.Tests.Helm;

/// <summary>What sits in Helm's storage is read as untrusted: a payload that cannot be used becomes a reason, never a crash.</summary>
public sealed class HelmReleaseDecodingTests
{
    private static HelmStorageObject Stored(string? payload) => new(HelmDriver.Secret, "shop", "sh.helm.release.v1.app.v3", "7",
        new Dictionary<string, string> { ["name"] = "app", ["owner"] = "helm", ["status"] = "deployed", ["version"] = "3" }, payload);

    private static string Packed(byte[] json)
    {
        using var packed = new MemoryStream();
        using (var gzip = new GZipStream(packed, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(json);
        }
        return Convert.ToBase64String(packed.ToArray());
    }

    [Theory]
    [InlineData("not base64 at all!", "is not base64")]
    [InlineData("", "has no release data")]
    [InlineData("H4sIAAAAAAAA/w==", "is not JSON")]
    public void A_payload_that_cannot_be_read_keeps_the_release_listed_with_the_reason(string payload, string reason)
    {
        var revision = StoredRevision.From(Stored(payload))!;
        var snapshot = HelmSnapshots.Build(revision, [])!;

        Assert.Null(revision.Deployed);
        Assert.Contains(reason, revision.Error, StringComparison.Ordinal);
        Assert.Equal(("shop/app", false), (snapshot.Id, snapshot.IsTracked));
        Assert.Contains(reason, Assert.Single(snapshot.Errors), StringComparison.Ordinal);
    }

    [Fact]
    public void A_payload_that_unpacks_beyond_the_limit_is_refused()
    {
        var bomb = Packed(new byte[65 * 1024 * 1024]);

        var revision = StoredRevision.From(Stored(bomb))!;

        Assert.Contains("unpacks to more than 64 MiB", revision.Error, StringComparison.Ordinal);
    }

    [Fact]
    public void A_release_without_a_chart_or_without_a_keel_block_is_not_tracked()
    {
        var noChart = StoredRevision.From(Stored(Packed("""{"name":"app","config":{}}"""u8.ToArray())))!;
        var noBlock = StoredRevision.From(Stored(Packed("""{"name":"app","chart":{"metadata":{"name":"app","version":"1.0.0"},"values":{"image":{"tag":"1"}}},"config":{}}"""u8.ToArray())))!;

        Assert.Contains("has no chart", noChart.Error, StringComparison.Ordinal);
        Assert.Null(HelmSnapshots.Build(noBlock, []));
    }

    [Fact]
    public void A_storage_object_without_helms_labels_is_ignored() =>
        Assert.Null(StoredRevision.From(Stored("x") with { Labels = new Dictionary<string, string> { ["owner"] = "helm" } }));
}
