namespace KeelPortal.Tests.TestSupport;

/// <summary>Locations of the repository, its tests' data files and the shared spec folder beside it.</summary>
public static class RepoPaths
{
    public static string Root { get; } = FindRoot();

    /// <summary>A data file copied next to the test assembly.</summary>
    public static string TestFile(string relative) => Path.Combine(AppContext.BaseDirectory, relative);

    /// <summary>The read-only shared folder that sits beside the repository (spec, vectors).</summary>
    public static string Shared(string relative) => Path.GetFullPath(Path.Combine(Root, "..", "shared", relative));

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "KeelPortal.sln")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException("KeelPortal.sln not found above " + AppContext.BaseDirectory);
    }
}
