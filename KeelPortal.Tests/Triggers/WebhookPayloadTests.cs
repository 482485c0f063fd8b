using KeelPortal.Tests.Policies;
using KeelPortal.Triggers;

namespace KeelPortal.Tests.Triggers;

public sealed class WebhookPayloadTests
{
    public static TheoryData<VectorCase> Bodies => WebhookVectors.Cases("cases");

    public static TheoryData<VectorCase> BadInputs => WebhookVectors.Cases("bad_inputs");

    [Theory]
    [MemberData(nameof(Bodies))]
    public void Every_keel_body_yields_its_repositories_tags_and_digests(VectorCase vector)
    {
        var result = WebhookPayloads.Parse(WebhookVectors.Provider(vector), WebhookVectors.Body(vector), WebhookVectors.Header(vector, "X-GitHub-Event"));

        Assert.Null(result.Error);
        var expected = vector.Json["expect"]!.AsArray()
            .Select(e => new ImageEvent(e!["repository"]!.GetValue<string>(), e["tag"]!.GetValue<string>(), e["digest"]?.GetValue<string>()));
        Assert.Equal(expected, result.Events);
    }

    [Theory]
    [MemberData(nameof(BadInputs))]
    public void Every_bad_body_is_refused_with_a_reason_and_no_event(VectorCase vector)
    {
        var result = WebhookPayloads.Parse(WebhookVectors.Provider(vector), WebhookVectors.Body(vector), WebhookVectors.Header(vector, "X-GitHub-Event"));

        Assert.False(string.IsNullOrWhiteSpace(result.Error));
        Assert.Empty(result.Events);
    }

    [Theory]
    [InlineData("github", """{"package":{}}""", null, "X-GitHub-Event header must be")]
    [InlineData("harbor", """{"type":"DELETE_ARTIFACT"}""", null, "only pushImage and PUSH_ARTIFACT")]
    [InlineData("registry", """{"events":{}}""", null, "no events array")]
    [InlineData("native", """[1,2]""", null, "must be a JSON object")]
    [InlineData("native", """{"name":"Upper/Case","tag":"1"}""", null, "is not an image name")]
    public void Reasons_say_what_is_wrong(string provider, string body, string? githubEvent, string reason)
    {
        var result = WebhookPayloads.Parse(provider, body, githubEvent);

        Assert.Contains(reason, result.Error, StringComparison.Ordinal);
    }
}
