// plexbutler-micro: Google Benchmark main with the run-time registered benchmarks added.

#include "micro.hpp"

#include <benchmark/benchmark.h>

int main(int argc, char** argv)
{
    plexbutler::bench::register_fixture_benchmarks();
    benchmark::Initialize(&argc, argv);
    if (benchmark::ReportUnrecognizedArguments(argc, argv))
        return 2;
    benchmark::RunSpecifiedBenchmarks();
    benchmark::Shutdown();
    return 0;
}
