"""Benchmarks: runnable scripts that print tables and ratios (``make bench`` lists them)."""
