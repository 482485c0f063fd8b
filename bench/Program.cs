using BenchmarkDotNet.Running;
using KeelPortal.Bench;

if (args is ["registry-poll", ..])
{
    return await RegistryPollBenchmark.RunAsync(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 200);
}
BenchmarkSwitcher.FromAssembly(typeof(TagChoiceBenchmarks).Assembly).Run(args);
return 0;
