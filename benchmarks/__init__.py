"""vlab's benchmark harness: run it from the repository root as ``python -m benchmarks.run``
(or ``python -m benchmarks``); see benchmarks/README.md."""
