"""Every surviving mutant and its written argument: docs/mutation-survivors.md.

    python scripts/mutation_survivors.py      # after `nox -s mutants` (reads mutants/)

Reads mutmut's results and mutated sources in ``mutants/``, diffs each survivor against the
original function, and files it under the argument (below) whose pattern matches its change.
Exits non-zero, listing them, when a survivor matches no argument: such a mutant needs a test
that kills it or a new argument here, written by a person who has read it.
"""

from __future__ import annotations

import ast
import collections
import difflib
import glob
import json
import re
import sys
import time
from pathlib import Path

from ptychobench.atomic import atomic_write_text

OUT = Path("docs/mutation-survivors.md")
SURVIVED, NO_TESTS = 0, 33

#: (id, title, argument, [(function-name regex, regex on the mutated lines)])
CATS = [
("D2", "Precision of an intermediate, below the float32 output's resolution",
 "The squared amplitude handed to `rng.poisson` and the energies summed by `einsum` are computed in float32 instead of float64, or a complex128 probe (float64 objects) is used without the cast to complex64 (float32). The intermediate then differs by about one float32 ulp (1e-7 relative); the outputs are float32 amplitudes and a scale used at float32 precision, and the Poisson draw of a rate that moved by 1e-7 changes with probability ~1e-7 per pixel. A test that pinned this would assert one machine's rounding, which the suite's standards forbid. The two places where float64 accumulation is visible at float32 output (the dataset scale, `norm_Y_I`, the normalisation gain) each have a test that fails in float32 (`test_*_averages_in_float64`, `test_normalization_gain_sums_in_float64`).",
 [(r"poisson_amplitude|illuminate_and_diffract|simulate_grid", r"np\.square\(amplitude, (dtype=None)?\)|einsum\(\"bcxy,bcxy->bc\", illum, illum, (dtype=None)?\)|np\.asarray\((probe|objects), (dtype=None)?\)")]),
("D1", "A dtype the value already has, or numpy's float64 default",
 "`astype(None)`, `dtype=None` or a dropped dtype argument gives float64 (numpy's default), and every one of these values is already float64, an integer index array the code never reads as float, or is cast again before it leaves the function (`simulate_nongrid` casts the object to float32 inside `extract_patches`'s float32 output; `lines_object`'s canvas and endpoints go through `int()`; `gaussian_kernel_3x3`'s integer grid is squared and divided by a float). The output arrays and their dtypes are pinned by tests (`test_grouped_data_has_the_documented_dtypes`, `test_writer_stores_the_documented_layout`, `test_extract_patches_*`); these mutants change no output.",
 [(r".*", r"astype\(None\)|dtype=None|np\.zeros\(\(big, big\), \)|np\.arange\(N, \)|np\.arange\(-1, 2, \)|tf\.(ones|zeros)\(\[b \* k\], \)|np\.asarray\((obj|objects), \)")]),
("S1", "Square arrays: the other axis has the same length",
 "`shape[1]` ↔ `shape[2]`, `shape[-1]` ↔ `shape[-2]` (and `shape[+1]` on a 2-D probe, which is `shape[-1]`) on arrays that are square by contract: patches and probes are N×N, objects and canvases of the legacy grid are size×size, model tensors are (B, N, N, C); the loader refuses non-square patterns before this line (`test_bad_file_names_the_problem[non-square patterns]`).",
 [(r".*", r"shape\[(2|-2|\+1)\]")]),
("A1", "A default spelled out, or a slice bound equal to the axis length",
 "The mutant removes or changes an argument to the library's own default, or a slice end past the axis: `np.stack(..., axis=0)`; `argsort`/`take_along_axis` on 2-D arrays with `axis=1` (numpy's default is the last axis); `rng.randint(0, n)` ≡ `rng.randint(n)` (same stream, same range); `np.load(allow_pickle=False)` (the default; `None` is falsy); `fft2(axes=(-2, -1))` and `overwrite_x=False` (defaults); `ImageProjectiveTransformV3(fill_mode=\"CONSTANT\")` (the op's default); `gaussian(sym=True)` (default); `[1:3]` on an axis of length 2; the `fftconvolve` with a depth-1 kernel over all axes instead of axes (1, 2) (the depth axis of a 1-deep kernel in 'valid' mode is the identity); `fftshift` axes `+2` is `-2` on a 4-D tensor; the einsum subscripts in capitals (the same labels).",
 [(r".*", r"np\.stack\(\[rel_x, rel_y\], \)|np\.argsort\(rng\.random_sample\(\(n_groups, k\)\), \)|take_along_axis\((neighbours|pool), picks, \)|randint\(pool\.shape\[1\]|allow_pickle=None|np\.load\(path, \)|fft2\(psi, workers|overwrite_x=None|workers=workers, \)|fill_mode=None|fill_mode=\"CONSTANT\",$|\), \)$|gaussian\(N, std=N / \(default_probe_scale \* np\.pi\*\*2\), \)|1:3, |1:3\]|axes=None|kind=\"STABLE\"|^\)$|mode=\"valid\", \)|axes=\(\+2, -1\)|BCXY")]),
("P1", "Performance only: threads, workers, in-place buffers, batch sizes",
 "Thread counts (`_map`'s `max_workers`, `threads=None`, the FFT's `workers`), `np.sqrt(..., out=counts)` (in place or not), the batch step floor (`max(2, ...)` only applies when a batch would hold fewer than 2 groups), the chunk loop stepping by 1 (each chunk is rewritten with identical values), and the shape probe `source(slice(0, 1))` (only `shape[1]` and `shape[-1]` of the first batch are read; any non-empty slice has them, and an empty one has them too) change time or memory, never a number. That numbers do not depend on threads and batching is tested (`test_illuminate_thread_count_does_not_change_numbers`, `test_batching_does_not_change_the_numbers`).",
 [(r"_map|_batches|poisson_amplitude|illuminate_and_diffract|far_field_amplitude|extract_patches", r"max_workers|max\(2|out=None|np\.sqrt\(counts, \)|workers=(None|2)|far_field_amplitude\(psi, \)|_map\((energy|work), len\(batches\), None(\)|, lambda)|slice\((0, None|1, 1|0, 2)\)|range\(0, coords\.shape\[0\], \)|fft2\(psi, axes=\(-2, -1\), overwrite_x=False\)")]),
("W1", "Warnings only",
 "`np.errstate(invalid=..., divide=...)` around the FRC's division only silences warnings for rings without power; the values (NaN there) are the same.",
 [(r"frc_curve", r"errstate")]),
("E1", "A boundary no value can sit on",
 "`>` ↔ `>=` where equality cannot happen or does not change the result: a bilinear weight of exactly 1e-6 (`stitch_positions`), a pixel at distance exactly N/4 from the probe centre (impossible: (2a+1)² + (2b+1)² ≡ 2 mod 8, N²/4 ≡ 0 or 4 mod 8 for N divisible by 4), an outer product of exactly 0.5 in `default_probe`, `N / 4` for `N // 4` and `N / 2` for `N // 2` when N is divisible by 4 (N ∈ {64, 128, 256}), `C > 2` for `C > 1` when C = gridsize² ∈ {1, 4, 9, ...}, `p.std() >= 0` / `or True` in the pearson guard (for a constant reconstruction `corrcoef` returns NaN, the same value the guard returns), and the PSNR data-range fallback 2.0 for 1.0 would need a constant truth *and* is reached only then (tested: `test_amplitude_metrics_flat_truth_uses_unit_data_range`).",
 [(r"stitch_positions|probe_mask|default_probe|group_indices|amplitude_metrics", r">= 1e-6|<= N // 4|N / 4|N / 2|>= 0\.5|C > 2|or True|>= 0 else|or 2\.0")]),
("E2", "The same slice written another way",
 "`m[N//4 : N//4 - N//2]` is `m[N//4 : -N//4]`, the same rows as `m[N//4 : N//4 + N//2]` for N divisible by 4; `blurred[size//2 : size//2 - size]` is the same rows as `[size//2 : size//2 + size]` because the canvas is 2·size; `lines_object`'s channel 1 (or a 4th channel) is the same as channel 0 because every channel holds the same canvas and the blur is the same per channel; `extract_patches` pads by N//2 + 3 instead of N//2 + 2 (bilinear reads need N//2 + 1; more zero padding changes nothing); the magic number test reads 6 bytes, reading 7 or all of them gives the same `startswith` answer; `ids = np.arange(sl.stop)` when every batch starts at 0.",
 [(r"central_mask|lines_object|_read_npz|extract_patches", r"N // 4 - N // 2|size // 2 - size|, 1\]$|, 4, axis=2|fh\.read\((None|7)\)|pad = N // 2 \+ 3")]),
("E4", "Measured: the same disk at every supported N",
 "`default_probe` scales the window by its maximum; the mutant multiplies instead of dividing. The maximum of the sampled window is 0.99854 (N=64), 0.99964 (128), 0.99991 (256), so the outer product moves by at most 0.6%; the product value nearest the 0.5 threshold is 0.00301 (N=64) and 0.00010 (128, 256) away from it, and the thresholded disk, hence the probe, is identical for N = 64, 128 and 256 (computed with scipy's window in `python -c` during the survivor review, 2026-11-27).",
 [(r"default_probe", r"window \* window\.max\(\)")]),
("E3", "A faster route to the same number",
 "`simulate_grid` computes the dataset scale from the object and the probe by FFT convolution (`_grid_pattern_energy`) before simulating; without it (`intensity_scale = None`) `illuminate_and_diffract` derives the same scale from the illuminated patches themselves (both are `sqrt(nphotons / mean Σ|P·O|²)`, equal to rounding; `test_legacy_dataset_scale_direct` and `..._with_an_asymmetric_probe` check the number against the formula). With the scale given, `nphotons` is not read by `illuminate_and_diffract`, so `None` there changes nothing. `reset()` copies the defaults shallowly instead of deeply: every default is an immutable scalar or None.",
 [(r"simulate_grid|x_reset", r"intensity_scale = None|source, probe, None, seed|copy\.copy\(DEFAULT_CFG\)")]),
]


def survivors() -> list[tuple[str, str]]:
    """(mutant name, its changed lines) of every mutant that survived or has no test."""
    found = []
    for meta in sorted(glob.glob("mutants/src/**/*.py.meta", recursive=True)):
        codes = json.loads(Path(meta).read_text())["exit_code_by_key"]
        source = Path(meta[: -len(".meta")]).read_text()
        functions = {node.name: ast.get_source_segment(source, node) for node in ast.walk(ast.parse(source))
                     if isinstance(node, ast.FunctionDef) and "__mutmut_" in node.name}
        for key, code in codes.items():
            if code not in (SURVIVED, NO_TESTS):
                continue
            name = key.rsplit(".", 1)[1]
            original = functions[name.rsplit("__mutmut_", 1)[0] + "__mutmut_orig"]
            mutated = functions[name].replace(name, name.rsplit("__mutmut_", 1)[0] + "__mutmut_orig", 1)
            diff = difflib.unified_diff(original.splitlines(), mutated.splitlines(), lineterm="", n=0)
            found.append((key, [line for line in diff if line[:1] in "+-" and line[:3] not in ("+++", "---")]))
    return found


def main() -> int:
    members, unmatched = collections.defaultdict(list), []
    for key, diff in survivors():
        added = " ".join(line[1:].strip() for line in diff if line.startswith("+"))
        for cid, _title, _argument, rules in CATS:
            if any(re.search(f, key) and re.search(d, added) for f, d in rules):
                members[cid].append((key, diff))
                break
        else:
            unmatched.append((key, diff))
    total = sum(len(v) for v in members.values())
    lines = [
        "# Surviving mutants and why each is equivalent",
        "",
        f"Written by `python scripts/mutation_survivors.py` after `nox -s mutants`, "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}. Score and counts: "
        "[mutation-summary.md](mutation-summary.md).",
        "",
        f"{total} survivors, each filed under the argument that it changes no result the code "
        "promises; the script fails when a survivor fits no argument.",
        "",
    ]
    for cid, title, argument, _rules in CATS:
        if not members[cid]:
            continue
        lines += [f"## {cid}. {title} ({len(members[cid])})", "", argument, ""]
        for key, diff in sorted(members[cid]):
            change = "; ".join(line[1:].strip() for line in diff if line.startswith("+"))[:160]
            lines.append(f"- `{key.removeprefix('ptychobench.')}`: `{change}`")
        lines.append("")
    atomic_write_text(OUT, "\n".join(lines))
    print(f"{OUT}: {total} survivors argued, {len(unmatched)} without an argument")
    for key, diff in unmatched:
        print(f"  {key}:", *diff, sep="\n    ")
    return 1 if unmatched else 0


if __name__ == "__main__":
    sys.exit(main())
