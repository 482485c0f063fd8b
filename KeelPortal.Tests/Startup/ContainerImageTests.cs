using System.Text.RegularExpressions;
using KeelPortal.Data;
using KeelPortal.Jobs;
using KeelPortal.Tests.TestSupport;
using Microsoft.Extensions.Configuration;

namespace KeelPortal.Tests.Startup;

/// <summary>The container image's settings: everything the portal writes lands on the /data volume.</summary>
public sealed partial class ContainerImageTests
{
    /// <summary>The ENV of the Dockerfile's final stage, as configuration keys (<c>Data__KeysPath</c> → <c>Data:KeysPath</c>).</summary>
    private static Dictionary<string, string?> ImageEnvironment()
    {
        var dockerfile = File.ReadAllText(Path.Combine(RepoPaths.Root, "Dockerfile"));
        var finalStage = dockerfile[dockerfile.LastIndexOf("\nFROM ", StringComparison.Ordinal)..];
        var env = new Dictionary<string, string?>(StringComparer.OrdinalIgnoreCase);
        foreach (Match instruction in EnvInstruction().Matches(finalStage.Replace("\\\n", " ", StringComparison.Ordinal)))
        {
            foreach (Match pair in EnvPair().Matches(instruction.Groups[1].Value))
            {
                env[pair.Groups[1].Value.Replace("__", ":", StringComparison.Ordinal)] = pair.Groups[2].Value.Trim('"');
            }
        }
        return env;
    }

    [Fact]
    public async Task The_image_leaves_the_sandbox_out_and_a_source_build_has_it()
    {
        var dockerfile = await File.ReadAllTextAsync(Path.Combine(RepoPaths.Root, "Dockerfile"));
        Assert.Contains("-p:Sandbox=false", dockerfile[dockerfile.IndexOf("dotnet publish", StringComparison.Ordinal)..].Split("\n\n")[0], StringComparison.Ordinal);

        // What MSBuild compiles with and without the property (an evaluation: nothing is built).
        async Task<(string Constants, int SandboxItems)> EvaluateAsync(params string[] properties)
        {
            var (code, output, error) = await ToolProcess.RunAsync("dotnet",
                ["msbuild", Path.Combine(RepoPaths.Root, "KeelPortal.csproj"), "-getItem:Compile", "-getItem:Content", "-getItem:None", "-getProperty:DefineConstants", .. properties]);
            Assert.True(code == 0, error + output);
            var evaluated = System.Text.Json.Nodes.JsonNode.Parse(output)!;
            var items = evaluated["Items"]!.AsObject().SelectMany(kind => kind.Value!.AsArray())
                .Count(i => i!["Identity"]!.GetValue<string>().Replace('\\', '/').StartsWith("KeelPortal/Sandbox/", StringComparison.Ordinal));
            return (evaluated["Properties"]!["DefineConstants"]!.GetValue<string>(), items);
        }
        var image = await EvaluateAsync("-p:Sandbox=false");
        var source = await EvaluateAsync();

        Assert.Equal(0, image.SandboxItems);
        Assert.DoesNotContain("SANDBOX", image.Constants, StringComparison.Ordinal);
        Assert.True(source.SandboxItems > 5, $"{source.SandboxItems} sandbox files in a source build");
        Assert.Contains("SANDBOX", source.Constants, StringComparison.Ordinal);
    }

    [Fact]
    public void With_the_images_environment_every_data_path_resolves_under_the_data_volume()
    {
        var configuration = new ConfigurationBuilder()
            .AddJsonFile(Path.Combine(RepoPaths.Root, "appsettings.json"))
            .AddInMemoryCollection(ImageEnvironment())
            .Build();
        var data = configuration.GetSection(DataOptions.Section).Get<DataOptions>() ?? new DataOptions();
        var jobs = configuration.GetSection(JobsOptions.Section).Get<JobsOptions>() ?? new JobsOptions();
        const string contentRoot = "/app";

        var paths = new Dictionary<string, string?>
        {
            ["database"] = DataSetup.DatabasePath(data.ConnectionString, contentRoot),
            ["jobs"] = DataSetup.ResolvePath(jobs.StoragePath, contentRoot),
            ["key ring"] = DataSetup.ResolvePath(data.KeysPath, contentRoot),
        };

        Assert.All(paths, p => Assert.True(p.Value?.StartsWith("/data/", StringComparison.Ordinal), $"{p.Key} resolves to {p.Value}"));
    }

    [Fact]
    public void The_image_ships_the_helm_the_tests_use_where_Helm_BinaryPath_points()
    {
        var dockerfile = File.ReadAllText(Path.Combine(RepoPaths.Root, "Dockerfile"));
        var testScript = File.ReadAllText(Path.Combine(RepoPaths.Root, "test.sh"));
        var pinned = HelmVersion().Match(dockerfile).Groups[1].Value;
        var sha = HelmSha().Match(dockerfile).Groups[1].Value;
        var finalStage = dockerfile[dockerfile.LastIndexOf("\nFROM ", StringComparison.Ordinal)..];

        Assert.Equal("/usr/local/bin/helm", ImageEnvironment()["Helm:BinaryPath"]);
        Assert.Contains("COPY --from=helm /usr/local/bin/helm /usr/local/bin/helm", finalStage, StringComparison.Ordinal);
        Assert.Contains($"HELM_VERSION={pinned}", testScript, StringComparison.Ordinal);
        // The checksum pinned in the image is the one of the helm binary the tests run.
        using var binary = File.OpenRead(HelmTool.Path);
        Assert.Equal(sha, Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(binary)));
    }

    [Fact]
    public void The_image_is_published_ready_to_run_for_the_runtime_it_was_restored_for()
    {
        var dockerfile = File.ReadAllText(Path.Combine(RepoPaths.Root, "Dockerfile")).Replace("\\\n", " ", StringComparison.Ordinal);
        var restore = Regex.Match(dockerfile, @"^RUN dotnet restore KeelPortal\.csproj (.*)$", RegexOptions.Multiline).Groups[1].Value;
        var publish = Regex.Match(dockerfile, @"^RUN dotnet publish KeelPortal\.csproj (.*)$", RegexOptions.Multiline).Groups[1].Value;

        // Compiled ahead of time (start-up does not wait for the JIT), which needs a runtime; --no-restore needs the same one restored.
        Assert.Contains("--runtime linux-x64", restore, StringComparison.Ordinal);
        Assert.Contains("--runtime linux-x64", publish, StringComparison.Ordinal);
        Assert.Contains("-p:PublishReadyToRun=true", publish, StringComparison.Ordinal);
        Assert.Contains("--self-contained false", publish, StringComparison.Ordinal);
        Assert.StartsWith("FROM mcr.microsoft.com/dotnet/aspnet:10.0", dockerfile[(dockerfile.LastIndexOf("\nFROM ", StringComparison.Ordinal) + 1)..], StringComparison.Ordinal);
    }

    [GeneratedRegex(@"ARG HELM_VERSION=(v[0-9.]+)")]
    private static partial Regex HelmVersion();

    [GeneratedRegex(@"ARG HELM_BINARY_SHA256=([0-9a-f]{64})")]
    private static partial Regex HelmSha();

    [GeneratedRegex(@"^ENV\s+(.+)$", RegexOptions.Multiline)]
    private static partial Regex EnvInstruction();

    [GeneratedRegex("""([A-Za-z_][A-Za-z0-9_]*)=("[^"]*"|\S+)""")]
    private static partial Regex EnvPair();
}
