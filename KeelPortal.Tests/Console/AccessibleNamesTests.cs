using System.Text.RegularExpressions;
using KeelPortal.Tests.TestSupport;

namespace KeelPortal.Tests.Console;

/// <summary>
/// Every progress indicator says what it waits for (axe-core's <c>aria-progressbar-name</c>): checked in the markup of
/// every page and component, so one shown only while something loads slowly cannot slip past the browser tests.
/// </summary>
public sealed partial class AccessibleNamesTests
{
    [Fact]
    public void Every_progress_indicator_has_an_accessible_name()
    {
        var unnamed = Directory.EnumerateFiles(Path.Combine(RepoPaths.Root, "KeelPortal"), "*.razor", SearchOption.AllDirectories)
            .SelectMany(file => Progress().Matches(File.ReadAllText(file))
                .Where(m => !m.Value.Contains("aria-label", StringComparison.Ordinal))
                .Select(m => $"{Path.GetRelativePath(RepoPaths.Root, file)}: {m.Value}"))
            .ToList();

        Assert.True(unnamed.Count == 0, "progress indicators without aria-label:\n" + string.Join('\n', unnamed));
    }

    [GeneratedRegex(@"<MudProgress(Linear|Circular)\b[^>]*>", RegexOptions.Singleline)]
    private static partial Regex Progress();
}
