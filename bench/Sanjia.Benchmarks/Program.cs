using BenchmarkDotNet.Running;

// dotnet run -c Release --project bench/Sanjia.Benchmarks -- --filter '*'
// (any BenchmarkDotNet switch works: --job short, --inProcess, --filter '*Request*', --list flat)
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
