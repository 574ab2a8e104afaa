"""benchmarks - the real-world corpus and the figures measured on it (run as `python -m benchmarks.X`)."""
