using KeelPortal.Notifications;
using KeelPortal.Tests.TestSupport;
using Microsoft.Extensions.DependencyInjection;

namespace KeelPortal.Tests.Notifications;

/// <summary>E-mail notifications through a real SMTP server (aiosmtpd) that requires STARTTLS and AUTH.</summary>
[Collection(AppHosts.Name)]
public sealed class EmailChannelTests
{
    [Fact]
    public async Task Keels_mail_variables_send_an_approval_request_as_text_and_html_over_starttls_with_auth()
    {
        await using var smtp = await SmtpProcess.StartAsync();
        await using var pipeline = await PipelinePortal.StartAsync(configure: p => p
            .With("MAIL_SMTP_SERVER", "127.0.0.1").With("MAIL_SMTP_PORT", smtp.Port.ToString(System.Globalization.CultureInfo.InvariantCulture))
            .With("MAIL_SMTP_USER", SmtpProcess.User).With("MAIL_SMTP_PASS", SmtpProcess.Password)
            .With("MAIL_FROM", "keel@example.com").With("MAIL_TO", "ops@example.com")
            .With("Notifications:SmtpCaBundlePath", smtp.Certificates.CaPath));

        var pending = await pipeline.PendingAsync("mailed", votes: 1);

        await Eventually.TrueAsync(() => Task.FromResult(smtp.Messages().Any(m => (m.Subject ?? "").Contains(pending.Identifier.Split(':')[0], StringComparison.Ordinal))),
            TimeSpan.FromSeconds(30), "the approval request e-mailed");
        var message = smtp.Messages().First(m => (m.Subject ?? "").Contains("deployment/shop/mailed", StringComparison.Ordinal));
        Assert.Equal(("keel@example.com", "ops@example.com"), (message.From.Mailboxes.Single().Address, message.To.Mailboxes.Single().Address));
        Assert.Contains("1.0.0 -> 1.1.0", message.TextBody, StringComparison.Ordinal);
        Assert.Contains("<h2", message.HtmlBody, StringComparison.Ordinal);
        Assert.Contains("#2196F3", message.HtmlBody, StringComparison.Ordinal);
        Assert.Contains(pipeline.Portal.Logs.Lines, l => l.Message.StartsWith("Keel's MAIL_SMTP_SERVER", StringComparison.Ordinal));
        Assert.DoesNotContain(pipeline.Portal.Logs.Lines, l => l.Message.Contains(SmtpProcess.Password, StringComparison.Ordinal));
    }

    [Fact]
    public async Task Refused_credentials_are_a_failed_attempt_not_retried_and_the_answer_never_holds_the_password()
    {
        await using var smtp = await SmtpProcess.StartAsync();
        await using var portal = new PortalFactory().With("Notifications:SmtpCaBundlePath", smtp.Certificates.CaPath);
        var notifier = portal.Services.GetRequiredService<INotifier>();
        var wrong = new ChannelSettings("mail", ChannelType.Email, smtp.Target(password: "not-The-Password-9"), null, null, null,
            NotificationEvents.All, NotificationLevel.Debug, false, true, "test");
        var right = wrong with { Target = smtp.Target() };
        var note = new Notification(NotificationEvents.UpdateApplied, NotificationLevel.Success, "Successfully updated deployment shop/web 1.0.0->1.1.0",
            "deployment", "shop", "web", "1.0.0", "1.1.0", null, null, null, null, DateTime.UtcNow);

        var refused = await notifier.SendAsync(wrong, note, CancellationToken.None);
        var sent = await notifier.SendAsync(right, note, CancellationToken.None);

        Assert.Equal((false, false), (refused.Delivered, refused.Retryable));
        Assert.Contains("refused the credentials", refused.Answer, StringComparison.Ordinal);
        Assert.DoesNotContain("not-The-Password-9", refused.Answer, StringComparison.Ordinal);
        Assert.True(sent.Delivered, sent.Answer);
        var message = Assert.Single(smtp.Messages());
        Assert.Equal("[KeelPortal] Update applied: deployment/shop/web", message.Subject);
    }

    [Theory]
    [InlineData("smtp://mail.example.com/?to=ops@example.com", "?from=")]
    [InlineData("smtp://mail.example.com/?from=portal@example.com", "&to=")]
    [InlineData("smtp://mail.example.com/?from=portal@example.com&to=nobody", "'nobody' is not an e-mail address")]
    [InlineData("smtp://mail.example.com/?from=portal@example.com&to=a@example.com&encryption=maybe", "encryption is auto")]
    [InlineData("https://mail.example.com/", "Enter an SMTP URL")]
    public void An_smtp_target_that_cannot_be_used_is_refused_with_the_reason(string target, string reason)
    {
        Assert.Contains(reason, ChannelTargets.Problem(ChannelType.Email, target, null), StringComparison.Ordinal);
        Assert.True(SmtpTarget.TryParse("smtp://u:p%40ss@mail.example.com:587/?from=portal@example.com&to=a@example.com,b@example.com&encryption=starttls", out var parsed, out _));
        Assert.Equal(("mail.example.com", 587, "u", "p@ss", 2, SmtpSecurity.StartTls), (parsed!.Host, parsed.Port, parsed.User, parsed.Password, parsed.To.Count, parsed.Security));
    }
}
