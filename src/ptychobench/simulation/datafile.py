"""Raw-data NPZ files (the original ``RawData`` layout), read and written safely.

Keys: ``xcoords``, ``ycoords`` (P,) scan positions in object pixels; ``diff3d``
(P, N, N) diffraction amplitude (real, ≥ 0); ``probeGuess`` (N, N) complex probe;
``objectGuess`` (H, W) object (complex or real). Every problem with a file ends in one
:class:`~ptychobench.errors.DataError` naming the file and the key; files are written
through :func:`ptychobench.atomic.atomic_path`, so a reader never sees half a file.
"""

from __future__ import annotations

import zipfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..atomic import atomic_path
from ..errors import DataError

REQUIRED_KEYS = ("xcoords", "ycoords", "diff3d", "probeGuess", "objectGuess")
ALLOWED_N = (64, 128, 256)


@dataclass
class RawDataFile:
    """The validated contents of one raw-data NPZ file."""

    xcoords: np.ndarray  # float32 (P,)
    ycoords: np.ndarray  # float32 (P,)
    diff3d: np.ndarray  # float32 (P, N, N)
    probe: np.ndarray  # complex64 (N, N)
    obj: np.ndarray  # complex64 (H, W)

    @property
    def coords(self) -> np.ndarray:
        """Positions ``[x, y]`` (P, 2), float32."""
        return np.stack([self.xcoords, self.ycoords], axis=1)


def _real(name: str, source: str, a: np.ndarray) -> np.ndarray:
    if np.iscomplexobj(a):
        raise DataError(source, f"{name} is complex ({a.dtype}) where real values are expected")
    if not (np.issubdtype(a.dtype, np.floating) or np.issubdtype(a.dtype, np.integer)):
        raise DataError(source, f"{name} has dtype {a.dtype}; a real number type is expected")
    return a


def _finite(name: str, source: str, a: np.ndarray) -> None:
    if not np.all(np.isfinite(a)):
        bad = int(np.size(a) - np.count_nonzero(np.isfinite(a)))
        raise DataError(source, f"{name} contains {bad} NaN or Inf value(s)")


def _read_npz(path: str | Path, keys) -> dict:
    """The arrays ``keys`` of an NPZ archive; one :class:`DataError` naming the file otherwise."""
    source = str(path)
    if not Path(path).is_file():
        raise DataError(source, "no such file")
    with open(path, "rb") as fh:
        magic = fh.read(6)
    if magic.startswith(b"\x93NUMPY"):
        raise DataError(source, "is a single .npy array, not an NPZ archive")
    if not magic.startswith(b"PK"):
        raise DataError(source, "is not an NPZ file (no zip header)")
    try:
        with np.load(path, allow_pickle=False) as npz:  # a zip header: always an NpzFile
            missing = [k for k in keys if k not in npz.files]
            if missing:
                raise DataError(source, f"missing key(s) {', '.join(missing)} (has: {', '.join(npz.files) or 'none'})")
            return {k: npz[k] for k in keys}
    except DataError:
        raise
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, KeyError) as err:
        raise DataError(source, f"not a readable NPZ file ({type(err).__name__}: {err})") from None


def load_probe_npz(path: str | Path, N: int) -> np.ndarray:
    """The measured probe ``probeGuess`` (N, N) of an NPZ file (the custom scenarios), complex64.

    Raises
    ------
    DataError
        Missing file or key, not an NPZ, non-numeric, wrong shape, NaN/Inf, all zero.
    """
    source = str(path)
    probe = _read_npz(path, ("probeGuess",))["probeGuess"]
    if not np.issubdtype(probe.dtype, np.number):
        raise DataError(source, f"probeGuess has dtype {probe.dtype}; a numeric array is expected")
    if probe.shape != (N, N):
        raise DataError(source, f"probeGuess must have shape ({N}, {N}), got {probe.shape}")
    _finite("probeGuess", source, probe)
    if not np.any(np.abs(probe) > 0):
        raise DataError(source, "probeGuess is zero everywhere")
    return probe.astype(np.complex64)


def load_raw_npz(path: str | Path) -> RawDataFile:
    """Read and validate a raw-data NPZ file.

    Raises
    ------
    DataError
        Missing file, not an NPZ/zip or truncated, missing key, wrong dtype (complex where
        real is expected, object arrays), mismatched shapes, empty arrays, NaN/Inf,
        negative diffraction amplitudes, N not in {64, 128, 256}.
    """
    source = str(path)
    arrays = _read_npz(path, REQUIRED_KEYS)
    diff = _real("diff3d", source, arrays["diff3d"])
    x = _real("xcoords", source, arrays["xcoords"])
    y = _real("ycoords", source, arrays["ycoords"])
    probe, obj = arrays["probeGuess"], arrays["objectGuess"]
    for name, a in (("probeGuess", probe), ("objectGuess", obj)):
        if not (np.issubdtype(a.dtype, np.number)):
            raise DataError(source, f"{name} has dtype {a.dtype}; a numeric array is expected")
    if diff.ndim != 3 or diff.shape[1] != diff.shape[2]:
        raise DataError(source, f"diff3d must have shape (P, N, N), got {diff.shape}")
    P, N = diff.shape[0], diff.shape[1]
    if P == 0:
        raise DataError(source, "diff3d is empty (0 patterns)")
    if N not in ALLOWED_N:
        raise DataError(source, f"diff3d patterns are {N}x{N}; N must be one of {ALLOWED_N}")
    if x.shape != (P,) or y.shape != (P,):
        raise DataError(source, f"xcoords/ycoords must have shape ({P},), got {x.shape} and {y.shape}")
    if probe.shape != (N, N):
        raise DataError(source, f"probeGuess must have shape ({N}, {N}), got {probe.shape}")
    if obj.ndim != 2 or min(obj.shape) == 0:
        raise DataError(source, f"objectGuess must be a non-empty 2-D array, got shape {obj.shape}")
    for name, a in (("diff3d", diff), ("xcoords", x), ("ycoords", y), ("probeGuess", probe), ("objectGuess", obj)):
        _finite(name, source, a)
    if np.any(diff < 0):
        raise DataError(source, f"diff3d has {int(np.count_nonzero(diff < 0))} negative value(s); amplitudes are >= 0")
    if not np.any(np.abs(probe) > 0):
        raise DataError(source, "probeGuess is zero everywhere")
    return RawDataFile(
        xcoords=x.astype(np.float32),
        ycoords=y.astype(np.float32),
        diff3d=diff.astype(np.float32),
        probe=probe.astype(np.complex64),
        obj=obj.astype(np.complex64),
    )


def save_raw_npz(path: str | Path, coords: np.ndarray, diff3d: np.ndarray, probe: np.ndarray, obj: np.ndarray) -> None:
    """Write a raw-data NPZ atomically (temporary file in the same folder, then rename)."""
    path = Path(path)
    try:
        with atomic_path(path) as tmp, open(tmp, "wb") as fh:
            np.savez(
                fh,
                xcoords=np.asarray(coords[:, 0], np.float32),
                ycoords=np.asarray(coords[:, 1], np.float32),
                diff3d=np.asarray(diff3d, np.float32),
                probeGuess=np.asarray(probe, np.complex64),
                objectGuess=np.asarray(obj, np.complex64),
            )
    except OSError as err:
        raise DataError(str(path), f"cannot write: {err.strerror}") from None
