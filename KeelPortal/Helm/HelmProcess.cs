using System.Diagnostics;

namespace KeelPortal.Helm;

/// <summary>
/// Runs the helm binary the way the portal always runs it: its own home (cache, config and data beside it, so nothing of
/// the host's helm set-up leaks in), no inherited <c>KUBECONFIG</c>, bounded in time.
/// </summary>
public static class HelmProcess
{
    /// <summary><paramref name="configured"/> as a path, or looked up on PATH; null when there is none.</summary>
    public static string? Find(string configured)
    {
        ArgumentNullException.ThrowIfNull(configured);
        if (configured.Contains(Path.DirectorySeparatorChar, StringComparison.Ordinal))
        {
            return File.Exists(configured) ? configured : null;
        }
        return (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(dir => Path.Combine(dir, configured)).FirstOrDefault(File.Exists);
    }

    /// <summary>
    /// Runs <paramref name="helm"/> with <paramref name="args"/>; the exit code and stderr (stdout when stderr is empty), or
    /// -1 and null when it did not finish within <paramref name="timeout"/> and was stopped.
    /// </summary>
    public static async Task<(int ExitCode, string? Output)> RunAsync(
        string helm, IEnumerable<string> args, string home, IReadOnlyDictionary<string, string>? environment, TimeSpan timeout, CancellationToken ct)
    {
        ArgumentNullException.ThrowIfNull(args);
        var start = new ProcessStartInfo(helm) { RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        foreach (var (key, value) in environment ?? new Dictionary<string, string>())
        {
            start.Environment[key] = value;
        }
        start.Environment["HOME"] = home;
        start.Environment["HELM_CACHE_HOME"] = Path.Combine(home, "cache");
        start.Environment["HELM_CONFIG_HOME"] = Path.Combine(home, "config");
        start.Environment["HELM_DATA_HOME"] = Path.Combine(home, "data");
        start.Environment.Remove("KUBECONFIG");
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"{helm} did not start");
        var stdout = process.StandardOutput.ReadToEndAsync(ct);
        var stderr = process.StandardError.ReadToEndAsync(ct);
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(ct);
        limit.CancelAfter(timeout);
        try
        {
            await process.WaitForExitAsync(limit.Token);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            process.Kill(entireProcessTree: true);
            return (-1, null);
        }
        var error = await stderr;
        return (process.ExitCode, error.Length > 0 ? error : await stdout);
    }
}
