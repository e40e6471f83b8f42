"""Files written so that a reader sees the old file or the whole new one, never half of one.

The files ptychobench writes (report files, data files, the site's assets, the mutation
summaries) go through :func:`atomic_path`: the content goes to a temporary file in the same folder,
is flushed to disk (``fsync``), and is renamed onto the target, which is atomic on POSIX
file systems; the folder is then synced so the rename itself survives a power cut.
(The asv benchmark cache keeps its own write: asv imports the benchmark suite for commits
older than this module.)
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _fsync_dir(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # not every platform or file system opens folders
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


@contextlib.contextmanager
def atomic_path(path: str | Path) -> Iterator[Path]:
    """A temporary path next to ``path`` to write to; renamed onto ``path`` on success.

    On an exception (or a kill) the target is untouched and the temporary file is removed
    (a kill can leave a hidden ``.<name>.*.tmp`` file, never a half-written target).
    The new file gets the permissions ``open()`` would give it (0666 less the umask), not
    ``mkstemp``'s owner-only 0600, so a published report is readable by a web server.
    Raises ``OSError`` when the folder cannot be written.
    """
    path = Path(path)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(name)
    try:
        yield tmp
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_dir(path.parent)


def atomic_write_bytes(path: str | Path, data: bytes) -> None:
    """Write ``data`` to ``path`` atomically (see :func:`atomic_path`)."""
    with atomic_path(path) as tmp:
        tmp.write_bytes(data)


def atomic_write_text(path: str | Path, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically (see :func:`atomic_path`)."""
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_save_figure(fig, path: str | Path, dpi: int) -> None:
    """Write a Matplotlib figure as PNG atomically, then close it."""
    import matplotlib.pyplot as plt

    with atomic_path(path) as tmp:
        fig.savefig(tmp, format="png", dpi=dpi)
    plt.close(fig)
