"""The offline site's copies of asv's CDN dependencies: the list must match the installed asv."""

from __future__ import annotations

from pathlib import Path

import asv
import pytest

from ptychobench import site

WWW = Path(asv.__file__).parent / "www"


def test_asset_list_matches_the_installed_asv():
    pages = {page.name: page.read_text() for page in sorted(WWW.glob("*.html"))}
    used = {site.asset_url(tag, attrs) for text in pages.values() for _, tag, attrs in site.external_assets(text)}
    added, gone = sorted(used - set(site.ASV_ASSETS)), sorted(set(site.ASV_ASSETS) - used)
    assert not (added or gone), (
        f"asv {asv.__version__}'s pages ({WWW}) changed their CDN scripts/stylesheets: update ASV_ASSETS in "
        f"src/ptychobench/site.py (npm package, version, file in its tarball) -- new: {added}; no longer used: {gone}")
    # the parser found them where a plain text search does too
    assert all(any(url in text for text in pages.values()) for url in used)


@pytest.fixture
def cache(tmp_path) -> Path:
    """Stand-ins for the downloaded files (the download itself is not tested here)."""
    folder = tmp_path / "cache"
    folder.mkdir()
    for package, version, member in site.ASV_ASSETS.values():
        (folder / site._local_name(package, version, member)).write_text(f"/* {package} */")
    return folder


def test_pages_load_only_vendored_copies(tmp_path, cache):
    asv_dir = tmp_path / "asv"
    asv_dir.mkdir()
    for page in WWW.glob("*.html"):
        (asv_dir / page.name).write_text(page.read_text())
    site.vendor_asv_pages(asv_dir, cache)
    text = (asv_dir / "index.html").read_text()
    for url, asset in site.ASV_ASSETS.items():
        assert url not in text
        name = site._local_name(*asset)
        assert f'"vendor/{name}"' in text and (asv_dir / "vendor" / name).exists()
    assert "integrity=" not in text and "crossorigin" not in text
    assert "https://github.com/airspeed-velocity/asv/" in text  # a plain link, left alone


def test_an_unknown_cdn_address_stops_the_build(tmp_path, cache):
    (tmp_path / "index.html").write_text('<html><head>\n<script\n  src="https://cdn.example.org/new.js"></script>'
                                         "</head></html>")
    with pytest.raises(SystemExit, match=r"index.html: loads https://cdn.example.org/new.js .*ASV_ASSETS"):
        site.vendor_asv_pages(tmp_path, cache)
