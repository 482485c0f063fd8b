using BenchmarkDotNet.Running;
using KeelPortal.Bench;

BenchmarkSwitcher.FromAssembly(typeof(TagChoiceBenchmarks).Assembly).Run(args);
