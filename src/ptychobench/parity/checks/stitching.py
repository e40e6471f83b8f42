"""Both stitchers on the true object against independent references."""

from __future__ import annotations

import numpy as np

from ...evaluation import stitching
from ...pipelines import common
from ...simulation import legacy_grid, nongrid
from .. import reference as ref
from .rows import CheckResult, Rows


def check_stitching(legacy: common.Prepared, modern: common.Prepared, n_groups: int = 48) -> CheckResult:
    """Both stitchers on the true object against independent references.

    Reference: modern — :func:`.reference.reassemble_position` (the original's convention:
    central M×M crop, M = 20, bilinear shift-and-sum divided by the summed weights + 1e-9)
    on the true patches of ``n_groups`` test groups at their positions; legacy — the grid
    tiling of :func:`.reference.grid_tiles` on the true centre patches of every group, which
    must also reproduce the clipped ground truth exactly (integer copies).
    """
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
    # legacy: the centre N×N of every test group of image 0, tiled
    cfg = legacy.config
    lay = legacy.test_layout
    big = cfg["N"] + (cfg["gridsize"] - 1) * cfg["offset"]
    lo = (big - cfg["N"]) // 2
    img = legacy.test_images[0]
    centre_patches = np.asarray([img[i * lay.stride + lo : i * lay.stride + lo + cfg["N"],
                                     j * lay.stride + lo : j * lay.stride + lo + cfg["N"]]
                                 for i in range(lay.ny) for j in range(lay.nx)])
    ours = stitching.stitch_grid(centre_patches, lay.ny, lay.nx, cfg["outer_offset_test"])
    theirs = ref.grid_tiles(centre_patches, lay.ny, lay.nx, cfg["outer_offset_test"])
    r.equal("legacy: stitch_grid vs grid tiling reference", ours, theirs)
    truth = legacy_grid.clipped_truth(legacy.test_images[:1], cfg["N"], cfg["gridsize"], cfg["offset"],
                                      cfg["outer_offset_test"])[0]
    r.equal("legacy: tiled true patches reproduce the clipped truth", ours, truth)
    return r.result("stitching", "reference.reassemble_position (M=20, 1e-9), reference.grid_tiles, clipped truth",
                    {"modern_groups": n_groups, "legacy_mosaic_shape": list(ours.shape)})


