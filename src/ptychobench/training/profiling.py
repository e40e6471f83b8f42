"""Where a training step's time goes: read a TensorFlow profiler trace and group op time.

``tf.profiler.experimental`` writes ``<logdir>/plugins/profile/<run>/<host>.xplane.pb``
(an ``XSpace`` protobuf, the file TensorBoard's profile plugin and trace viewer read).
On CPU its ``/host:CPU`` plane holds one line per thread; every TensorFlow op the
executor runs is an event named ``"<op name>:<op type>"``, e.g.
``"gradient_tape/ptycho_pinn_1/encoder_0_1/conv2d_1_2/convolution/Conv2DBackpropFilter:Conv2DBackpropFilter"``.
Our own markers (``tf.profiler.experimental.Trace``) sit on the Python thread.

Wall time is split among categories by a sweep over all op events: in every interval
where k ops run at once (on different threads), each gets 1/k of it; on one thread a
nested event's time is taken from its parent's. So the categories plus the time in which no
op runs add up to the profiled wall time exactly.

Category of an op (:func:`categorize`), first rule that matches:

==============================  =============================================================
category                        rule
==============================  =============================================================
conv forward                    type contains ``Conv2D``/``Conv2d`` (``Conv2D``,
                                ``_FusedConv2D``, ``DepthwiseConv2dNative``) or is ``BiasAdd``
conv backward                   the same with ``Backprop`` in the type, or ``BiasAddGrad``
translations                    op name inside a ``translation`` scope (the bilinear matrices
                                and products of ``model.physics_layers``: reassembly and
                                extraction, forward and gradients), or a type starting with
                                ``ImageProjectiveTransform`` (the op the original used)
FFT                             ``FFT*``/``IFFT*``/``RFFT*``/``IRFFT*``, and ``Roll`` (fftshift)
complex arithmetic              ``Complex``, ``Real``, ``Imag``, ``ComplexAbs``, ``Conj``,
                                ``Angle`` (a product of two complex tensors is a ``Mul``
                                like any other: op type names carry no dtype, so it counts
                                under "other ops")
pool/upsample/activation        ``MaxPool*``, ``Relu*``, ``Sigmoid*``, ``Tanh*``, and any op
                                inside an ``up_sampling2d`` or ``max_pool_grad`` scope
                                (Tile/Transpose/Concat; reshapes, argmax, one-hot)
optimizer                       op name (less a leading ``gradient_tape/``) under the
                                optimizer's scope (``adam/``), or a ``ResourceApply*`` type
loss                            any other op outside the model's and the optimizer's scope
                                (the loss functions and their gradients), except ``AddN``
other ops                       everything else (slicing, padding, transposes, elementwise
                                ops of the physics, gradient sums ``AddN``)
==============================  =============================================================
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

CONV_FORWARD = "conv forward"
CONV_BACKWARD = "conv backward"
TRANSLATIONS = "translations"
FFT = "FFT"
COMPLEX = "complex arithmetic"
CNN_OTHER = "pool/upsample/activation"
LOSS = "loss"
OPTIMIZER = "optimizer"
OTHER = "other ops"
OP_CATEGORIES = (CONV_FORWARD, CONV_BACKWARD, CNN_OTHER, TRANSLATIONS, FFT, COMPLEX, LOSS, OPTIMIZER, OTHER)

#: time inside the traced step call in which no op runs (executor scheduling, launch)
IDLE_IN_STEP = "no op running, inside the step call"
INPUT = "input handling (batch gather)"
BETWEEN = "Python between steps"
ALL_CATEGORIES = OP_CATEGORIES + (IDLE_IN_STEP, INPUT, BETWEEN)

_FFT_TYPES = {"FFT", "IFFT", "FFT2D", "IFFT2D", "FFT3D", "IFFT3D", "RFFT", "IRFFT", "RFFT2D", "IRFFT2D",
              "RFFT3D", "IRFFT3D", "Roll"}
_COMPLEX_TYPES = {"Complex", "Real", "Imag", "ComplexAbs", "Conj", "Angle"}
_CNN_PREFIXES = ("MaxPool", "Relu", "Sigmoid", "Tanh")
#: name scopes (TensorFlow appends ``_<n>`` to a reused one; a custom gradient's ops sit at the top level)
_TRANSLATION_SCOPE = re.compile(r"translation(_\d+)?")
_CNN_SCOPE = re.compile(r"(up_sampling2d|max_pool_grad)(_\d+)*")
_OP_EVENT = re.compile(r"^([^\s:]+):([A-Za-z_][A-Za-z0-9_]*)$")

#: names of the markers the profiled loop puts on the Python thread
STEP_MARKER, INPUT_MARKER, CALL_MARKER = "ptychobench_step", "ptychobench_input", "ptychobench_call"


def categorize(name: str, op_type: str, model_scope: str = "ptycho_pinn", optimizer_scope: str = "adam") -> str:
    """The category of one op, from its type and (for loss/optimizer) its name scope."""
    if "Conv2D" in op_type or "Conv2d" in op_type or op_type in ("BiasAdd", "BiasAddGrad"):
        return CONV_BACKWARD if ("Backprop" in op_type or op_type == "BiasAddGrad") else CONV_FORWARD
    scopes = name.split("/")[:-1]
    if op_type.startswith("ImageProjectiveTransform") or any(_TRANSLATION_SCOPE.fullmatch(s) for s in scopes):
        return TRANSLATIONS
    if op_type in _FFT_TYPES:
        return FFT
    if op_type in _COMPLEX_TYPES:
        return COMPLEX
    if op_type.startswith(_CNN_PREFIXES) or any(_CNN_SCOPE.fullmatch(s) for s in scopes):
        return CNN_OTHER
    scope = name.removeprefix("gradient_tape/").split("/")[0]
    if scope.startswith(optimizer_scope) or op_type.startswith("ResourceApply"):
        return OPTIMIZER
    if not scope.startswith(model_scope) and op_type != "AddN":
        return LOSS
    return OTHER


@dataclass(frozen=True)
class Event:
    """One trace event; times in picoseconds since the epoch."""

    line: int
    start: int
    end: int
    name: str
    op_type: str | None  # None for non-op events (markers, executor internals)


def find_xplane(logdir: str | Path) -> Path:
    """The newest ``*.xplane.pb`` under ``logdir/plugins/profile``."""
    found = sorted(Path(logdir).glob("plugins/profile/*/*.xplane.pb"), key=lambda p: p.stat().st_mtime)
    if not found:
        raise FileNotFoundError(f"no plugins/profile/*/*.xplane.pb under {logdir}")
    return found[-1]


def read_host_events(xplane: str | Path) -> list[Event]:
    """All events of the ``/host:CPU`` plane of an XSpace file."""
    from tensorflow.tsl.profiler.protobuf import xplane_pb2

    space = xplane_pb2.XSpace()
    space.ParseFromString(Path(xplane).read_bytes())
    planes = [p for p in space.planes if p.name == "/host:CPU"]
    if not planes:
        raise ValueError(f"{xplane}: no /host:CPU plane")
    plane = planes[0]
    events = []
    for line in plane.lines:
        base = line.timestamp_ns * 1000
        for e in line.events:
            label = plane.event_metadata[e.metadata_id].name
            m = _OP_EVENT.match(label)
            name, op_type = (m.group(1), m.group(2)) if m else (label, None)
            start = base + e.offset_ps
            events.append(Event(line.id, start, start + e.duration_ps, name, op_type))
    return events


def attribute_wall_time(ops: list[Event], window: tuple[int, int], key) -> dict:
    """Split the wall time of ``window`` among ``key(op)`` values (sweep described above).

    Returns ``{key: picoseconds}`` over the busy intervals; the window's time with no op
    running is ``window length − sum(values)``.
    """
    lo, hi = window
    boundaries = []
    for i, op in enumerate(ops):
        s, e = max(op.start, lo), min(op.end, hi)
        if s < e:
            boundaries.append((s, 1, i))
            boundaries.append((e, 0, i))
    boundaries.sort()
    active: dict[int, list[int]] = {}  # line → started ops, innermost last
    totals: dict = {}
    previous = None
    for t, is_start, i in boundaries:
        if previous is not None and t > previous and active:
            share = (t - previous) / len(active)
            for stack in active.values():
                k = key(ops[stack[-1]])
                totals[k] = totals.get(k, 0.0) + share
        line = ops[i].line
        if is_start:
            active.setdefault(line, []).append(i)
        else:
            active[line].remove(i)
            if not active[line]:
                del active[line]
        previous = t
    return totals


def _intervals(events: list[Event], name: str) -> list[tuple[int, int]]:
    return sorted((e.start, e.end) for e in events if e.op_type is None and e.name == name)


def summarize(events: list[Event], model_scope: str = "ptycho_pinn", optimizer_scope: str = "adam",
              top: int = 12) -> dict:
    """Per-category wall time of the marked steps (see the module docstring).

    The profiled span runs from the first step marker's start to the last one's end;
    "Python between steps" is that span less the step calls and the input handling.
    Returns a JSON-ready dict: ``steps``, ``wall_ms``, ``step_ms`` (mean),
    ``categories`` [{category, ms_per_step, share}], ``top_ops`` by type and
    ``top_named_ops`` by op name (the single ops, e.g. one layer's filter gradient).
    """
    steps = _intervals(events, STEP_MARKER)
    if not steps:
        raise ValueError(f"no '{STEP_MARKER}' markers in the trace")
    span = (steps[0][0], steps[-1][1])
    ops = [e for e in events if e.op_type is not None]

    def category(op):
        return categorize(op.name, op.op_type, model_scope, optimizer_scope)

    by_category = attribute_wall_time(ops, span, category)
    calls = _intervals(events, CALL_MARKER)
    busy_in_calls = sum(sum(attribute_wall_time(ops, c, category).values()) for c in calls)
    by_category[IDLE_IN_STEP] = sum(e - s for s, e in calls) - busy_in_calls
    by_category[INPUT] = sum(e - s for s, e in _intervals(events, INPUT_MARKER))
    wall = span[1] - span[0]
    by_category[BETWEEN] = wall - sum(by_category.values())
    n = len(steps)
    rows = [
        {"category": c, "ms_per_step": by_category.get(c, 0.0) / n / 1e9, "share": by_category.get(c, 0.0) / wall}
        for c in ALL_CATEGORIES
    ]

    def ranked(keys: tuple[str, ...], key) -> list[dict]:
        times = attribute_wall_time(ops, span, key)
        return [
            dict(zip(keys, k)) | {"ms_per_step": ps / n / 1e9, "share": ps / wall}
            for k, ps in sorted(times.items(), key=lambda kv: -kv[1])[:top]
        ]

    return {
        "steps": n, "wall_ms": wall / 1e9, "step_ms": wall / n / 1e9, "categories": rows,
        "top_ops": ranked(("op_type", "category"), lambda op: (op.op_type, category(op))),
        "top_named_ops": ranked(("op_name", "op_type"), lambda op: (op.name, op.op_type)),
    }


def format_table(summary: dict) -> str:
    """The summary as plain-text tables: categories, top op types, top single ops."""
    lines = [f"{summary['steps']} steps, {summary['step_ms']:.1f} ms per step (wall)", "",
             f"{'category':<40} {'ms/step':>9} {'share':>7}"]
    for r in summary["categories"]:
        lines.append(f"{r['category']:<40} {r['ms_per_step']:>9.1f} {r['share']:>7.1%}")
    lines += ["", f"{'top op types':<40} {'ms/step':>9} {'share':>7}  category"]
    for r in summary["top_ops"]:
        lines.append(f"{r['op_type']:<40} {r['ms_per_step']:>9.1f} {r['share']:>7.1%}  {r['category']}")
    lines += ["", f"{'top single ops (type, layer)':<60} {'ms/step':>9} {'share':>7}"]
    for r in summary["top_named_ops"]:
        parts = r["op_name"].removeprefix("gradient_tape/").split("/")
        layer = "/".join(parts[1:3]) if len(parts) > 2 else r["op_name"]  # drop the model scope
        lines.append(f"{r['op_type'] + ' ' + layer:<60} {r['ms_per_step']:>9.1f} {r['share']:>7.1%}")
    return "\n".join(lines)
