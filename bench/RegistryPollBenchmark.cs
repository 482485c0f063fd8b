using System.Diagnostics;
using KeelPortal.Registries;
using KeelPortal.Tests.Registries;
using KeelPortal.Tests.TestSupport;

namespace KeelPortal.Bench;

/// <summary>
/// Polls N repositories on a real token-auth registry (Debian's docker-registry) in two cycles and counts the
/// registry requests of each: the steady-state cycle should cost one tags request per repository.
/// </summary>
public static class RegistryPollBenchmark
{
    public static async Task<int> RunAsync(int repositories)
    {
        await using var registry = await RegistryProcess.StartAsync(RegistryAuth.Token);
        using var pusher = new ImagePusher(registry);
        var images = new List<ImageReference>();
        for (var i = 0; i < repositories; i++)
        {
            await pusher.PushAsync($"bench/app{i}", "1.0.0");
            images.Add(ImageReference.Parse($"{registry.Host}/bench/app{i}"));
        }
        var credential = new RegistryCredential(RegistryProcess.User, RegistryProcess.Password, "benchmark");

        // Measured without the per-registry request budget, which would otherwise set the pace (1200 a minute by default).
        static RegistryClient Unbudgeted() => RegistryFixture.NewClient(o => o.Defaults.RequestsPerMinute = 1_000_000);
        using var client = Unbudgeted();
        Console.WriteLine($"{repositories} repositories on a token-auth registry at {registry.Host}");
        for (var cycle = 1; cycle <= 2; cycle++)
        {
            var (requests, tokens, elapsed) = await CycleAsync(registry, images, _ => client, credential);
            Console.WriteLine($"cycle {cycle}: {requests} registry requests, {tokens} token requests, {elapsed.TotalMilliseconds:F0} ms");
        }
        // The same steady-state cycle for a client that keeps no tokens: every poll pays challenge, token and retry.
        var uncached = await CycleAsync(registry, images, _ => Unbudgeted(), credential);
        Console.WriteLine($"without a token cache: {uncached.Requests} registry requests, {uncached.Tokens} token requests, {uncached.Elapsed.TotalMilliseconds:F0} ms");
        return 0;
    }

    private static async Task<(long Requests, int Tokens, TimeSpan Elapsed)> CycleAsync(
        RegistryProcess registry, List<ImageReference> images, Func<ImageReference, RegistryClient> clientFor, RegistryCredential credential)
    {
        var tokensBefore = registry.Tokens!.Requests;
        var clients = new List<RegistryClient>();
        var requestsBefore = new Dictionary<RegistryClient, long>();
        var watch = Stopwatch.StartNew();
        foreach (var image in images)
        {
            var client = clientFor(image);
            if (!requestsBefore.ContainsKey(client))
            {
                requestsBefore[client] = client.StatusOf(registry.Host)?.Requests ?? 0;
                clients.Add(client);
            }
            var tags = await client.ListTagsAsync(image, credential);
            if (!tags.Succeeded)
            {
                throw new InvalidOperationException(tags.Failure!.Reason);
            }
        }
        watch.Stop();
        var requests = clients.Sum(c => (c.StatusOf(registry.Host)?.Requests ?? 0) - requestsBefore[c]);
        return (requests, registry.Tokens.Requests - tokensBefore, watch.Elapsed);
    }
}
