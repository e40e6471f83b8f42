"""Both stitchers on the true object against independent references."""

from __future__ import annotations

import numpy as np

from ...evaluation import stitching
from ...pipelines import common
from ...simulation import nongrid
from .. import reference as ref
from .rows import CheckResult, Rows


def check_stitching(legacy: common.Prepared, modern: common.Prepared, n_groups: int = 48) -> CheckResult:
    """Both stitchers, and both evaluations' geometry, on the true object against independent
    references.

    Reference: modern — :func:`.reference.reassemble_position` (the original's convention:
    central M×M crop, M = 20, bilinear shift-and-sum divided by the summed weights + 1e-9)
    on the true patches of ``n_groups`` test groups at their positions; then the true patches
    of *every* test group at its centre (the mean of its members' positions, written out here)
    sent through the evaluation (:func:`..pipelines.modern.reconstruct`) under both scorings:
    faithful against the original's own canvas (:func:`.reference.original_shift_and_sum`)
    on its comparison window (:func:`.reference.scan_window_registered`, every pixel scored),
    ours against :func:`.reference.reassemble_position` on its coverage box
    (:func:`.reference.coverage_box`). Legacy — the grid tiling of :func:`.reference.grid_tiles`
    on the true centre patches of every group, and those patches sent through the evaluation
    (:func:`..pipelines.legacy.reconstruct`) against the tiles and the part of the image the
    mosaic covers (:func:`.reference.grid_truth`), integer copies compared exactly: faithful
    on test image 0 with the original's ``offset/2`` trim, ours on every test image.
    """
    from ...pipelines import legacy as legacy_pipeline
    from ...pipelines import modern as modern_pipeline

    r = Rows()
    # modern: true patches at their true (fractional) positions
    N = modern.spec.N
    obj = modern.test_images[0]
    centres = modern.test.coords_nn[:n_groups, 0].transpose(0, 2, 1).reshape(-1, 2)
    patches = nongrid.extract_patches(obj, centres, N)
    image, weight = stitching.stitch_positions(patches, centres, obj.shape, modern.profile.reassemble_M)
    want, want_w = ref.reassemble_position(patches, centres, obj.shape, ref.ORIGINAL_REASSEMBLE_M)
    scale = float(np.abs(want).max())
    r.within("modern: stitch_positions vs reassemble_position reference (relative to max)",
             float(np.abs(image - want).max() / scale), "stitching", "positions_rel_to_max")
    r.within("modern: coverage weights vs reference", float(np.abs(weight - want_w).max()), "stitching",
             "positions_rel_to_max")
    # modern evaluation, both scorings: every test group's true patch at the mean of its members' positions
    group_centres = modern.test.coords_nn[:, 0].mean(axis=-1)  # (B, [x, y])
    true_patches = nongrid.extract_patches(obj, group_centres, N)
    M = ref.ORIGINAL_REASSEMBLE_M
    stitched, truth, scored, covered = modern_pipeline.reconstruct(modern, true_patches[..., None], "faithful")
    canvas, canvas_w, origin = ref.original_shift_and_sum(true_patches, group_centres, M)
    want, rows, cols = ref.scan_window_registered(canvas, origin, group_centres, obj.shape, M)
    want_w, _, _ = ref.scan_window_registered(canvas_w, origin, group_centres, obj.shape, M)
    r.equal("modern evaluation (faithful): window vs the scan bounding box ± M/2", list(stitched.shape),
            list(want.shape))
    if stitched.shape == want.shape:
        r.within("modern evaluation (faithful): stitched true patches vs the original's frame and window "
                 "(relative to max)", float(np.abs(np.abs(stitched) - want).max() / np.abs(want).max()),
                 "stitching", "positions_rel_to_max")
        r.equal("modern evaluation (faithful): truth = the object on that window", truth, obj[rows, cols])
        r.equal("modern evaluation (faithful): every pixel of the window is scored, zeros included",
                bool(scored.all()), True)
        r.equal("modern evaluation (faithful): covered pixels = reference weight > 0", covered, want_w > 0)
    stitched, truth, scored, covered = modern_pipeline.reconstruct(modern, true_patches[..., None], "ptychobench")
    want, want_w = ref.reassemble_position(true_patches, group_centres, obj.shape, M)
    box = ref.coverage_box(want_w)
    r.equal("modern evaluation (ptychobench): window shape vs the reference's coverage box", list(stitched.shape),
            list(want[box].shape))
    if stitched.shape == want[box].shape:
        r.within("modern evaluation (ptychobench): stitched true patches vs reference on its coverage box "
                 "(relative to max)", float(np.abs(np.abs(stitched) - want[box]).max() / np.abs(want).max()),
                 "stitching", "positions_rel_to_max")
        r.equal("modern evaluation (ptychobench): truth = the object on the reference's coverage box", truth,
                obj[box])
        r.equal("modern evaluation (ptychobench): scored pixels = reference weight > 1e-6", scored,
                want_w[box] > 1e-6)
    # legacy: the centre N×N of every test group of every test image, tiled
    cfg = legacy.config
    lay = legacy.test_layout
    big = cfg["N"] + (cfg["gridsize"] - 1) * cfg["offset"]
    lo = (big - cfg["N"]) // 2
    per_image = [np.asarray([img[i * lay.stride + lo : i * lay.stride + lo + cfg["N"],
                                 j * lay.stride + lo : j * lay.stride + lo + cfg["N"]]
                             for i in range(lay.ny) for j in range(lay.nx)]) for img in legacy.test_images]
    patches = np.concatenate(per_image)[..., None]
    tiles = [ref.grid_tiles(p, lay.ny, lay.nx, cfg["outer_offset_test"]) for p in per_image]
    window = [ref.grid_truth(img, cfg["N"], cfg["gridsize"], cfg["offset"], cfg["outer_offset_test"])
              for img in legacy.test_images]
    k = cfg["offset"] // 2  # the original's trim (DE ptycho/evaluation.py:123-126)
    stitched, truth, scored, _ = legacy_pipeline.reconstruct(legacy, patches, "faithful")
    r.equal("legacy evaluation (faithful): stitched true patches vs grid tiling reference, test image 0, "
            "offset/2 trimmed", stitched, tiles[0][k:-k, k:-k])
    r.equal("legacy evaluation (faithful): truth = the part of test image 0 the mosaic covers, trimmed", truth,
            window[0][k:-k, k:-k])
    stitched, truth, scored, _ = legacy_pipeline.reconstruct(legacy, patches, "ptychobench")
    r.equal("legacy evaluation (ptychobench): stitched true patches vs grid tiling reference, every test image",
            stitched, np.concatenate(tiles))
    r.equal("legacy evaluation (ptychobench): truth = the part of each image the mosaic covers", truth,
            np.concatenate(window))
    r.equal("legacy evaluation: the tiled true patches reproduce that part of the image", np.concatenate(tiles),
            np.concatenate(window))
    r.equal("legacy evaluation: every pixel scored", bool(scored.all()), True)
    return r.result("stitching", "reference.original_shift_and_sum and scan_window_registered (faithful), "
                    "reassemble_position (M=20, 1e-9) and coverage_box (ptychobench), grid_tiles and grid_truth", {"modern_groups": n_groups,
                                                            "legacy_mosaic_shape": list(stitched.shape)})
