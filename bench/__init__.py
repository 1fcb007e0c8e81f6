"""Benchmarks at city scale (docs/benchmarks.md): ``make bench`` / ``python -m bench``.

The runner (``bench.runner``) builds or reuses the data set, then starts one worker
process per measured thing (``python -m bench.worker ...``) so that every figure
comes from a fresh process: the plain Flask-AppBuilder baseline never shares
mappers or session listeners with the product, and peak memory is per task.
"""
