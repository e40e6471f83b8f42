"""Live progress of the long steps: stage lines, bars and check verdicts, on stderr.

One :class:`Progress` is made where a command starts (the CLI, the parity fixture) and is
handed down; each pipeline run gets a labelled child, so every line says who is working::

    [legacy] simulate
    [legacy] simulate: done in 2.1 s (total 0:00:03)
    [legacy] epochs: 50%|#####     | 8/16 [00:41<00:41, ..., loss=..., lr=0.001]
    [PASS] amplitude: ratio legacy/modern: 1.02 (limit 1.5)

On a terminal the bars are tqdm's. Anywhere else (CI logs, pipes) a bar is a plain line at
most every ``interval`` seconds plus its final state, and per-batch bars are left out, so a
log holds no carriage-return frames. ``Progress.off()`` (or ``progress=False``) is silent.
"""

from __future__ import annotations

import os
import sys
import time
from contextlib import contextmanager, nullcontext

from tqdm.auto import tqdm

#: Seconds between two lines of one bar when the stream is not a terminal.
PLAIN_INTERVAL = 30.0


class Progress:
    """Where progress goes, and whose it is.

    Parameters
    ----------
    stream : text stream, optional
        Default ``sys.stderr`` (read when the object is made).
    enabled : bool
        ``False``: every method is silent and every bar a no-op.
    interactive : bool, optional
        tqdm bars or plain lines; default: tqdm on a terminal that has columns.
    interval : float
        Seconds between two plain lines of one bar.
    label : str
        Printed as ``[label]`` before every stage and bar.
    """

    def __init__(self, stream=None, *, enabled: bool = True, interactive: bool | None = None,
                 interval: float = PLAIN_INTERVAL, label: str = "", _start: float | None = None):
        self.stream = sys.stderr if stream is None else stream
        self.enabled = enabled
        self.interactive = _is_terminal(self.stream) if interactive is None else interactive
        self.interval = interval
        self.label = label
        self._start = time.monotonic() if _start is None else _start

    @classmethod
    def off(cls) -> "Progress":
        return cls(enabled=False, interactive=False)

    def child(self, label: str) -> "Progress":
        """The same output under another label."""
        return Progress(self.stream, enabled=self.enabled, interactive=self.interactive,
                        interval=self.interval, label=label, _start=self._start)

    @property
    def prefix(self) -> str:
        return f"[{self.label}] " if self.label else ""

    def line(self, text: str) -> None:
        """One line (above any open tqdm bar)."""
        if not self.enabled:
            return
        if self.interactive:
            tqdm.write(text, file=self.stream)
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    @contextmanager
    def stage(self, name: str):
        """``[label] name`` when it starts; how long it took when it ends (or fails)."""
        self.line(f"{self.prefix}{name}")
        start = time.monotonic()
        try:
            yield self
        except BaseException as err:
            self.line(f"{self.prefix}{name}: stopped after {_seconds(time.monotonic() - start)} "
                      f"({type(err).__name__})")
            raise
        self.line(f"{self.prefix}{name}: done in {_seconds(time.monotonic() - start)} "
                  f"(total {_clock(time.monotonic() - self._start)})")

    def bar(self, total: int, desc: str, unit: str = "it", *, leave: bool = True, plain: bool = True):
        """A bar with ``update(n)``, ``set_postfix(**values)`` and ``close()``.

        ``leave``: a terminal keeps the finished bar; ``plain``: shown at all off a terminal
        (per-batch bars are not).
        """
        desc = f"{self.prefix}{desc}"
        if not self.enabled or not (self.interactive or plain):
            return _NoBar()
        if self.interactive:
            return tqdm(total=total, desc=desc, unit=unit, leave=leave, file=self.stream, dynamic_ncols=True)
        return _LineBar(self.line, total, desc, unit, self.interval)

    def counter(self, desc: str, unit: str = "it"):
        """A ``(done, total)`` callback for a simulation's batch hook, drawing a bar."""
        return _Counter(self, desc, unit)

    def check(self, result, note: str = "") -> None:
        """A parity check's verdict and the number that decided it."""
        line = result.summary() + (f" ({note})" if note else "")
        if result.passed and result.decided_by:
            line += f": {result.decided_by}"
        self.line(line)


def as_progress(progress) -> Progress:
    """A :class:`Progress` from ``True`` (stderr), ``False``/``None`` (silent) or itself."""
    if isinstance(progress, Progress):
        return progress
    return Progress() if progress else Progress.off()


@contextmanager
def terminal_progress(config):
    """Progress that reaches the terminal from inside a pytest fixture.

    Pytest captures stdout and stderr while a fixture runs; this suspends the capture
    (``capturemanager.global_and_fixture_disabled``) for the ``with`` block and writes to
    the real stderr. ``PTYCHOBENCH_PROGRESS=0`` makes it silent.
    """
    capture = config.pluginmanager.getplugin("capturemanager")
    with capture.global_and_fixture_disabled() if capture else nullcontext():
        live = Progress(enabled=os.environ.get("PTYCHOBENCH_PROGRESS", "1") != "0")
        live.line("")  # pytest's line with the test file's name is still open
        yield live


class _NoBar:
    def update(self, n: int = 1) -> None:
        pass

    def set_postfix(self, **values) -> None:
        pass

    def close(self) -> None:
        pass

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()


class _LineBar(_NoBar):
    """tqdm's text as a plain line, at most every ``interval`` seconds and once at the end."""

    def __init__(self, write, total: int, desc: str, unit: str, interval: float):
        self.write, self.total, self.desc, self.unit, self.interval = write, total, desc, unit, interval
        self.n, self.postfix, self.shown = 0, "", None
        self.start = self.last = time.monotonic()

    def update(self, n: int = 1) -> None:
        self.n += n
        if time.monotonic() - self.last >= self.interval:
            self._emit()

    def set_postfix(self, **values) -> None:
        self.postfix = ", ".join(f"{k}={v}" for k, v in values.items())

    def close(self) -> None:
        if self.shown != (self.n, self.postfix):  # the final state, once
            self._emit()

    def _emit(self) -> None:
        self.last, self.shown = time.monotonic(), (self.n, self.postfix)
        self.write(tqdm.format_meter(self.n, self.total, self.last - self.start, prefix=self.desc,
                                     unit=self.unit, postfix=self.postfix or None, ascii=True))


class _Counter:
    """``callback(done, total)``: opens the bar on the first call (``done = 0``), closes it at ``total``."""

    def __init__(self, progress: Progress, desc: str, unit: str):
        self.progress, self.desc, self.unit, self.bar, self.done = progress, desc, unit, None, 0

    def __call__(self, done: int, total: int) -> None:
        if self.bar is None:
            self.bar = self.progress.bar(total, self.desc, self.unit, leave=False)
        self.bar.update(done - self.done)
        self.done = done
        if done >= total:
            self.bar.close()


def _is_terminal(stream) -> bool:
    """A terminal with a width (a pseudo-terminal of 0 columns would show tqdm nothing)."""
    try:
        return stream.isatty() and os.get_terminal_size(stream.fileno()).columns > 0
    except (AttributeError, OSError, ValueError):
        return False


def _seconds(t: float) -> str:
    return f"{t:.1f} s" if t < 60 else _clock(t)


def _clock(t: float) -> str:
    t = int(t)
    return f"{t // 3600}:{t // 60 % 60:02d}:{t % 60:02d}"
