"""Benchmarks: each measures flambeau and PyTorch side by side, one after the other, on the same data."""
