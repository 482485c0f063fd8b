using BenchmarkDotNet.Running;
using KeelPortal.Bench;

if (args is ["registry-poll", ..])
{
    return await RegistryPollBenchmark.RunAsync(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 200);
}
if (args is ["workload-snapshot", ..])
{
    return await WorkloadSnapshotBenchmark.RunAsync(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 5000, args is [_, _, "full"]);
}
if (args is ["pipeline-latency", ..])
{
    return await PipelineLatencyBenchmark.RunAsync(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 200);
}
if (args is ["workloads-page", ..])
{
    return await WorkloadsPageBenchmark.RunAsync(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 5000);
}
if (args is ["notification-latency", ..])
{
    return await NotificationLatencyBenchmark.RunAsync(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 200);
}
if (args is ["helm-releases", ..])
{
    return await HelmReleasesBenchmark.RunAsync(
        args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 500,
        args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 2);
}
if (args is ["poll-schedule", ..])
{
    return await PollScheduleBenchmark.RunAsync(
        args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 20,
        args.Length > 2 ? double.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 5,
        ecr: args.Contains("ecr"));
}
if (args is ["leader-failover", ..])
{
    return await LeaderFailoverBenchmark.RunAsync(
        args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 5,
        TimeSpan.FromSeconds(args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 15));
}
if (args is ["scale-out", ..])
{
    return await ScaleOutBenchmark.RunAsync(
        args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 1000,
        args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 100,
        args.Length > 3 ? args[3] : "both",
        args.Length > 4 ? int.Parse(args[4], System.Globalization.CultureInfo.InvariantCulture) : 0);
}
if (args is ["chaos", ..])
{
    return await ChaosBenchmark.RunAsync(
        args.Length > 1 ? double.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 30,
        args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 1,
        args.Length > 3 ? args[3] : "both");
}
BenchmarkSwitcher.FromAssembly(typeof(TagChoiceBenchmarks).Assembly).Run(args);
return 0;
