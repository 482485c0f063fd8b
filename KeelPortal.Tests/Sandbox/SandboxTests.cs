using System.Diagnostics;
using Deque.AxeCore.Playwright;
using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using KeelPortal.Tests.TestSupport;
using Microsoft.Playwright;
using Xunit.Abstractions;

namespace KeelPortal.Tests.Sandbox;

/// <summary>
/// The sandbox as a newcomer meets it: <c>dotnet KeelPortal.dll --sandbox</c> (what <c>dotnet run -- --sandbox</c> runs) as
/// its own process, from the build output, with nothing else set up; the browser signs in with the printed passwords.
/// </summary>
[Collection(AppHosts.Name)]
public sealed partial class SandboxTests(BrowserFixture browser, ITestOutputHelper output) : IClassFixture<BrowserFixture>
{
    private const string Storefront = "[data-testid=pending-approval][data-identifier='deployment/shop/storefront:1.1.0']";

    [GeneratedRegex(@"^\s+(admin|alice|bob|viewer)\s+(sandbox-[0-9a-f]+)\s")]
    private static partial Regex AccountLine();

    [GeneratedRegex(@"kubectl --server (http://127\.0\.0\.1:\d+) ")]
    private static partial Regex ClusterLine();

    private static async Task<(PortalProcess Portal, Dictionary<string, string> Passwords, string Cluster, string Data)> StartAsync()
    {
        var data = Directory.CreateTempSubdirectory("keelportal-sandbox-").FullName;
        var portal = await PortalProcess.StartAsync("sandbox", new Dictionary<string, string> { ["Sandbox:DataPath"] = data }, TimeSpan.FromSeconds(90), "--sandbox");
        var cluster = (await portal.LineAsync(ClusterLine(), TimeSpan.FromSeconds(30))).Groups[1].Value;
        var passwords = portal.Output.Split('\n').Select(l => AccountLine().Match(l)).Where(m => m.Success).ToDictionary(m => m.Groups[1].Value, m => m.Groups[2].Value);
        Assert.Equal(["admin", "alice", "bob", "viewer"], passwords.Keys.Order());
        return (portal, passwords, cluster, data);
    }

    [Fact]
    public async Task A_newcomer_signs_in_votes_twice_and_sees_the_update_rolled_out_and_the_teams_message()
    {
        var clock = Stopwatch.StartNew();
        var (portal, passwords, _, data) = await StartAsync();
        await using var _ = portal;
        await using var session = browser.Session();

        var alice = await session.SignedInPageAsync(portal.Url, "alice", passwords["alice"]);
        await alice.GotoAsync("/approvals");
        await BrowserFixture.InteractiveAsync(alice);
        await Assertions.Expect(alice.Locator("[data-testid=sandbox-banner]")).ToContainTextAsync("This is a sandbox");
        await alice.Locator($"{Storefront} [data-testid=approve]").ClickAsync();
        var bob = await session.SignedInPageAsync(portal.Url, "bob", passwords["bob"]);
        await bob.GotoAsync("/approvals");
        await BrowserFixture.InteractiveAsync(bob);
        await Assertions.Expect(bob.Locator($"{Storefront} [data-testid=votes]")).ToContainTextAsync("1 of 2 votes: alice");
        await bob.Locator($"{Storefront} [data-testid=approve]").ClickAsync();

        await Assertions.Expect(bob.Locator(Storefront)).ToHaveCountAsync(0);
        await bob.GetByRole(AriaRole.Tab, new() { Name = "History" }).ClickAsync();
        await Assertions.Expect(bob.Locator("[data-testid=history] tr", new() { HasText = "storefront" }).Locator("[data-testid=history-state]").First)
            .ToHaveTextAsync("Applied, rolled out", new() { Timeout = 30_000 });
        await bob.GotoAsync("/sandbox");
        await BrowserFixture.InteractiveAsync(bob);
        await Assertions.Expect(bob.Locator("[data-testid=sandbox-message]", new() { HasText = "storefront" }).First).ToBeVisibleAsync();
        await Assertions.Expect(bob.Locator("[data-testid=sandbox-message]", new() { HasText = "sandbox-mattermost" }).First).ToBeVisibleAsync();
        output.WriteLine($"from start to the message on the sandbox page: {clock.Elapsed.TotalSeconds:0.0} s");

        // On demand: the page's button pushes storefront's next minor, which comes back as a new approval.
        await bob.Locator("[data-testid=sandbox-push]").ClickAsync();
        await Assertions.Expect(bob.Locator(".mud-snackbar", new() { HasText = "Pushed team/storefront:1.2.0" })).ToBeVisibleAsync();
        await bob.GotoAsync("/approvals");
        await Assertions.Expect(bob.Locator("[data-testid=pending-approval][data-identifier='deployment/shop/storefront:1.2.0']")).ToBeVisibleAsync(new() { Timeout = 30_000 });
        var violations = (await bob.RunAxe()).Violations.Where(v => v.Impact is "serious" or "critical").Select(v => $"{v.Id}: {v.Help}").ToList();
        Assert.True(violations.Count == 0, string.Join("\n", violations));
        Assert.Empty(session.ConsoleErrors);
        Directory.Delete(data, recursive: true);
    }

    [Fact]
    public async Task A_version_that_fails_its_rollout_is_rolled_back_and_kubectl_and_helm_read_the_sandboxs_cluster()
    {
        var (portal, passwords, cluster, data) = await StartAsync();
        await using var _ = portal;
        using var http = new HttpClient { BaseAddress = portal.Url };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Basic", Convert.ToBase64String(Encoding.UTF8.GetBytes($"admin:{passwords["admin"]}")));

        using (var anonymous = new HttpClient { BaseAddress = portal.Url })
        using (var unsigned = await anonymous.PostAsJsonAsync("sandbox/push", new { repository = "team/web" }))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, unsigned.StatusCode);
        }
        using var refused = await http.PostAsJsonAsync("sandbox/push", new { repository = "team/nothing" });
        Assert.Equal(HttpStatusCode.NotFound, refused.StatusCode);
        using var pushed = await http.PostAsJsonAsync("sandbox/push", new { repository = "team/web", broken = true });
        pushed.EnsureSuccessStatusCode();
        var tag = (await pushed.Content.ReadFromJsonAsync<JsonObject>())!["tag"]!.GetValue<string>();
        Assert.Equal("1.0.1", tag);

        // The patch is applied at once (no votes), its rollout fails, and the portal puts 1.0.0 back by itself.
        var kubeconfig = WriteKubeconfig(data, cluster);
        var seen = "";
        await Eventually.TrueAsync(async () =>
        {
            // Written twice since it was created (generation 3): the update, then the rollback.
            seen = (await KubectlAsync(kubeconfig, data, "get", "deployment", "web", "-n", "shop", "-o",
                "jsonpath={.metadata.generation} {.spec.template.spec.containers[0].image}")).Trim();
            return seen.StartsWith("3 ", StringComparison.Ordinal) && seen.EndsWith("/team/web:1.0.0", StringComparison.Ordinal);
        }, TimeSpan.FromSeconds(60), $"shop/web updated to 1.0.1 and rolled back to 1.0.0 (it is at {seen})");

        var deployments = await KubectlAsync(kubeconfig, data, "get", "deployments", "-A");
        Assert.Contains("storefront", deployments, StringComparison.Ordinal);
        Assert.Contains("payments", deployments, StringComparison.Ordinal);
        var releases = await HelmTool.RunAsync(kubeconfig, "list", "-A");
        Assert.Contains("docs", releases, StringComparison.Ordinal);
        Assert.Contains("deployed", releases, StringComparison.Ordinal);

        // The Helm release (helm is at hand here) asks for one vote on 1.1.0; the admin's vote upgrades it through helm.
        await Eventually.TrueAsync(async () => JsonNode.Parse(await http.GetStringAsync("v1/approvals"))!.AsArray()
            .Any(a => a!["identifier"]!.GetValue<string>() == "shop/docs:1.1.0"), TimeSpan.FromSeconds(60), "the Helm release's approval");
        using (var vote = await http.PostAsJsonAsync("v1/approvals", new { identifier = "shop/docs:1.1.0", action = "approve" }))
        {
            vote.EnsureSuccessStatusCode();
        }
        await Eventually.TrueAsync(async () => (await HelmTool.RunAsync(kubeconfig, "get", "values", "docs", "-n", "shop", "-o", "json")).Contains("\"tag\":\"1.1.0\"", StringComparison.Ordinal),
            TimeSpan.FromSeconds(60), "shop/docs upgraded to 1.1.0 through helm");
        Directory.Delete(data, recursive: true);
    }

    [Fact]
    public async Task The_sandbox_never_starts_beside_a_real_cluster()
    {
        var stopped = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            PortalProcess.StartAsync("sandbox-refused", new Dictionary<string, string> { ["Workloads:Server"] = "https://10.0.0.1:6443" }, TimeSpan.FromSeconds(60), "--sandbox"));

        Assert.Contains("the sandbox never starts beside a real cluster, and Workloads:Server is set (https://10.0.0.1:6443)", stopped.Message, StringComparison.Ordinal);

        // Nor over a folder it did not make: its data folder is emptied at every start.
        var someone = Directory.CreateTempSubdirectory("keelportal-not-sandbox-").FullName;
        await File.WriteAllTextAsync(Path.Combine(someone, "notes.txt"), "mine");
        var kept = await Assert.ThrowsAsync<InvalidOperationException>(() =>
            PortalProcess.StartAsync("sandbox-folder", new Dictionary<string, string> { ["Sandbox:DataPath"] = someone }, TimeSpan.FromSeconds(60), "--sandbox"));
        Assert.Contains("holds files the sandbox did not write", kept.Message, StringComparison.Ordinal);
        Assert.Equal("mine", await File.ReadAllTextAsync(Path.Combine(someone, "notes.txt")));
        Directory.Delete(someone, recursive: true);
    }

    private static string WriteKubeconfig(string folder, string server)
    {
        var path = Path.Combine(folder, "kubeconfig");
        File.WriteAllText(path, $"""
            apiVersion: v1
            kind: Config
            clusters: [{"{"}name: sandbox, cluster: {"{"}server: "{server}"{"}"}{"}"}]
            users: [{"{"}name: sandbox, user: {"{"}token: sandbox{"}"}{"}"}]
            contexts: [{"{"}name: sandbox, context: {"{"}cluster: sandbox, user: sandbox{"}"}{"}"}]
            current-context: sandbox
            """);
        return path;
    }

    private static async Task<string> KubectlAsync(string kubeconfig, string home, params string[] args)
    {
        var (code, stdout, error) = await ToolProcess.RunAsync(RegistryProcess.Which("kubectl") ?? throw new InvalidOperationException("kubectl is not installed: run ./test.sh"),
            ["--kubeconfig", kubeconfig, "--request-timeout=30s", .. args], new Dictionary<string, string> { ["HOME"] = home });
        Assert.True(code == 0, $"kubectl {string.Join(' ', args)}: {error}");
        return stdout;
    }
}
