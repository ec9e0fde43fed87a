"""regiment's benchmarks: ``python -m benchmarks`` (one table, every contender) and the
per-concern ``bench_*.py`` scripts (see ``benchmarks/README.md``)."""
