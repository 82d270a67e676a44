
BenchmarkDotNet.Running.BenchmarkSwitcher.FromAssembly(typeof(OlmoeSharp.Benchmarks.MatVecBenchmarks).Assembly).Run(args);
