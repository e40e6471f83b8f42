"""Simulation, grouping and normalisation for both front ends: the legacy grid simulator
(:mod:`.legacy_grid`), the modern non-grid simulator (:mod:`.nongrid`), K-nearest-neighbour
grouping (:mod:`.grouping`) and ``normalize_data`` (:mod:`.normalization`)."""
