"""ptychobench: a reproducible benchmark and legacy/modern parity suite for the sim-lines
PtychoPINN workflow.

The package reads as the pipeline reads: ``config`` -> ``physics`` -> ``simulation`` ->
``model`` -> ``training`` -> ``evaluation`` (stitching, metrics) -> ``pipelines`` ->
``parity`` (checks, reports, explain) -> ``cli``.
"""

__version__ = "0.1.0"
