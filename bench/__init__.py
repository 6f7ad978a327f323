"""Performance benchmarks of carbonhub (``python -m bench.posting``, ``python -m bench.region_report``)."""
