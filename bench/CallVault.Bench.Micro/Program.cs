using BenchmarkDotNet.Running;

// Runs every benchmark in this assembly (or those chosen with BenchmarkDotNet's --filter); bench/run.sh passes
// --job short in its quick mode. Reports go to BenchmarkDotNet.Artifacts/results/.
BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args);
