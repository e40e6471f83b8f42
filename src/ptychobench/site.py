"""Assemble the static results site: the asv pages plus the latest parity report.

    python -m ptychobench.site --asv-html .asv/html --reports reports --out site

Layout: ``site/index.html`` (landing page: verdict, headline numbers and their trends, see
:mod:`ptychobench.landing`), ``site/asv/`` (the asv site),
``site/parity/`` (the latest parity report, with a link back). The site is built in a
temporary folder and renamed into place.

asv's pages load jQuery, flot, Bootstrap and friends from CDNs, which a machine without
internet (CI here, the container at run time) cannot reach. The site therefore serves them
itself: they are fetched once from the npm registry (tarball integrity checked against the
registry's sha512), cached in ``$PTYCHOBENCH_ASSETS`` (default ``~/.cache/ptychobench/asv-assets``),
and the pages are rewritten to load ``vendor/...``. ``--fetch-assets`` only fills the cache
(the image does this at build time).

``--asv-config OUT`` writes the asv configuration ``asv publish`` uses (beside
``asv.conf.json``: asv runs in its config file's folder): ``asv.conf.json``
with ``project_url`` and ``show_commit_url`` taken from the git remote ``origin`` (a GitHub
or GitLab web address), or left out when there is no such remote, so no commit link on the
site leads nowhere.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import html
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
import urllib.request
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import urlsplit

from .atomic import atomic_write_bytes
from .landing import asv_results_dir, landing_context, render_landing

REGISTRY = "https://registry.npmjs.org"
#: CDN address in asv's pages -> (npm package, version, file in its tarball). asv 0.6.6 ships
#: none of these files (its www/ has only its own scripts, styles and icons).
ASV_ASSETS = {
    "https://code.jquery.com/jquery-3.3.1.min.js": ("jquery", "3.3.1", "package/dist/jquery.min.js"),
    "https://cdnjs.cloudflare.com/ajax/libs/flot/0.8.3/jquery.flot.min.js": ("flot", "0.8.3", "package/jquery.flot.js"),
    "https://cdnjs.cloudflare.com/ajax/libs/flot/0.8.3/jquery.flot.time.min.js":
        ("flot", "0.8.3", "package/jquery.flot.time.js"),
    "https://cdnjs.cloudflare.com/ajax/libs/flot/0.8.3/jquery.flot.selection.min.js":
        ("flot", "0.8.3", "package/jquery.flot.selection.js"),
    "https://cdnjs.cloudflare.com/ajax/libs/flot/0.8.3/jquery.flot.categories.min.js":
        ("flot", "0.8.3", "package/jquery.flot.categories.js"),
    "https://cdn.jsdelivr.net/npm/flot-orderbars@1.0.0/js/jquery.flot.orderBars.js":
        ("flot-orderbars", "1.0.0", "package/js/jquery.flot.orderBars.js"),
    # 1.0.1 was never on npm (stupid-table-plugin's only version is 1.1.3, checked 2026-11-27);
    # asv only calls .stupidtable() and .stupidtable({sort functions}), which 1.1.3 has.
    "https://cdnjs.cloudflare.com/ajax/libs/stupidtable/1.0.1/stupidtable.min.js":
        ("stupid-table-plugin", "1.1.3", "package/stupidtable.min.js"),
    "https://cdnjs.cloudflare.com/ajax/libs/blueimp-md5/2.19.0/js/md5.min.js":
        ("blueimp-md5", "2.19.0", "package/js/md5.min.js"),
    "https://cdn.jsdelivr.net/npm/bootstrap@3.1.1/dist/js/bootstrap.min.js":
        ("bootstrap", "3.1.1", "package/dist/js/bootstrap.min.js"),
    "https://cdn.jsdelivr.net/npm/bootstrap@3.1.1/dist/css/bootstrap.min.css":
        ("bootstrap", "3.1.1", "package/dist/css/bootstrap.min.css"),
}


def assets_dir() -> Path:
    return Path(os.environ.get("PTYCHOBENCH_ASSETS", Path.home() / ".cache" / "ptychobench" / "asv-assets"))


def _local_name(package: str, version: str, member: str) -> str:
    return f"{package}-{version}-{Path(member).name}"


def fetch_assets(cache: Path | None = None) -> Path:
    """Download asv's browser dependencies from the npm registry into ``cache`` (once)."""
    cache = cache or assets_dir()
    cache.mkdir(parents=True, exist_ok=True)
    by_package: dict[tuple, list] = {}
    for package, version, member in ASV_ASSETS.values():
        by_package.setdefault((package, version), []).append(member)
    for (package, version), members in by_package.items():
        if all((cache / _local_name(package, version, m)).exists() for m in members):
            continue
        with urllib.request.urlopen(f"{REGISTRY}/{package}/{version}", timeout=60) as resp:
            dist = json.load(resp)["dist"]
        with urllib.request.urlopen(dist["tarball"], timeout=120) as resp:
            blob = resp.read()
        algo, _, expected = dist["integrity"].partition("-")
        if base64.b64encode(hashlib.new(algo, blob).digest()).decode() != expected:
            raise SystemExit(f"{dist['tarball']}: integrity check failed")
        with tarfile.open(fileobj=io.BytesIO(blob), mode="r:gz") as tar:
            for member in members:
                data = tar.extractfile(member).read()
                target = cache / _local_name(package, version, member)
                atomic_write_bytes(target, data)
    return cache


class _ExternalAssets(HTMLParser):
    """Collects the ``<script src>`` and ``<link href>`` start tags that load an http(s) address."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, str, list]] = []  # (tag as written, tag name, attributes)

    def handle_starttag(self, tag, attrs):
        url = dict(attrs).get({"script": "src", "link": "href"}.get(tag, ""))
        if url and urlsplit(url).scheme in ("http", "https"):
            self.found.append((self.get_starttag_text(), tag, attrs))


def external_assets(page: str) -> list[tuple[str, str, list]]:
    """``(tag as written, tag name, attributes)`` of every script or stylesheet ``page`` loads
    from the network (``<script src=http…>``, ``<link href=http…>``; plain links excluded)."""
    parser = _ExternalAssets()
    parser.feed(page)
    parser.close()
    return parser.found


def asset_url(tag: str, attrs: list) -> str:
    return dict(attrs)["src" if tag == "script" else "href"]


def vendor_asv_pages(asv_dir: Path, cache: Path) -> None:
    """Point asv's pages at local copies of their CDN dependencies; an address not in
    ``ASV_ASSETS`` stops the build (the offline site would miss it)."""
    vendor = asv_dir / "vendor"
    vendor.mkdir(exist_ok=True)
    for package, version, member in ASV_ASSETS.values():
        shutil.copy2(cache / _local_name(package, version, member), vendor / _local_name(package, version, member))
    for page in sorted(asv_dir.glob("*.html")):
        text = page.read_text()
        for written, tag, attrs in external_assets(text):
            url = asset_url(tag, attrs)
            if url not in ASV_ASSETS:
                raise SystemExit(f"{page}: loads {url} from the network; add it to ASV_ASSETS in {__file__}")
            local = f"vendor/{_local_name(*ASV_ASSETS[url])}"
            # drop the subresource-integrity attributes: they describe the CDN's minified bytes
            kept = [(k, local if v == url else v) for k, v in attrs if k not in ("integrity", "crossorigin")]
            text = text.replace(written, f"<{tag}" + "".join(
                f" {k}" if v is None else f' {k}="{html.escape(v)}"' for k, v in kept) + ">")
        page.write_text(text)


BACKLINK = '<p><a href="../index.html">&larr; results home</a> · <a href="../asv/index.html">benchmarks</a></p>'


def latest_report(reports: Path) -> Path | None:
    latest = reports / "LATEST"
    if latest.exists():
        folder = reports / latest.read_text().strip()
        if folder.is_dir():
            return folder
    folders = sorted(p for p in reports.glob("parity-*") if p.is_dir()) if reports.is_dir() else []
    return folders[-1] if folders else None


def build_site(asv_html: Path, reports: Path, out: Path, results_dir: Path) -> Path:
    """The site from asv's pages, the latest report under ``reports`` and asv's results
    folder (for the landing page); written to ``out`` (replaced as a whole)."""
    if not (asv_html / "index.html").exists():
        raise SystemExit(f"{asv_html}: no asv site here (run `asv publish` first)")
    tmp = out.with_name(f".{out.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp, ignore_errors=True)
    shutil.copytree(asv_html, tmp / "asv")
    vendor_asv_pages(tmp / "asv", fetch_assets())
    report = latest_report(reports)
    if report is not None:
        shutil.copytree(report, tmp / "parity")
        index = tmp / "parity" / "index.html"
        if index.exists():
            text = index.read_text()
            index.write_text(text.replace("<body>", "<body>\n" + BACKLINK, 1))
    (tmp / "index.html").write_text(render_landing(landing_context(report, results_dir)))
    old = out.with_name(f".{out.name}.old-{os.getpid()}")
    if out.exists():
        out.rename(old)
    tmp.rename(out)
    shutil.rmtree(old, ignore_errors=True)
    return out


def web_url(remote: str | None) -> str | None:
    """The web address of a git remote (``git@host:owner/name.git``, ``https://host/owner/name``),
    or None for a local path, another scheme, or no remote."""
    if not remote:
        return None
    remote = remote.strip()
    match = re.fullmatch(r"(?:ssh://)?git@([^:/]+)[:/](.+?)(?:\.git)?/?", remote)
    if match:
        return f"https://{match.group(1)}/{match.group(2)}"
    match = re.fullmatch(r"https?://(?:[^@/]+@)?([^/]+)/(.+?)(?:\.git)?/?", remote)
    if match:
        return f"https://{match.group(1)}/{match.group(2)}"
    return None


def git_remote(repo: Path = Path(".")) -> str | None:
    """``git remote get-url origin`` in ``repo``, or None when there is none."""
    done = subprocess.run(["git", "-C", str(repo), "remote", "get-url", "origin"],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        return None
    return done.stdout.strip() or None


def write_asv_config(src: Path, out: Path, remote: str | None) -> dict:
    """``src`` (asv.conf.json, comments allowed) with the project and commit URLs of ``remote``
    set, or removed when it has no web address; written to ``out`` as plain JSON."""
    from asv.util import load_json

    conf = load_json(str(src), js_comments=True)
    conf.pop("project_url", None)
    conf.pop("show_commit_url", None)
    url = web_url(remote)
    if url:
        conf["project_url"] = url
        conf["show_commit_url"] = f"{url}/commit/"
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_bytes(out, (json.dumps(conf, indent=2) + "\n").encode())
    return conf


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--asv-html", default=".asv/html")
    parser.add_argument("--reports", default="reports")
    parser.add_argument("--out", default="site")
    parser.add_argument("--asv-results", type=Path,
                        help="asv's results folder (default: results_dir of ./asv.conf.json)")
    parser.add_argument("--fetch-assets", action="store_true", help="only fill the asset cache, then stop")
    parser.add_argument("--asv-config", metavar="OUT", type=Path,
                        help="only write asv.conf.json with the git remote's URLs to OUT, then stop")
    args = parser.parse_args(argv)
    if args.asv_config:
        conf = write_asv_config(Path("asv.conf.json"), args.asv_config, git_remote())
        print(f"{args.asv_config}: project_url {conf.get('project_url', '(none: no web remote)')}")
        return 0
    if args.fetch_assets:
        print(fetch_assets())
        return 0
    results = args.asv_results or asv_results_dir(Path("asv.conf.json"))
    print(build_site(Path(args.asv_html), Path(args.reports), Path(args.out), results))
    return 0


if __name__ == "__main__":
    sys.exit(main())
