"""Exception types of ptychobench.

Every failure a user can cause (a bad configuration value, a malformed data file, a
training run that diverges) is reported through one of these types, with the field or
file it concerns named in the message, never as a traceback from deep inside TensorFlow.
"""

from __future__ import annotations


class PtychoBenchError(Exception):
    """Base class of every error ptychobench raises on purpose."""


class ConfigError(PtychoBenchError, ValueError):
    """An invalid configuration value.

    Attributes
    ----------
    field : str
        The configuration key or dataclass field that is wrong.
    message : str
        What it must be, with the value that was given.
    """

    def __init__(self, field: str, message: str):
        self.field = field
        if len(message) > 300:  # e.g. a 400-digit integer quoted back
            message = message[:200] + " ... " + message[-40:]
        self.message = message
        super().__init__(f"{field}: {message}")


class DataError(PtychoBenchError, ValueError):
    """Malformed input data: a missing key, a wrong dtype or shape, NaN/Inf values."""

    def __init__(self, source: str, message: str):
        self.source, self.message = source, message
        super().__init__(f"{source}: {message}")


class TrainingDivergedError(PtychoBenchError, FloatingPointError):
    """The training loss became NaN or Inf."""

    def __init__(self, epoch: int, batch: int, loss: float):
        self.epoch, self.batch, self.loss = epoch, batch, loss
        super().__init__(
            f"training loss became {loss} at epoch {epoch}, batch {batch}; run stopped"
        )


class UpstreamError(PtychoBenchError):
    """A problem with the original's code as a run of the suite: a path that is not a PtychoPINN
    checkout, a commit that does not exist or lies outside every era, an environment that cannot be
    built, a worker that crashed, was killed or lacks a stage. The message names which."""
