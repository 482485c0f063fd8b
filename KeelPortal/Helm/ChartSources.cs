using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using KeelPortal.Workloads;

namespace KeelPortal.Helm;

/// <summary>
/// Which chart a release may be upgraded with. A release's values come from whoever may install a release in its
/// namespace, while helm runs with the portal's cluster rights: the <c>keel.chart</c> reference is checked against its
/// grammar when the release is read (nothing that could be a flag), and against <see cref="HelmOptions.AllowedChartSources"/>
/// and <see cref="HelmOptions.LocalChartFolder"/> before helm is asked to fetch it.
/// </summary>
public static partial class ChartSources
{
    /// <summary>Why the reference is not a chart reference at all (a settings error), or null.</summary>
    public static string? GrammarError(ChartReference reference)
    {
        ArgumentNullException.ThrowIfNull(reference);
        if (!(OciChart().IsMatch(reference.Chart) || NamedChart().IsMatch(reference.Chart) || IsLocalPath(reference.Chart)))
        {
            return $"keel.chart: '{KeelSettings.Shown(reference.Chart)}' is not a chart reference: give oci://host/path, a chart name " +
                "(with keel.chartRepository) or an absolute path";
        }
        if (reference.Version is { } version && !ChartVersion().IsMatch(version))
        {
            return $"keel.chartVersion: '{KeelSettings.Shown(version)}' is not a chart version such as 1.2.3";
        }
        if (reference.Repository is { } repository
            && !(Uri.TryCreate(repository, UriKind.Absolute, out var uri) && uri.Scheme is "https" or "http" && uri.UserInfo.Length == 0
                && repository.Length <= 500 && !repository.Any(char.IsWhiteSpace)))
        {
            return $"keel.chartRepository: '{KeelSettings.Shown(repository)}' is not a chart repository URL such as https://charts.example.com";
        }
        if (reference.Repository is not null && !NamedChart().IsMatch(reference.Chart))
        {
            return "keel.chartRepository: a chart repository goes with a chart name, not with an oci:// reference or a path";
        }
        return null;
    }

    /// <summary>Why helm may not fetch this chart here (null: it may), checked before every upgrade that names one.</summary>
    public static string? Refusal(ChartReference reference, HelmOptions options)
    {
        ArgumentNullException.ThrowIfNull(reference);
        ArgumentNullException.ThrowIfNull(options);
        if (GrammarError(reference) is { } error)
        {
            return error;
        }
        if (IsLocalPath(reference.Chart))
        {
            if (options.LocalChartFolder is not { Length: > 0 } folder)
            {
                return $"keel.chart names the local path {reference.Chart}, and Helm:LocalChartFolder is not set: local charts are not used";
            }
            var root = Path.GetFullPath(folder).TrimEnd(Path.DirectorySeparatorChar) + Path.DirectorySeparatorChar;
            return Path.GetFullPath(reference.Chart).StartsWith(root, StringComparison.Ordinal)
                ? null
                : $"keel.chart names {reference.Chart}, which is outside Helm:LocalChartFolder ({folder})";
        }
        var source = reference.Repository ?? (reference.Chart.StartsWith("oci://", StringComparison.Ordinal) ? reference.Chart : null);
        if (source is null)
        {
            return $"keel.chart names the chart {reference.Chart} without keel.chartRepository: say which repository it comes from";
        }
        if (options.AllowedChartSources.FirstOrDefault(allowed => Covers(allowed, source)) is null)
        {
            var where = options.AllowedChartSources.Count == 0 ? "none is allowed (Helm:AllowedChartSources is empty)" : $"allowed: {string.Join(", ", options.AllowedChartSources)}";
            var address = IsInternal(source) ? " It is a loopback, link-local or private address, which is refused unless listed." : "";
            return $"the chart source {source} is not in Helm:AllowedChartSources; {where}.{address}";
        }
        return null;
    }

    /// <summary>An allowed source covers a source that is itself or lies under it (path segments, not characters).</summary>
    private static bool Covers(string allowed, string source)
    {
        var prefix = allowed.TrimEnd('/');
        return string.Equals(source.TrimEnd('/'), prefix, StringComparison.OrdinalIgnoreCase)
            || source.StartsWith(prefix + "/", StringComparison.OrdinalIgnoreCase);
    }

    private static bool IsInternal(string source)
    {
        var host = Uri.TryCreate(source, UriKind.Absolute, out var uri) ? uri.Host : "";
        if (host.Equals("localhost", StringComparison.OrdinalIgnoreCase))
        {
            return true;
        }
        if (!IPAddress.TryParse(host.Trim('[', ']'), out var ip))
        {
            return false;
        }
        if (IPAddress.IsLoopback(ip) || ip.IsIPv6LinkLocal || ip.IsIPv6SiteLocal || ip.IsIPv6UniqueLocal)
        {
            return true;
        }
        if (ip.AddressFamily != AddressFamily.InterNetwork)
        {
            return false;
        }
        var b = ip.GetAddressBytes();
        return b[0] == 10 || b[0] == 0 || (b[0] == 172 && b[1] >= 16 && b[1] < 32) || (b[0] == 192 && b[1] == 168) || (b[0] == 169 && b[1] == 254)
            || (b[0] == 100 && b[1] >= 64 && b[1] < 128);
    }

    private static bool IsLocalPath(string chart) =>
        chart.StartsWith('/') && chart.Length <= 500 && LocalPath().IsMatch(chart) && !chart.Split('/').Any(s => s is "." or "..");

    /// <summary>Options validation: each allowed source is an http(s) URL or an oci:// reference.</summary>
    public static IEnumerable<string> OptionErrors(HelmOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        foreach (var allowed in options.AllowedChartSources)
        {
            if (!(OciChart().IsMatch(allowed.TrimEnd('/'))
                || (Uri.TryCreate(allowed, UriKind.Absolute, out var uri) && uri.Scheme is "https" or "http" && uri.UserInfo.Length == 0)))
            {
                yield return $"Helm:AllowedChartSources: '{allowed}' is neither an http(s) chart repository URL nor an oci:// reference";
            }
        }
    }

    [GeneratedRegex(@"^oci://[A-Za-z0-9][A-Za-z0-9.-]*(:[0-9]{1,5})?(/[a-z0-9][a-z0-9._-]*)+$", RegexOptions.CultureInvariant)]
    private static partial Regex OciChart();

    [GeneratedRegex(@"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$", RegexOptions.CultureInvariant)]
    private static partial Regex NamedChart();

    [GeneratedRegex(@"^(/[A-Za-z0-9._-]+)+/?$", RegexOptions.CultureInvariant)]
    private static partial Regex LocalPath();

    [GeneratedRegex(@"^v?[0-9][0-9A-Za-z.+_-]{0,63}$", RegexOptions.CultureInvariant)]
    private static partial Regex ChartVersion();
}
