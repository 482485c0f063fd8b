using System.Text;
using KeelPortal.Chat;
using Microsoft.AspNetCore.DataProtection;
using Microsoft.Extensions.Time.Testing;

namespace KeelPortal.Tests.Chat;

/// <summary>Slack's signature (Slack's own documented example), its replay window, and the portal's signed tokens.</summary>
public sealed class ChatTokensTests
{
    private const string SlackDocsSecret = "8f742231b10e8888abcd99yyyzzz85a5";
    private const string SlackDocsBody = "token=xyzz0WbapA4vBCDEFasx0q6G&team_id=T1DC2JH3J&team_domain=testteamnow&channel_id=G8PSS9T3V&channel_name=foobar&user_id=U2CERLKJA&user_name=roadrunner&command=%2Fwebhook-collect&text=&response_url=https%3A%2F%2Fhooks.slack.com%2Fcommands%2FT1DC2JH3J%2F397700885554%2F96rGlfmibIGlgcZRskXaIFfN&trigger_id=398738663015.47445629121.803a0bc887a14d10d2c447fce8b6703c";

    [Fact]
    public void Slacks_documented_request_is_valid_and_any_change_or_age_is_refused()
    {
        var body = Encoding.UTF8.GetBytes(SlackDocsBody);
        const string signature = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";
        var then = DateTimeOffset.FromUnixTimeSeconds(1531420618);
        var window = TimeSpan.FromMinutes(5);

        Assert.Equal(signature, SlackSignature.Sign(SlackDocsSecret, "1531420618", body));
        Assert.Equal(SignatureVerdict.Valid, SlackSignature.Check(SlackDocsSecret, "1531420618", signature, body, then.AddMinutes(4), window));
        Assert.Equal(SignatureVerdict.Stale, SlackSignature.Check(SlackDocsSecret, "1531420618", signature, body, then.AddMinutes(6), window));
        Assert.Equal(SignatureVerdict.Stale, SlackSignature.Check(SlackDocsSecret, "1531420618", signature, body, then.AddMinutes(-6), window));
        Assert.Equal(SignatureVerdict.Mismatch, SlackSignature.Check(SlackDocsSecret, "1531420618", signature, Encoding.UTF8.GetBytes(SlackDocsBody + "x"), then, window));
        Assert.Equal(SignatureVerdict.Mismatch, SlackSignature.Check("another-secret", "1531420618", signature, body, then, window));
        Assert.Equal(SignatureVerdict.Mismatch, SlackSignature.Check(SlackDocsSecret, "1531420618", signature[..^1], body, then, window));
        Assert.Equal(SignatureVerdict.Missing, SlackSignature.Check(SlackDocsSecret, null, signature, body, then, window));
        Assert.Equal(SignatureVerdict.Missing, SlackSignature.Check(SlackDocsSecret, "-5", signature, body, then, window));
    }

    [Fact]
    public void A_token_is_read_only_for_its_purpose_and_until_it_expires()
    {
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 12, 1, 12, 0, 0, TimeSpan.Zero));
        var tokens = new ChatTokens(new EphemeralDataProtectionProvider(), clock);
        var token = tokens.Create(ChatTokens.Decision, "42", "approve", clock.GetUtcNow().UtcDateTime.AddHours(1));

        Assert.Equal(("42", "approve"), tokens.Read(token, ChatTokens.Decision, out _));
        Assert.Null(tokens.Read(token, ChatTokens.Action, out var other));
        Assert.Contains("signed for something else", other, StringComparison.Ordinal);
        Assert.Null(tokens.Read(token[..^3] + "abc", ChatTokens.Decision, out var garbled));
        Assert.Contains("not one the portal signed", garbled, StringComparison.Ordinal);
        clock.Advance(TimeSpan.FromHours(1));
        Assert.Null(tokens.Read(token, ChatTokens.Decision, out var expired));
        Assert.Contains("expired at 2026-12-01 13:00Z", expired, StringComparison.Ordinal);
    }
}
