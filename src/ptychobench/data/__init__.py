"""Package data: the original PtychoPINN implementation's cross-check arrays.

``original/`` holds arrays produced by the public PtychoPINN TensorFlow code (its README
gives the provenance: repository, commit, library versions and what each file is). The
library's parity checks and the tests read this one copy.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

FIXTURES_ENV = "PTYCHOBENCH_FIXTURES"


def original_fixtures() -> Path:
    """Folder of the original's arrays: ``$PTYCHOBENCH_FIXTURES`` or the packaged copy."""
    override = os.environ.get(FIXTURES_ENV)
    return Path(override) if override else Path(str(resources.files(__package__) / "original"))
