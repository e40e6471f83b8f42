"""Assemble the static results site: the asv pages plus the latest parity report.

    python -m ptychobench.site --asv-html .asv/html --reports reports --out site

Layout: ``site/index.html`` (landing page), ``site/asv/`` (the asv site),
``site/parity/`` (the latest parity report, with a link back). Standard library only; the
site is built in a temporary folder and renamed into place.
"""

from __future__ import annotations

import argparse
import html
import os
import shutil
import sys
from pathlib import Path

LANDING = """<!doctype html>
<html><head><meta charset="utf-8"><title>ptychobench results</title>
<style>body{{font-family:sans-serif;max-width:800px;margin:2em auto}}</style></head>
<body>
<h1>ptychobench results</h1>
<ul>
<li><a href="asv/index.html">Benchmarks across commits (airspeed velocity)</a>: amplitude bias, stage
ratios, training throughput, memory.</li>
<li>{parity}</li>
</ul>
<p>Gauge: amplitude_ratio = mean(stitched)/mean(truth) on covered pixels (raw units);
gauge_corrected_ratio = amplitude_ratio / G with G = object normalisation &times; diffraction gain g
&times; s_c / exp(log_scale); amplitude_bias = |ln gauge_corrected_ratio|.</p>
</body></html>
"""

BACKLINK = '<p><a href="../index.html">&larr; results home</a> · <a href="../asv/index.html">benchmarks</a></p>'


def latest_report(reports: Path) -> Path | None:
    latest = reports / "LATEST"
    if latest.exists():
        folder = reports / latest.read_text().strip()
        if folder.is_dir():
            return folder
    folders = sorted(p for p in reports.glob("parity-*") if p.is_dir()) if reports.is_dir() else []
    return folders[-1] if folders else None


def build_site(asv_html: Path, reports: Path, out: Path) -> Path:
    if not (asv_html / "index.html").exists():
        raise SystemExit(f"{asv_html}: no asv site here (run `asv publish` first)")
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(asv_html, tmp / "asv")
    report = latest_report(reports)
    if report is not None:
        shutil.copytree(report, tmp / "parity")
        index = tmp / "parity" / "index.html"
        if index.exists():
            text = index.read_text()
            index.write_text(text.replace("<body>", "<body>\n" + BACKLINK, 1))
        parity = f'<a href="parity/index.html">Latest parity report</a> ({html.escape(report.name)})'
    else:
        parity = "No parity report yet (run <code>nox -s parity</code>)."
    (tmp / "index.html").write_text(LANDING.format(parity=parity))
    old = out.with_name(f".{out.name}.old-{os.getpid()}")
    if out.exists():
        out.rename(old)
    tmp.rename(out)
    shutil.rmtree(old, ignore_errors=True)
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--asv-html", default=".asv/html")
    parser.add_argument("--reports", default="reports")
    parser.add_argument("--out", default="site")
    args = parser.parse_args(argv)
    print(build_site(Path(args.asv_html), Path(args.reports), Path(args.out)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
