"""The original PtychoPINN as a run of the suite (``ptychobench upstream``).

* :mod:`.envs` — one hash-locked environment per era, built once and cached;
* :mod:`.checkout` — a work tree, or a commit of a repository or bundle exported into the cache;
  which flows and which era it has;
* :mod:`.worker` — runs under the original's interpreter (numpy only), captures the stages;
* :mod:`.score` — the captured draw measured by our stage table and metrics, as a ``RunResult``;
* :mod:`.runner` — one draw: environment, worker process, limits, clear errors;
* :mod:`.compare` — our run against the original's, stage by stage.

ptychobench never imports ``ptycho``: the original runs in its own process.
"""
