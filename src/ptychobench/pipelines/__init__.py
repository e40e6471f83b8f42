"""The two front ends end to end: :mod:`.legacy` (dose recipe) and :mod:`.modern`
(sim-lines), with their profiles, shared run machinery and provenance."""
