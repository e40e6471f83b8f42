"""The site's commit links: from the git remote "origin", or none (never a made-up address)."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from ptychobench import site


@pytest.mark.parametrize("remote,url", [
    ("git@github.com:hoidn/PtychoPINN.git", "https://github.com/hoidn/PtychoPINN"),
    ("ssh://git@gitlab.example.org/group/proj.git", "https://gitlab.example.org/group/proj"),
    ("https://github.com/hoidn/PtychoPINN.git", "https://github.com/hoidn/PtychoPINN"),
    ("https://user@github.com/hoidn/PtychoPINN/", "https://github.com/hoidn/PtychoPINN"),
    ("/home/me/ptychobench", None),
    ("file:///srv/git/ptychobench", None),
    (None, None),
])
def test_web_url_of_a_remote(remote, url):
    assert site.web_url(remote) == url


def test_asv_config_urls_follow_the_remote(tmp_path):
    src = tmp_path / "asv.conf.json"
    src.write_text('{\n  // a comment, as asv allows\n  "version": 1, "repo": ".", "project_url": "https://x/y",\n'
                   '  "show_commit_url": "https://x/y/commit/"\n}\n')
    conf = site.write_asv_config(src, tmp_path / "out" / "publish.json", "git@github.com:o/n.git")
    assert (conf["project_url"], conf["show_commit_url"]) == ("https://github.com/o/n", "https://github.com/o/n/commit/")
    conf = site.write_asv_config(src, tmp_path / "out" / "publish.json", None)
    assert "project_url" not in conf and "show_commit_url" not in conf
    assert json.loads((tmp_path / "out" / "publish.json").read_text()) == {"version": 1, "repo": "."}


def test_git_remote_of_a_repository_without_origin(tmp_path):
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    assert site.git_remote(tmp_path) is None
    subprocess.run(["git", "-C", str(tmp_path), "remote", "add", "origin", "git@github.com:o/n.git"], check=True)
    assert site.git_remote(tmp_path) == "git@github.com:o/n.git"


def test_committed_asv_config_names_no_address():
    from asv.util import load_json

    conf = load_json(str(Path(__file__).resolve().parents[2] / "asv.conf.json"), js_comments=True)
    assert "project_url" not in conf and "show_commit_url" not in conf
