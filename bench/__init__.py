"""Engine benchmarks: pytest-benchmark cases (`test_bench_engine.py`) and a latency and
memory script (`python -m bench.latency`). Shared set-up lives in `bench.support`."""
