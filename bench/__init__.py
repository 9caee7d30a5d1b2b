"""lain's benchmarks, run with ``make bench`` (``python -m bench``)."""
