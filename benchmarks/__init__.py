"""Benchmarks: each module exposes run(quick: bool) -> str (a Markdown section)."""
