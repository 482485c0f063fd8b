using System.Reflection;
using System.Text.RegularExpressions;
using KeelPortal.Tests.TestSupport;

namespace KeelPortal.Tests.Docs;

/// <summary>
/// The README stays what a newcomer reads in five minutes, every link in it and in <c>docs/</c> lands somewhere, and the
/// configuration page names every setting the portal reads — found in the code, so a new one cannot be left out.
/// </summary>
public sealed partial class DocumentationTests
{
    private static string Read(string relative) => File.ReadAllText(Path.Combine(RepoPaths.Root, relative));

    private static IEnumerable<string> Pages() =>
        Enumerable.Repeat("README.md", 1).Concat(Directory.GetFiles(Path.Combine(RepoPaths.Root, "docs"), "*.md").Select(p => Path.GetRelativePath(RepoPaths.Root, p)));

    [Fact]
    public void The_readme_opens_with_the_two_commands_and_stays_short()
    {
        var readme = Read("README.md");
        var commands = CodeBlock().Matches(readme).Select(m => m.Groups[1].Value.Trim()).ToList();

        Assert.Equal(["dotnet run", "./test.sh"], commands.Take(2));
        Assert.True(readme.IndexOf("## Two commands", StringComparison.Ordinal) < readme.IndexOf("## The first five minutes", StringComparison.Ordinal));
        Assert.InRange(readme.Split('\n').Length, 1, 120);
        Assert.Contains("exec ./test.sh", Read(".ci/run"), StringComparison.Ordinal);
    }

    [Fact]
    public void Every_link_between_the_pages_lands_on_a_file_and_heading_that_exist()
    {
        var broken = new List<string>();
        foreach (var page in Pages())
        {
            var folder = Path.GetDirectoryName(Path.Combine(RepoPaths.Root, page))!;
            foreach (Match link in MarkdownLink().Matches(Read(page)))
            {
                var target = link.Groups[1].Value;
                if (target.Contains("://", StringComparison.Ordinal) || target.StartsWith("mailto:", StringComparison.Ordinal))
                {
                    continue;
                }
                var (file, anchor) = target.Split('#', 2) is [var f, var a] ? (f, a) : (target, null);
                var path = file.Length == 0 ? Path.Combine(RepoPaths.Root, page) : Path.GetFullPath(Path.Combine(folder, file));
                if (!File.Exists(path) && !Directory.Exists(path))
                {
                    broken.Add($"{page}: {target} (no such file)");
                }
                else if (anchor is not null && !Headings(File.ReadAllText(path)).Contains(anchor))
                {
                    broken.Add($"{page}: {target} (no such heading)");
                }
            }
        }
        Assert.Empty(broken);
    }

    [Fact]
    public void The_configuration_page_names_every_setting_the_portal_binds()
    {
        var page = Read("docs/configuration.md");
        var sections = typeof(Program).Assembly.GetTypes()
            .Select(t => (Type: t, Section: t.GetField("Section", BindingFlags.Public | BindingFlags.Static)?.GetRawConstantValue() as string))
            .Where(s => s.Section is not null && s.Type.Name.EndsWith("Options", StringComparison.Ordinal))
            .ToList();
        Assert.True(sections.Count >= 13, $"found only {sections.Count} settings sections");

        var missing = sections.SelectMany(s => Keys(s.Type, s.Section!)).Where(key => !page.Contains(key, StringComparison.Ordinal)).ToList();

        Assert.Empty(missing);
    }

    [Fact]
    public void The_configuration_page_names_every_variable_read_by_its_own_name()
    {
        var page = Read("docs/configuration.md");
        var read = Directory.GetFiles(Path.Combine(RepoPaths.Root, "KeelPortal"), "*.cs", SearchOption.AllDirectories)
            .SelectMany(f => NamedVariable().Matches(File.ReadAllText(f)).Select(m => m.Groups[1].Value))
            .Distinct().ToList();
        Assert.Contains("NOTIFICATION_LEVEL", read);

        Assert.DoesNotContain(read, name => !page.Contains($"`{name}`", StringComparison.Ordinal));
    }

    [Fact]
    public void Every_line_of_the_migration_checklist_names_tests_that_exist()
    {
        var lines = Read("docs/migrating-from-keel.md").Split('\n');
        var starts = lines.Select((l, i) => (l, i)).Where(x => x.l.StartsWith("- [ ] ", StringComparison.Ordinal)).Select(x => x.i).ToList();
        var tests = typeof(DocumentationTests).Assembly.GetTypes().Select(t => t.Name).ToHashSet(StringComparer.Ordinal);
        Assert.True(starts.Count >= 8, $"the checklist has {starts.Count} lines");

        foreach (var (start, end) in starts.Zip([.. starts.Skip(1), lines.Length]))
        {
            var item = string.Join(' ', lines[start..end]);
            var walked = System.Text.RegularExpressions.Regex.Match(item, @"\(walked by (?<names>[^)]*)\)");
            Assert.True(walked.Success, $"the checklist line '{lines[start]}' names no test that walks it");
            var names = System.Text.RegularExpressions.Regex.Matches(walked.Groups["names"].Value, "`([A-Za-z]+)`").Select(m => m.Groups[1].Value).ToList();
            Assert.NotEmpty(names);
            Assert.All(names, name => Assert.True(tests.Contains(name), $"the checklist names {name}, which is no test class"));
        }
    }

    [Fact]
    public void The_configuration_page_names_what_becomes_of_every_keel_variable()
    {
        var page = Read("docs/configuration.md");
        var table = page[page.IndexOf("## Keel's environment variables", StringComparison.Ordinal)..];

        Assert.DoesNotContain(KeelPortal.Data.KeelEnvironment.Variables, v => !table.Contains($"`{v.Name}`", StringComparison.Ordinal));
    }

    /// <summary>Every key a settings class binds: <c>Section:Property</c>, into nested classes; a list or map of classes by its entries' properties.</summary>
    private static IEnumerable<string> Keys(Type type, string prefix)
    {
        foreach (var property in type.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.SetMethod?.IsPublic == true))
        {
            var key = $"{prefix}:{property.Name}";
            var kind = property.PropertyType;
            var element = kind.IsGenericType && kind.GetGenericTypeDefinition() == typeof(List<>) ? kind.GetGenericArguments()[0]
                : kind.IsGenericType && kind.GetGenericTypeDefinition() == typeof(Dictionary<,>) ? kind.GetGenericArguments()[1]
                : null;
            if (element is not null && IsComplex(element))
            {
                // Listed as "Delivery:Windows:<n>:Name", ":Days"…: the entry's key, then each of its properties.
                yield return key + ":<";
                foreach (var inner in element.GetProperties(BindingFlags.Public | BindingFlags.Instance).Where(p => p.SetMethod?.IsPublic == true))
                {
                    yield return $":{inner.Name}";
                }
            }
            else if (element is null && IsComplex(kind))
            {
                foreach (var inner in Keys(kind, key))
                {
                    yield return inner;
                }
            }
            else
            {
                yield return $"`{key}";
            }
        }
    }

    private static bool IsComplex(Type type) =>
        type.IsClass && type != typeof(string) && type != typeof(Uri) && !type.IsGenericType;

    /// <summary>GitHub's anchors: the heading in lower case, punctuation dropped, spaces as dashes.</summary>
    private static HashSet<string> Headings(string markdown) =>
        Heading().Matches(markdown).Select(m => Regex.Replace(m.Groups[1].Value.Trim().ToLowerInvariant(), @"[^\p{L}\p{N}\- ]", "").Replace(' ', '-')).ToHashSet();

    [GeneratedRegex(@"```\s*\n(.*?)\n```", RegexOptions.Singleline)]
    private static partial Regex CodeBlock();

    [GeneratedRegex(@"\]\(([^)\s]+)\)")]
    private static partial Regex MarkdownLink();

    [GeneratedRegex(@"(?m)^#{1,6} (.+)$")]
    private static partial Regex Heading();

    [GeneratedRegex(@"configuration\[""([A-Z][A-Z0-9_]+)""\]")]
    private static partial Regex NamedVariable();
}
