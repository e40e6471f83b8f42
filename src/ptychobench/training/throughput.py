"""Training and inference throughput of the speed model, against peaks measured in the same process.

The speed model is the investigation's training configuration: N=64, gridsize 2 (4 patterns
per group), batch 16, random diffraction data and positions (facts §11). A rate means
something only beside what this machine can do *now*, so every :func:`measure` also times
the float32 peaks of a square matmul and of the model's largest convolution, before and
after the runs, in the same process; a fraction of a peak is never set against a figure
from another machine. ``scripts/speed.py train`` prints a :class:`SpeedReport`;
``benchmarks/bench_speed.py`` (``Throughput``) tracks it in asv.

FLOPs are the model's convolutions only (:mod:`ptychobench.model.flops`): forward
``F`` GFLOP per group, training ``3 F`` (forward, input and filter gradients).

:func:`split_step_time` fits training rates measured under different oneDNN instruction-set
caps (``scripts/speed.py isa``): the part of a step that follows the convolution rate, and
the part that does not (docs/training-profile.md, "What an AVX-512 machine changes").
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

import numpy as np

#: the speed model's shapes
N, CHANNELS, BATCH = 64, 4, 16

#: the two training steps, by their ``TrainSettings.jit_compile``
STEP_NAMES = {True: "xla", False: "tf_kernels"}


@dataclass(frozen=True)
class Peaks:
    """float32 rates of this process (GFLOP/s): the higher of a measurement before and after."""

    conv: float
    matmul: float
    before: tuple[float, float]  # (conv, matmul)
    after: tuple[float, float]

    @classmethod
    def from_pairs(cls, before: tuple[float, float], after: tuple[float, float]) -> "Peaks":
        conv, matmul = (max(pair) for pair in zip(before, after))
        return cls(conv, matmul, before, after)

    @property
    def steady(self) -> bool:
        """False when a peak moved by more than 20% during the runs (the machine's load changed)."""
        return all(min(pair) >= 0.8 * max(pair) for pair in zip(self.before, self.after))


@dataclass(frozen=True)
class StepRates:
    """One training setting's rates, in groups (of 4 patterns) per second."""

    jit_compile: bool
    train: float  # steady: epochs 2.. (the first traces, and compiles with XLA)
    inference: float  # ``loop.predict``, batch 16, its step traced beforehand
    inference_end_to_end: float  # ``loop.predict`` over all groups, tracing included
    epoch_seconds: tuple[float, ...]


@dataclass(frozen=True)
class SpeedReport:
    """What :func:`measure` found: the model, the peaks, the rates per XLA setting."""

    n_filters_scale: int
    groups: int
    epochs: int
    trainable_params: int
    forward_gflop: float  # per group, the model's convolutions
    n_convs: int
    largest_conv: object  # model.flops.ConvCount, the shape of the conv peak
    peaks: Peaks
    rates: dict  # {jit_compile: StepRates}
    threads: str = ""  # TensorFlow's intra-op and inter-op pools, as :func:`thread_pools` says

    def gflops(self, groups_per_s: float, training: bool) -> float:
        """The convolution FLOP rate of ``groups_per_s`` (training counts 3× the forward)."""
        return (3 if training else 1) * self.forward_gflop * groups_per_s

    def fraction(self, groups_per_s: float, training: bool, peak: str) -> float:
        """``groups_per_s`` as a fraction of the ``peak`` ("conv" or "matmul") of this process."""
        return self.gflops(groups_per_s, training) / getattr(self.peaks, peak)

    @property
    def xla_ratio(self) -> float:
        """XLA-compiled / TensorFlow-kernel training groups/s (NaN unless both were measured)."""
        if set(self.rates) != {True, False}:
            return float("nan")
        return self.rates[True].train / self.rates[False].train

    def to_json(self) -> dict:
        """The peaks and, per training step (``"xla"``, ``"tf_kernels"``), the rates: what
        ``speed.py train --json`` writes and ``speed.py isa`` reads back."""
        c = self.largest_conv
        return {
            "n_filters_scale": self.n_filters_scale, "groups": self.groups, "epochs": self.epochs,
            "forward_gflop_per_group": self.forward_gflop, "threads": self.threads,
            "peaks_gflop_per_s": {"conv": self.peaks.conv, "matmul": self.peaks.matmul, "steady": self.peaks.steady},
            "largest_conv": None if c is None else {"output_hw": list(c.output_hw), "kernel": list(c.kernel)},
            "groups_per_s": {STEP_NAMES[jit]: {"train": r.train, "inference": r.inference,
                                               "inference_end_to_end": r.inference_end_to_end}
                             for jit, r in self.rates.items()},
            "xla_ratio": None if math.isnan(self.xla_ratio) else self.xla_ratio,
        }


def _best_rate(f, gflop: float, rounds: int, repeats: int) -> float:
    """The best of ``rounds`` timings of ``repeats`` calls of ``f`` (``gflop`` each), GFLOP/s.

    A peak is what the machine can do, so the fastest round counts: the others lost time to
    something else (a clock change, another process), not to the kernel.
    """
    f().numpy()  # trace and warm up
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        for _ in range(repeats):
            f().numpy()
        best = min(best, time.perf_counter() - start)
    return gflop * repeats / best


def thread_pools() -> str:
    """TensorFlow's pool sizes in this process and where they come from (tf.config, the
    ``TF_NUM_*_THREADS`` variables, else TensorFlow's default: one thread per core)."""
    import os

    import tensorflow as tf

    parts = []
    for kind, configured in (("intra", tf.config.threading.get_intra_op_parallelism_threads()),
                             ("inter", tf.config.threading.get_inter_op_parallelism_threads())):
        variable = f"TF_NUM_{kind.upper()}OP_THREADS"
        if configured:
            parts.append(f"{kind}-op {configured} (tf.config)")
        elif os.environ.get(variable):
            parts.append(f"{kind}-op {os.environ[variable]} ({variable})")
        else:
            parts.append(f"{kind}-op {os.cpu_count()} (default)")
    return ", ".join(parts)


def matmul_peak_gflops(n: int = 2048, rounds: int = 5, repeats: int = 4) -> float:
    """float32 ``n × n`` matmul rate of this process, GFLOP/s (2n³ FLOPs each)."""
    import tensorflow as tf

    a = tf.random.normal((n, n), seed=1)
    b = tf.random.normal((n, n), seed=2)
    return _best_rate(tf.function(lambda: tf.matmul(a, b)), 2 * n**3 / 1e9, rounds, repeats)


def conv_peak_gflops(conv, batch: int = BATCH, rounds: int = 5, repeats: int = 4) -> float:
    """Forward rate of one 'same' Conv2D of the model's shape (a ``ConvCount``), GFLOP/s."""
    import tensorflow as tf

    kh, kw, c_in, c_out = conv.kernel
    h, w = conv.output_hw
    x = tf.random.normal((batch, h, w, c_in), seed=3)
    k = tf.random.normal((kh, kw, c_in, c_out), seed=4)
    return _best_rate(tf.function(lambda: tf.nn.conv2d(x, k, 1, "SAME")), conv.flops * batch / 1e9, rounds, repeats)


def speed_model(groups: int, nfs: int, seed: int = 0):
    """The speed model and random data: ``(model, X, coords)``.

    X: (groups, 64, 64, 4) float32 diffraction amplitudes in [0, 40); coords: (groups, 1, 2, 4)
    float32 offsets in pixels, uniform in [-2, 2). Weights from ``keras.utils.set_random_seed(seed)``.
    """
    import keras

    from ptychobench.model.network import PtychoPINN
    from ptychobench.model.spec import ModelSpec
    from ptychobench.physics.probe import default_probe, normalize_probe

    keras.utils.set_random_seed(seed)
    probe = normalize_probe(default_probe(N), 10.0)
    rng = np.random.default_rng(seed)
    X = (rng.random((groups, N, N, CHANNELS), dtype=np.float32) * 40).astype(np.float32)
    coords = rng.uniform(-2, 2, (groups, 1, 2, CHANNELS)).astype(np.float32)
    model = PtychoPINN(ModelSpec(n_filters_scale=nfs, intensity_scale_trainable=True), probe, 988.2).build_for()
    return model, X, coords


def inference_groups_per_s(model, X, coords) -> tuple[float, float]:
    """(steady, end-to-end) groups/s of ``loop.predict`` (batch 16, as the pipelines evaluate).

    End to end: one ``predict`` call over all groups, tracing its step included. Steady: all
    groups again through a step traced and run once beforehand.
    """
    from ptychobench.training.loop import predict, predict_step

    start = time.perf_counter()
    predict(model, X, coords)
    end_to_end = len(X) / (time.perf_counter() - start)
    step = predict_step(model)
    predict(model, X[:BATCH], coords[:BATCH], step=step)  # trace
    start = time.perf_counter()
    predict(model, X, coords, step=step)
    return len(X) / (time.perf_counter() - start), end_to_end


def check_sizes(groups: int, epochs: int) -> None:
    """``ValueError`` naming the field unless a steady rate can be measured at these sizes."""
    if epochs < 2:
        raise ValueError(f"epochs must be >= 2 (the first is excluded from the steady rate), got {epochs}")
    if groups < BATCH:
        raise ValueError(f"groups must fill one batch ({BATCH}), got {groups}")


def measure(groups: int = 512, epochs: int = 3, nfs: int = 2, jit_modes: tuple[bool, ...] = (True,),
            progress=None) -> SpeedReport:
    """Train a fresh speed model once per XLA setting in ``jit_modes`` and time its inference.

    ``epochs`` >= 2 (the steady rate excludes the first); ``groups`` >= 16. ``progress``:
    ``None`` or a callable taking one line of text, called as each part starts.
    """
    from ptychobench.model.flops import model_forward_conv_flops
    from ptychobench.model.network import count_params
    from ptychobench.training.loop import TrainSettings, train

    check_sizes(groups, epochs)
    say = progress or (lambda line: None)
    model, _, _ = speed_model(BATCH, nfs)
    convs = model_forward_conv_flops(model)
    largest = max(convs, key=lambda c: c.flops)
    say("peaks (before)")
    before = conv_peak_gflops(largest), matmul_peak_gflops()
    rates = {}
    for jit in jit_modes:
        say(f"training, {'XLA-compiled' if jit else 'TensorFlow kernels'}, {epochs} epochs of {groups} groups")
        model, X, coords = speed_model(groups, nfs)
        result = train(model, X, coords, TrainSettings(epochs=epochs, validation_split=0.0, progress=False,
                                                       jit_compile=jit))
        say("inference")
        rates[jit] = StepRates(jit, result.samples_per_second, *inference_groups_per_s(model, X, coords),
                               tuple(result.epoch_seconds))
    say("peaks (after)")
    after = conv_peak_gflops(largest), matmul_peak_gflops()
    return SpeedReport(nfs, groups, epochs, count_params(model), sum(c.flops for c in convs) / 1e9, len(convs),
                       largest, Peaks.from_pairs(before, after), rates, thread_pools())


# --- How the step's time splits with the GEMM rate (issue 14: the AVX-512 question) -------------
#
# Both training steps run their convolutions through oneDNN's sgemm (Eigen's spatial
# convolution with TensorFlow's oneDNN contraction kernel; ``ONEDNN_VERBOSE=1`` lists only
# ``gemm_api`` calls for both, summing to the convolutions' FLOPs), and oneDNN picks its instruction set when the process
# starts, capped by ``ONEDNN_MAX_CPU_ISA``. Rerunning the same measurement under each cap
# changes the convolution rate and nothing else, which splits a step's time into a part that
# follows the convolution rate and a part that does not.

#: oneDNN's instruction-set caps (``ONEDNN_MAX_CPU_ISA``), slowest first, with the
#: ``/proc/cpuinfo`` flag a CPU needs for each
ISA_LADDER = (("SSE41", "sse4_1"), ("AVX", "avx"), ("AVX2", "avx2"), ("AVX512_CORE", "avx512f"))


def cpu_flags(cpuinfo: str | None = None) -> set[str]:
    """The instruction-set flags of the first CPU in ``cpuinfo`` (default: ``/proc/cpuinfo``)."""
    if cpuinfo is None:
        with open("/proc/cpuinfo") as f:
            cpuinfo = f.read()
    for line in cpuinfo.splitlines():
        key, _, value = line.partition(":")
        if key.strip() == "flags":
            return set(value.split())
    raise ValueError("cpuinfo has no 'flags' line")


def isa_caps(flags: set[str]) -> list[str]:
    """The caps of :data:`ISA_LADDER` this CPU can run, slowest first; the last is its own best."""
    return [cap for cap, flag in ISA_LADDER if flag in flags]


@dataclass(frozen=True)
class TimeSplit:
    """Training time per group as ``t = slope · G / P + fixed`` over a sweep of conv peaks ``P``.

    ``G`` is the training GFLOP per group (3× the forward convolutions), so ``G / P`` is the
    time the convolutions would take at the peak; ``slope`` near 1 means they run at it.
    ``fixed`` (seconds per group) does not follow the convolution rate: the glue between the
    convolutions, executor overhead, the optimizer.
    """

    slope: float
    fixed: float
    train_gflop: float
    residual: float  # root mean square of the fit's residuals, seconds per group

    def groups_per_s(self, conv_peak: float) -> float:
        """The fitted training rate at a conv peak of ``conv_peak`` GFLOP/s."""
        return 1.0 / (self.slope * self.train_gflop / conv_peak + self.fixed)


def split_step_time(conv_peaks, groups_per_s, train_gflop: float) -> TimeSplit:
    """Least-squares :class:`TimeSplit` of training rates measured at different conv peaks.

    conv_peaks, groups_per_s : sequences of equal length (GFLOP/s, groups/s), one entry per
    run; at least two distinct peaks. ``ValueError`` naming the field otherwise.
    """
    peaks = np.asarray(conv_peaks, dtype=float)
    rates = np.asarray(groups_per_s, dtype=float)
    if peaks.shape != rates.shape or peaks.ndim != 1:
        raise ValueError(f"conv_peaks and groups_per_s must be equal-length sequences, got {peaks.shape} "
                         f"and {rates.shape}")
    if len(np.unique(peaks)) < 2:
        raise ValueError(f"conv_peaks must hold at least two distinct values, got {peaks.tolist()}")
    if not (np.all(peaks > 0) and np.all(rates > 0)):
        raise ValueError("conv_peaks and groups_per_s must be positive")
    design = np.stack([train_gflop / peaks, np.ones_like(peaks)], axis=1)
    (slope, fixed), *_ = np.linalg.lstsq(design, 1.0 / rates, rcond=None)
    residual = float(np.sqrt(np.mean((design @ [slope, fixed] - 1.0 / rates) ** 2)))
    return TimeSplit(float(slope), float(fixed), train_gflop, residual)
