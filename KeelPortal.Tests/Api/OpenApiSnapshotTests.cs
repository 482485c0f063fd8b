using System.Text.Json;
using System.Text.Json.Nodes;
using KeelPortal.Tests.TestSupport;

namespace KeelPortal.Tests.Api;

/// <summary>
/// The <c>/v1</c> API's shape is a file in the repository (<c>openapi-v1.json</c>): a change to a path, a field or a
/// status is a visible diff in review, never an accident. When the change is meant, the failing run writes the
/// document it got beside the snapshot (<c>openapi-v1.received.json</c>); replacing the snapshot with it accepts it.
/// </summary>
[Collection(AppHosts.Name)]
public sealed class OpenApiSnapshotTests
{
    private static readonly string Snapshot = Path.Combine(RepoPaths.Root, "KeelPortal.Tests", "Api", "openapi-v1.json");

    [Fact]
    public async Task The_v1_api_document_is_served_without_sign_in_and_matches_the_snapshot()
    {
        await using var portal = new PortalFactory();
        using var client = portal.CreateClient();

        using var response = await client.GetAsync("/openapi/v1.json");
        Assert.Equal(System.Net.HttpStatusCode.OK, response.StatusCode);
        var served = JsonNode.Parse(await response.Content.ReadAsStringAsync())!;
        var text = served.ToJsonString(new JsonSerializerOptions { WriteIndented = true }) + "\n";

        // Only the API is described: no pages, sign-in forms or health probes.
        Assert.All(served["paths"]!.AsObject().Select(p => p.Key), path => Assert.StartsWith("/v1/", path, StringComparison.Ordinal));
        var expected = File.Exists(Snapshot) ? await File.ReadAllTextAsync(Snapshot) : "";
        if (expected != text)
        {
            var received = Path.ChangeExtension(Snapshot, ".received.json");
            await File.WriteAllTextAsync(received, text);
            Assert.Fail($"The /v1 API's shape changed. If that is meant, replace {Snapshot} with {received}.\n{FirstDifference(expected, text)}");
        }
    }

    [Fact]
    public async Task Every_v1_answer_is_a_named_shape_and_every_operation_names_its_problems()
    {
        await using var portal = new PortalFactory();
        using var client = portal.CreateClient();

        var document = JsonNode.Parse(await client.GetStringAsync("/openapi/v1.json"))!;

        foreach (var (path, item) in document["paths"]!.AsObject())
        {
            foreach (var (method, operation) in item!.AsObject().Where(o => o.Key is "get" or "post" or "put" or "delete"))
            {
                var responses = operation!["responses"]!.AsObject();
                Assert.True(responses.ContainsKey("default"), $"{method} {path} does not describe its problems");
                if (responses["200"]?["content"]?["application/json"]?["schema"] is { } schema)
                {
                    // A named record (a $ref), or a list of them — never an anonymous object.
                    var shape = schema["items"] ?? schema;
                    Assert.True(shape["$ref"] is not null, $"{method} {path} answers an unnamed shape: {schema.ToJsonString()}");
                }
            }
        }
    }

    private static string FirstDifference(string expected, string actual)
    {
        var a = expected.Split('\n');
        var b = actual.Split('\n');
        for (var i = 0; i < Math.Max(a.Length, b.Length); i++)
        {
            var left = i < a.Length ? a[i] : "(end)";
            var right = i < b.Length ? b[i] : "(end)";
            if (left != right)
            {
                return $"line {i + 1}:\n  snapshot: {left.Trim()}\n  served:   {right.Trim()}";
            }
        }
        return "";
    }
}
