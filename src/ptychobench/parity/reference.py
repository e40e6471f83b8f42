"""The independent side of the parity checks.

Nothing here imports the code under test. It holds two kinds of reference:

* **literal tables transcribed from the original code**, each with its file and line in the
  public PtychoPINN repository (``DE`` = branch ``dose_experiments`` 2b1f432, ``M`` = ``main``
  712c23f). A refactor that moves one of our values moves nothing here;
* **formulas written out again**, in plain NumPy loops, from the original's definitions
  (``ptychopinn-tf-facts.md``): the object normalisation ``norm_Y_I``, the dataset intensity
  scale, the diffraction gain ``g``, ``reassemble_position`` and grid tiling, the Poisson
  NLL forms, Keras' plateau and early-stopping rules and the real-space loss terms. They are slow and small on
  purpose: each check feeds them a handful of groups.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage

# --- literal tables --------------------------------------------------------------------------

#: Legacy framework defaults, DE ``ptycho/params.py:8-23``.
ORIGINAL_DEFAULT_CFG = {
    "N": 64, "offset": 4, "gridsize": 2,
    "outer_offset_train": None, "outer_offset_test": None, "batch_size": 16,
    "nepochs": 60, "n_filters_scale": 2, "output_prefix": "outputs",
    "big_gridsize": 10, "max_position_jitter": 10, "sim_jitter_scale": 0.0,
    "default_probe_scale": 0.7, "mae_weight": 0.0, "nll_weight": 1.0, "tv_weight": 0.0,
    "realspace_mae_weight": 0.0, "realspace_weight": 0.0, "nphotons": 1e9,
    "nimgs_train": 9, "nimgs_test": 3,
    "data_source": "lines", "probe.trainable": False,
    "intensity_scale.trainable": False, "positions.provided": False,
    "object.big": True, "probe.big": False, "probe_scale": 10.0, "set_phi": False,
    "probe.mask": True, "pad_object": True, "model_type": "pinn", "label": "", "size": 392,
    "amp_activation": "sigmoid", "h5_path": "wts.h5", "npseed": 42,
    "debug": True, "gaussian_smoothing_sigma": 0.0,
}

#: ``ModelConfig`` defaults of the TF CNN path, M ``ptycho/config/config.py:94-120``.
ORIGINAL_MODEL_CONFIG = {
    "N": 64, "gridsize": 1, "n_filters_scale": 2, "model_type": "pinn", "amp_activation": "sigmoid",
    "object_big": True, "probe_big": True, "probe_mask": False, "pad_object": True,
    "probe_scale": 4.0, "gaussian_smoothing_sigma": 0.0,
}

#: ``TrainingConfig`` defaults, M ``ptycho/config/config.py:123-148`` (TF fields only;
#: ``n_groups`` None resolves to 512 in ``__post_init__``).
ORIGINAL_TRAINING_CONFIG = {
    "train_data_file": None, "test_data_file": None, "batch_size": 16, "nepochs": 50,
    "mae_weight": 0.0, "nll_weight": 1.0, "realspace_mae_weight": 0.0, "realspace_weight": 0.0,
    "nphotons": 1e9, "n_groups": 512, "n_images": None, "n_subsample": None, "subsample_seed": None,
    "neighbor_count": 4, "enable_oversampling": False, "neighbor_pool_size": None,
    "positions_provided": True, "probe_trainable": False, "intensity_scale_trainable": True,
    "output_dir": "training_outputs", "sequential_sampling": False, "backend": "tensorflow",
    "torch_loss_mode": "poisson",
}

#: ``update_legacy_dict`` renames, M ``ptycho/config/config.py:570-579``.
ORIGINAL_KEY_MAPPINGS = {
    "object_big": "object.big", "probe_big": "probe.big", "probe_mask": "probe.mask",
    "probe_trainable": "probe.trainable", "intensity_scale_trainable": "intensity_scale.trainable",
    "positions_provided": "positions.provided", "output_dir": "output_prefix",
    "train_data_file": "train_data_file_path", "test_data_file": "test_data_file_path",
}

#: What the dose recipe writes, DE ``notebooks/dose.py:3-33`` (``init``) and ``:47-78``
#: (``execute``, which resets the jitter to 10).
ORIGINAL_DOSE_RECIPE = {
    "positions.provided": False, "data_source": "lines", "set_phi": False, "nepochs": 60,
    "offset": 4, "max_position_jitter": 10, "output_prefix": "lines2", "gridsize": 2,
    "n_filters_scale": 2, "object.big": True, "intensity_scale.trainable": True,
    "probe.trainable": False, "outer_offset_train": 8, "outer_offset_test": 20,
    "nimgs_train": 2, "nimgs_test": 2,
}

#: The training settings both code bases pass to ``fit``: DE ``ptycho/model.py:413`` (Adam
#: 1e-3, Keras' epsilon 1e-7, beta 0.9/0.999), ``:444-446`` (callbacks; Keras' default
#: ``min_delta`` 1e-4 for ReduceLROnPlateau, 0 for EarlyStopping), ``:454-460``
#: (``shuffle=True``, ``batch_size`` 16, ``validation_split=0.05``); the same in
#: M ``ptycho/model.py:592,653-681``.
ORIGINAL_TRAINING = {
    "optimizer": "Adam", "learning_rate": 1e-3, "epsilon": 1e-7, "beta_1": 0.9, "beta_2": 0.999,
    "plateau_monitor": "val_loss", "plateau_factor": 0.5, "plateau_patience": 2,
    "plateau_min_lr": 1e-4, "plateau_min_delta": 1e-4,
    "early_stop_monitor": "loss", "early_stop_patience": 3,
    "validation_split": 0.05, "batch_size": 16,
}

#: The intensity scale of the faithful runs: DE ``ptycho/model.py:122-126,146-153,349,383``
#: evaluate ``exp(log_scale)`` while the graph is built, so it enters as a constant.
ORIGINAL_SCALE_TRAINS = False

#: The amplitude head: sigmoid (DE ``ptycho/params.py:20``); DE has one channel
#: (``ptycho/model.py:338-347``), M has C (``ptycho/model.py:451-473``).
ORIGINAL_AMP_ACTIVATION_CEILING = 1.0

#: NLL forms: DE ``ptycho/model.py:387-397`` (TFP Poisson log-pmf, summed per sample);
#: M ``ptycho/model.py:485-498`` (``log_poisson_loss``, mean).
ORIGINAL_NLL_FORM = {"legacy": "full_sum", "modern": "mean"}

#: ``reassemble_position(M=20)`` of the sim-lines inference (facts §5.1 stage 8).
ORIGINAL_REASSEMBLE_M = 20
#: The denominator guard of ``reassemble_position``, M ``ptycho/tf_helper.py:1361``.
ORIGINAL_REASSEMBLE_EPS = 1e-9
#: The overlap normaliser of ``object.big`` reassembly, M ``ptycho/tf_helper.py:1092-1131``.
ORIGINAL_OVERLAP_EPS = 0.001
#: K of the K-NN grouping, M ``ptycho/config/config.py:139``; the seed itself is dropped
#: from its neighbours (M ``ptycho/raw_data.py:372-607``).
ORIGINAL_NEIGHBOR_COUNT = 4


#: The groups the original holds out of ``n`` training groups: ``sklearn.utils.shuffle(arange(n),
#: random_state=0)`` (DE ``ptycho/data_preprocessing.py:60-68,126``), then Keras keeps the first
#: ``int(n · (1 − 0.05))`` for training. Recorded by running scikit-learn 1.5.2 (NumPy 2.4.6),
#: not our code: SHA-256 (first 16 hex digits) of the sorted held-out indices as int64
#: (:func:`split_digest`), for the group counts of every profile. Command:
#: ``python -c "import hashlib, numpy as np; from sklearn.utils import shuffle; n = 576;
#: v = np.sort(shuffle(np.arange(n), random_state=0)[int(n * (1.0 - 0.05)):]).astype(np.int64);
#: print(hashlib.sha256(v.tobytes()).hexdigest()[:16])"``.
ORIGINAL_VALIDATION_SPLIT = {
    64: "3ff830edd32fcfe0",  # 4 held out
    576: "173de6bac37ea420",  # 29 held out
    1000: "de8cb6c1377fc05e",  # 50 held out
    1600: "ba5ec437c6719692",  # 80 held out
    1764: "a6aefb6789480b10",  # 89 held out
    2000: "dfbc6cc12e115213",  # 100 held out
    6724: "d70431e06bfaf800",  # 337 held out
    13448: "87ee930cc26b22ef",  # 673 held out
}




def keras_tail_split(n: int, fraction: float = 0.05) -> np.ndarray:
    """The groups Keras holds out of a container nobody shuffled (the modern path: loader,
    components and ``train_pinn`` never shuffle before ``fit``): the tail from
    ``split_at = int(floor(n · (1 − fraction)))`` on (tf_keras ``engine/data_adapter.py:1803``,
    keras ``trainers/data_adapters/array_slicing.py:497-517``)."""
    return np.arange(int(math.floor(n * (1.0 - fraction))), n, dtype=np.int64)


def validation_split_digest(pipeline: str, n: int, modern_validation: str = "tail") -> str:
    """Digest of the groups the original holds out of ``n``: legacy always the sklearn
    shuffle's (:data:`ORIGINAL_VALIDATION_SPLIT`); modern the container's tail
    (:func:`keras_tail_split`), or the shuffled split under the named ``shuffled`` variant."""
    if pipeline == "legacy" or modern_validation == "shuffled":
        return ORIGINAL_VALIDATION_SPLIT.get(n, f"no recorded split for n={n}")
    return split_digest(keras_tail_split(n))


#: The closed-form scale the investigation recorded at 1e9 photons and N = 64 (facts §3, §11).
RECORDED_S_C = 988.21

#: The network's filter lists at N = 64, before ``n_filters_scale``: encoder DE ``ptycho/model.py:183``
#: / M ``ptycho/model.py:317``; each decoder DE ``:201,280,303`` / M ``:335,415``. Every convolution
#: is 3×3 'same' with a bias; an encoder block is conv, conv, 2×2 max pooling (DE ``:166-170``),
#: a decoder block conv, conv, 2× upsampling (DE ``:172-177``).
ORIGINAL_FILTERS_N64 = {"encoder": (32, 64, 128), "decoder": (64, 32)}
#: The last decoder stage (DE ``ptycho/model.py:239-268``, M ``:373-402``): its head convolution
#: reads all but the last ``c_outer = 4`` channels; the probe.big branch reads those 4 through a
#: decoder block of ``n_filters_scale · 2048 // N`` filters (DE ``:237``), a convolution and swish.
ORIGINAL_HEAD_C_OUTER = 4
ORIGINAL_BIG_BRANCH_FILTERS = 2048  # divided by N, times n_filters_scale
#: Trainable parameters of the original's built models (``model.autoencoder``, N = 64,
#: object.big, pad_object), counted from ``trainable_weights`` by building DE 2b1f432 and
#: M 712c23f under tensorflow-cpu 2.15.1 (audit of 2026-12-04; M gridsize 1, s = 1, probe.big
#: by hand). Key: (code base, gridsize, n_filters_scale, probe.big). The scale is not among
#: them: DE bakes exp(log_scale) in as a constant, M adds 1 only when it trains.
ORIGINAL_TRAINABLE_PARAMS = {
    ("DE", 2, 1, False): 565_425, ("DE", 2, 2, False): 2_255_377,
    ("DE", 2, 1, True): 587_734, ("DE", 2, 2, True): 2_336_854,
    ("M", 2, 1, False): 566_184, ("M", 2, 2, False): 2_257_000,
    ("M", 2, 1, True): 589_360, ("M", 2, 2, True): 2_340_208,
    ("M", 1, 1, False): 563_802, ("M", 1, 2, False): 2_252_026,
    ("M", 1, 1, True): 585_244, ("M", 1, 2, True): 2_331_772,
    ("DE", 1, 1, False): 563_802, ("DE", 1, 2, False): 2_252_026,
}
#: Amplitude head channels: DE always 1 (``ptycho/model.py:340-341``, broadcast against the C
#: phase channels); M ``gridsize²`` with object.big (``:458``); phase ``gridsize²`` in both (DE ``:272``).
ORIGINAL_AMP_HEAD_CHANNELS = {"DE": lambda C: 1, "M": lambda C: C}


# --- formulas ---------------------------------------------------------------------------------


def center_mask(N: int) -> np.ndarray:
    """The original's centre mask: ones on rows and columns N/4 … 3N/4 − 1, zeros around
    (``CenterMaskLayer``: N/2 × N/2 ones zero-padded by N/4, M ``ptycho/tf_helper.py:1058-1084``,
    DE ``ptycho/tf_helper.py:449-463``). float32 (N, N)."""
    mask = np.zeros((N, N), np.float32)
    for i in range(N // 4, 3 * N // 4):
        for j in range(N // 4, 3 * N // 4):
            mask[i, j] = 1.0
    return mask


def original_blocks(N: int, C: int, n_filters_scale: int, code_base: str, probe_big: bool) -> dict:
    """``{block: (output shape, parameters)}`` of the original's network at N = 64, block by block
    in the order it runs (encoder blocks, each decoder's blocks, the two heads), from the
    literal filter lists above: a 3×3 convolution from ``a`` to ``b`` channels has ``9ab + b``
    parameters. Raises ``KeyError`` for an N the lists do not cover."""
    if N != 64:
        raise KeyError(f"no literal filter list of the original for N={N}")
    s = n_filters_scale

    def conv(a, b):
        return 9 * a * b + b

    out, cin, size = {}, C, N
    for i, f in enumerate(ORIGINAL_FILTERS_N64["encoder"]):
        size //= 2
        out[f"encoder_{i}"] = ([size, size, f * s], conv(cin, f * s) + conv(f * s, f * s))
        cin = f * s
    heads = {"amp": ORIGINAL_AMP_HEAD_CHANNELS[code_base](C), "phase": C}
    for part, k in heads.items():
        c, hw = cin, size
        for i, f in enumerate(ORIGINAL_FILTERS_N64["decoder"]):
            hw *= 2
            out[f"{part}_decoder_{i}"] = ([hw, hw, f * s], conv(c, f * s) + conv(f * s, f * s))
            c = f * s
        params = conv(c - ORIGINAL_HEAD_C_OUTER, k)
        if probe_big:
            big = s * ORIGINAL_BIG_BRANCH_FILTERS // N
            params += conv(ORIGINAL_HEAD_C_OUTER, big) + conv(big, big) + conv(big, k)
        out[f"{part}_head"] = ([N, N, k], params)
    return out



def split_digest(indices) -> str:
    """SHA-256 (first 16 hex digits) of the sorted indices as int64: how
    :data:`ORIGINAL_VALIDATION_SPLIT` records a held-out set."""
    import hashlib

    return hashlib.sha256(np.sort(np.asarray(indices, np.int64)).tobytes()).hexdigest()[:16]



def closed_form_scale(nphotons: float, N: int) -> float:
    """``sqrt(nphotons) / (N/2)``, M ``ptycho/train_pinn.py:165-180``."""
    return math.sqrt(nphotons) / (N / 2)


def norm_Y_I(images: np.ndarray, N: int, gridsize: int, offset: int, stride: int) -> float:
    """Mean over grid groups of the largest amplitude in the group's C patches.

    ``images`` (n, size, size); groups start every ``stride`` px, patches at ``offset`` steps
    (M ``ptycho/tf_helper.py:1399-1429``). A plain loop over groups.
    """
    size = images.shape[1]
    big = N + (gridsize - 1) * offset
    maxima = []
    for img in images:
        for r in range(0, size - big + 1, stride):
            for c in range(0, size - big + 1, stride):
                m = max(float(img[r + i * offset : r + i * offset + N, c + j * offset : c + j * offset + N].max())
                        for i in range(gridsize) for j in range(gridsize))
                maxima.append(m)
    return float(np.mean(maxima))


def dataset_scale(patches: np.ndarray, probe: np.ndarray, nphotons: float) -> float:
    """``s = sqrt(nphotons / mean_b Σ_xy (|O_b|·|P|)²)`` over object patches (an iterable of
    (N, N) arrays), M ``ptycho/diffsim.py:65-77``."""
    energy = [float(np.sum((np.abs(p).astype(np.float64) * np.abs(probe)) ** 2)) for p in patches]
    return math.sqrt(nphotons / np.mean(energy))


def normalize_gain(diffraction: np.ndarray, N: int) -> float:
    """``g = sqrt((N/2)² / mean over patterns of Σ_xy X²)`` for (P, N, N) patterns."""
    energy = [float(np.sum(np.asarray(p, np.float64) ** 2)) for p in diffraction]
    return math.sqrt((N / 2) ** 2 / np.mean(energy))


def reassemble_position(patches: np.ndarray, centres: np.ndarray, shape: tuple, M: int = ORIGINAL_REASSEMBLE_M):
    """The original's ``reassemble_position``, sampled instead of splatted.

    Every patch's central M×M crop is zero-padded onto the canvas with its centre pixel
    ``(M//2, M//2)`` on the canvas origin, translated by the patch's ``[x, y]`` centre with
    bilinear sampling (``scipy.ndimage.shift``, order 1, ``grid-constant``: zeros outside, interpolated across the edge), and summed; the
    sum is divided by the same shift-and-sum of ones plus 1e-9. Real (B, N, N) patches.

    Returns ``(image, weight)`` on ``shape``.
    """
    N = patches.shape[1]
    lo = N // 2 - M // 2
    H, W = shape
    acc = np.zeros((H, W))
    wsum = np.zeros((H, W))
    for patch, (x, y) in zip(patches, centres):
        crop = np.zeros((H, W))
        ones = np.zeros((H, W))
        crop[:M, :M] = patch[lo : lo + M, lo : lo + M]
        ones[:M, :M] = 1.0
        shift = (float(y) - M // 2, float(x) - M // 2)
        acc += ndimage.shift(crop, shift, order=1, mode="grid-constant", cval=0.0)
        wsum += ndimage.shift(ones, shift, order=1, mode="grid-constant", cval=0.0)
    return acc / (wsum + ORIGINAL_REASSEMBLE_EPS), wsum


def original_shift_and_sum(patches: np.ndarray, centres: np.ndarray, M: int = ORIGINAL_REASSEMBLE_M):
    """The original's ``reassemble_position`` on its own canvas (M ``ptycho/tf_helper.py:1190-1277``),
    written out: offsets relative to their float32 mean; ``pad = ceil(max |adjusted|)``, plus
    one if odd; each central M×M crop zero-padded by ``pad`` on every side and shifted by its
    adjusted ``[x, y]`` (``scipy.ndimage.shift``, order 1, zeros outside); the sum divided by
    the same sum of ones + 1e-9, nothing zeroed.

    Returns ``(image, weight, origin)``: ``origin`` (``[x, y]``) is the object coordinate of
    canvas pixel (0, 0), ``mean − pad − M//2``.
    """
    offsets = centres.astype(np.float32)
    mean = offsets.mean(axis=0, dtype=np.float32)
    adjusted = (offsets - mean).astype(np.float64)
    pad = int(math.ceil(float(np.abs(adjusted).max())))
    if pad % 2:
        pad += 1
    size = M + 2 * pad
    N = patches.shape[1]
    lo = N // 2 - M // 2
    acc, wsum = np.zeros((size, size)), np.zeros((size, size))
    for patch, (dx, dy) in zip(patches, adjusted):
        crop, ones = np.zeros((size, size)), np.zeros((size, size))
        crop[pad : pad + M, pad : pad + M] = patch[lo : lo + M, lo : lo + M]
        ones[pad : pad + M, pad : pad + M] = 1.0
        acc += ndimage.shift(crop, (dy, dx), order=1, mode="grid-constant", cval=0.0)
        wsum += ndimage.shift(ones, (dy, dx), order=1, mode="grid-constant", cval=0.0)
    return acc / (wsum + ORIGINAL_REASSEMBLE_EPS), wsum, mean.astype(np.float64) - pad - M // 2


def scan_window_registered(image: np.ndarray, origin, centres: np.ndarray, shape: tuple, M: int):
    """The original's comparison window, written out with loops: the object's rows
    ``int(min y) − M//2 … int(max y) + M//2`` (and columns likewise) clipped to ``shape``
    (M ``ptycho/image/cropping.py:111-176``), each object pixel ``(r, c)`` taking the canvas
    pixel ``(r − round(origin y), c − round(origin x))``, 0 outside the canvas.

    Returns ``(window, rows, cols)``.
    """
    r0 = max(0, int(centres[:, 1].min()) - M // 2)
    r1 = min(shape[0], int(centres[:, 1].max()) + M // 2)
    c0 = max(0, int(centres[:, 0].min()) - M // 2)
    c1 = min(shape[1], int(centres[:, 0].max()) + M // 2)
    dy, dx = int(round(float(origin[1]))), int(round(float(origin[0])))
    out = np.zeros((r1 - r0, c1 - c0), image.dtype)
    for r in range(r0, r1):
        for c in range(c0, c1):
            i, j = r - dy, c - dx
            if 0 <= i < image.shape[0] and 0 <= j < image.shape[1]:
                out[r - r0, c - c0] = image[i, j]
    return out, slice(r0, r1), slice(c0, c1)


def coverage_box(weight: np.ndarray, floor: float = 1e-6) -> tuple[slice, slice]:
    """Rows and columns from the first to the last with a summed weight above ``floor``
    (written out with loops; the weights of a bilinear shift-and-sum are either 0 or > 1e-4)."""
    rows = [i for i in range(weight.shape[0]) if weight[i].max() > floor]
    cols = [j for j in range(weight.shape[1]) if weight[:, j].max() > floor]
    return slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1)


def grid_truth(image: np.ndarray, N: int, gridsize: int, offset: int, outer_offset: int) -> np.ndarray:
    """The part of ``image`` the legacy grid mosaic covers: group ``(i, j)`` starts at
    ``(i, j)·outer/2``, its centre N×N patch ``(gridsize − 1)·offset/2`` further in, and the
    mosaic keeps the central ``outer/2`` pixels of each (M ``ptycho/data_preprocessing.py:150-189``)."""
    step = outer_offset // 2
    big = N + (gridsize - 1) * offset
    n = (image.shape[0] - big) // step + 1
    start = (big - N) // 2 + N // 2 - step // 2
    return image[start : start + n * step, start : start + n * step]


def grid_tiles(patches: np.ndarray, ny: int, nx: int, outer_offset: int) -> np.ndarray:
    """The legacy grid mosaic: the central ``outer/2`` pixels of group ``(i, j)`` go to rows
    ``i·outer/2 …`` and columns ``j·outer/2 …`` (M ``ptycho/data_preprocessing.py:150-189``)."""
    step = outer_offset // 2
    N = patches.shape[1]
    lo = N // 2 - step // 2
    out = np.zeros((ny * step, nx * step), patches.dtype)
    for k, patch in enumerate(patches):
        i, j = divmod(k, nx)
        out[i * step : (i + 1) * step, j * step : (j + 1) * step] = patch[lo : lo + step, lo : lo + step]
    return out


def poisson_nll_mean(counts: np.ndarray, rate: np.ndarray) -> float:
    """``mean(λ − y·log λ)`` over every element (``log_poisson_loss``, not full)."""
    return float(np.mean(rate - counts * np.log(rate)))


def poisson_nll_full_sum(counts: np.ndarray, rate: np.ndarray) -> float:
    """``−log Poisson(y; λ)`` summed over each sample's pixels, averaged over samples."""
    from scipy.special import gammaln

    per = rate - counts * np.log(rate) + gammaln(counts + 1.0)
    return float(np.mean(per.reshape(per.shape[0], -1).sum(axis=1)))


def total_variation_batch(pred: np.ndarray) -> float:
    """Σ over the whole batch of squared x and y differences, real plus imaginary part
    (M ``ptycho/tf_helper.py:1460-1516``)."""
    total = 0.0
    for part in (pred.real, pred.imag):
        total += float(np.sum((part[:, :, 1:, :] - part[:, :, :-1, :]) ** 2))
        total += float(np.sum((part[:, 1:, :, :] - part[:, :-1, :, :]) ** 2))
    return total


def complex_mae_real_target(target: np.ndarray, pred: np.ndarray) -> float:
    """``mean|pred − target|`` of the complex difference, for a real target (the
    ``complexify`` decorator tests only its first argument, M ``ptycho/tf_helper.py:678-697,1519-1522``)."""
    return float(np.mean(np.abs(pred - target)))


def plateau_lr_trace(monitored, lr: float, factor: float, patience: int, min_lr: float, min_delta: float) -> list:
    """The learning rate at the start of every epoch under Keras' ``ReduceLROnPlateau`` (mode
    'min', cooldown 0), given the monitored value at the end of each epoch: an epoch improves
    when its value is below ``best − min_delta``; after ``patience`` epochs without improvement
    a rate above ``min_lr`` becomes ``max(rate · factor, min_lr)`` and the count restarts.
    Rates are float32, as Keras keeps them in a float32 variable."""
    trace, best, wait = [np.float32(lr)], math.inf, 0
    for value in monitored[:-1]:  # the last epoch's update is never used
        rate = trace[-1]
        if value < best - min_delta:
            best, wait = value, 0
        else:
            wait += 1
            if wait >= patience and rate > np.float32(min_lr):
                rate, wait = np.float32(max(rate * np.float32(factor), np.float32(min_lr))), 0
        trace.append(rate)
    return [float(x) for x in trace]


def early_stopping_epochs(monitored, patience: int, max_epochs: int) -> int:
    """Epochs run under Keras' ``EarlyStopping`` (mode 'min', ``min_delta`` 0): training stops at
    the end of the epoch that makes ``patience`` epochs in a row without a new minimum."""
    best, wait = math.inf, 0
    for epoch, value in enumerate(monitored[:max_epochs], start=1):
        if value < best:
            best, wait = value, 0
        else:
            wait += 1
            if wait >= patience:
                return epoch
    return max_epochs  # the rule never fired: every epoch runs
