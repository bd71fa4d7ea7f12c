"""The benchmark suite behind `scripts/bench` (run as `python -m benchmark` with scripts/ on the path)."""
