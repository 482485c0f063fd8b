using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text.RegularExpressions;

namespace KeelPortal.Tests.TestSupport;

/// <summary>
/// The portal as its own operating-system process (<c>dotnet KeelPortal.dll</c>, as the container runs it), on port 0
/// with the address read back from its "ready" line. <see cref="KillAsync"/> is SIGKILL: no shutdown code runs, as when a
/// node dies or the kernel kills the pod.
/// </summary>
public sealed partial class PortalProcess : IAsyncDisposable
{
    private readonly Process process;
    private readonly ConcurrentQueue<string> output = new();

    private PortalProcess(string name, Process process)
    {
        Name = name;
        this.process = process;
    }

    public string Name { get; }

    public Uri Url { get; private set; } = null!;

    public int Id => process.Id;

    public bool HasExited => process.HasExited;

    /// <summary>Everything the process wrote, for a failing test's message.</summary>
    public string Output => string.Join('\n', output);

    /// <summary>The value a replica writes as the claimer of outbox rows (<c>machine:pid</c>).</summary>
    public string ClaimName => $"{Environment.MachineName}:{process.Id}";

    public static async Task<PortalProcess> StartAsync(string name, IReadOnlyDictionary<string, string> settings, TimeSpan? timeout = null, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet", [Path.Combine(AppContext.BaseDirectory, "KeelPortal.dll"), "--contentRoot", RepoPaths.Root, .. args])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            Environment =
            {
                ["ASPNETCORE_ENVIRONMENT"] = "Production",
                ["ASPNETCORE_URLS"] = Loopback.AnyPort,
                ["Logging__Console__FormatterName"] = "simple",
                ["Logging__Console__FormatterOptions__SingleLine"] = "true",
            },
        };
        foreach (var (key, value) in settings)
        {
            start.Environment[key.Replace(":", "__", StringComparison.Ordinal)] = value;
        }
        var ready = new TaskCompletionSource<Uri>(TaskCreationOptions.RunContinuationsAsynchronously);
        var process = Process.Start(start) ?? throw new InvalidOperationException("dotnet did not start");
        var portal = new PortalProcess(name, process);
        void Line(string? line)
        {
            if (line is null)
            {
                return;
            }
            portal.output.Enqueue(line);
            if (ReadyLine().Match(line) is { Success: true } match)
            {
                ready.TrySetResult(new Uri(match.Groups[1].Value + "/"));
            }
        }
        process.OutputDataReceived += (_, e) => Line(e.Data);
        process.ErrorDataReceived += (_, e) => Line(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var exited = process.WaitForExitAsync();
        try
        {
            var first = await Task.WhenAny(ready.Task, exited).WaitAsync(timeout ?? TimeSpan.FromSeconds(60));
            if (first != ready.Task)
            {
                throw new InvalidOperationException($"portal {name} exited with {process.ExitCode} before it was ready:\n{portal.Output}");
            }
        }
        catch (TimeoutException)
        {
            await portal.DisposeAsync();
            throw new TimeoutException($"portal {name} was not ready in time:\n{portal.Output}");
        }
        portal.Url = await ready.Task;
        return portal;
    }

    /// <summary>Waits until the process has written a line <paramref name="pattern"/> matches, and returns the match.</summary>
    public async Task<Match> LineAsync(Regex pattern, TimeSpan timeout)
    {
        Match? found = null;
        await Eventually.TrueAsync(() => output.Select(l => pattern.Match(l)).FirstOrDefault(m => m.Success) is { } m && (found = m) is not null,
            timeout, $"a line matching {pattern} from {Name}:\n{Output}");
        return found!;
    }

    /// <summary>SIGSTOP (<paramref name="stop"/>) or SIGCONT: the process freezes where it is — as in a long GC pause or on a starved node — and later carries on.</summary>
    public async Task SignalAsync(bool stop)
    {
        using var kill = Process.Start(new ProcessStartInfo("kill", [stop ? "-STOP" : "-CONT", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])
        {
            RedirectStandardError = true,
        })!;
        await kill.WaitForExitAsync();
        Assert.True(kill.ExitCode == 0, $"kill {(stop ? "-STOP" : "-CONT")} {process.Id}: {await kill.StandardError.ReadToEndAsync()}");
    }

    /// <summary>SIGKILL, and waits until the process is gone.</summary>
    public async Task KillAsync()
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
        }
        await process.WaitForExitAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        process.Dispose();
    }

    [GeneratedRegex(@"KeelPortal is ready: open (http://\S+) in your browser")]
    private static partial Regex ReadyLine();
}
