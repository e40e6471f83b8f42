"""Evaluation: stitching (:mod:`.stitching`) and amplitude/quality metrics with the gauge
(:mod:`.metrics`)."""
