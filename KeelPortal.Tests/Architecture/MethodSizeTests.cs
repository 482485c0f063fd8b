using Microsoft.CodeAnalysis;
using Microsoft.CodeAnalysis.CSharp;
using Microsoft.CodeAnalysis.CSharp.Syntax;
using KeelPortal.Tests.TestSupport;

namespace KeelPortal.Tests.Architecture;

/// <summary>
/// No method in the product is longer than a reader can hold at once (60 lines, braces included): a longer one is a
/// decision and its plumbing mixed together, and is split where they part. Read from the sources, so a new long
/// method fails here with its file and line.
/// </summary>
public sealed class MethodSizeTests
{
    private const int MaxLines = 60;

    [Fact]
    public void No_method_in_the_product_is_longer_than_60_lines()
    {
        var sources = Path.Combine(RepoPaths.Root, "KeelPortal");
        var tooLong = new List<string>();
        foreach (var file in Directory.EnumerateFiles(sources, "*.cs", SearchOption.AllDirectories))
        {
            var tree = CSharpSyntaxTree.ParseText(File.ReadAllText(file), path: file);
            foreach (var member in tree.GetRoot().DescendantNodes().Where(n => n is BaseMethodDeclarationSyntax or LocalFunctionStatementSyntax or AccessorDeclarationSyntax))
            {
                var span = member.GetLocation().GetLineSpan();
                var lines = span.EndLinePosition.Line - span.StartLinePosition.Line + 1;
                if (lines > MaxLines)
                {
                    tooLong.Add($"{Path.GetRelativePath(sources, file)}:{span.StartLinePosition.Line + 1} {Name(member)} ({lines} lines)");
                }
            }
        }
        Assert.True(tooLong.Count == 0, "Methods over " + MaxLines + " lines:\n" + string.Join('\n', tooLong));
    }

    private static string Name(SyntaxNode member) => member switch
    {
        MethodDeclarationSyntax m => m.Identifier.Text,
        ConstructorDeclarationSyntax c => c.Identifier.Text + " (constructor)",
        LocalFunctionStatementSyntax l => l.Identifier.Text + " (local function)",
        AccessorDeclarationSyntax a => a.Keyword.Text + " accessor",
        _ => member.Kind().ToString(),
    };
}
