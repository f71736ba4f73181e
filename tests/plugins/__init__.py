"""Fake action plug-ins for the tests, and a helper that installs them outside the repository.

`install(site, "acme_actions")` copies a package from this folder into `site` and writes the
`*.dist-info` (METADATA and entry_points.txt) that `importlib.metadata` reads, as pip would.
"""
from __future__ import annotations

import importlib
import itertools
import os
import shutil
import sys
from pathlib import Path

import pytest

from flowengine.plugins.registry import reset_registry

HERE = Path(__file__).parent
ENTRY_POINTS = {  # package -> entry point value
    "acme_actions": "acme_actions:plugin",
    "rival_actions": "rival_actions:plugin",
    "broken_actions": "broken_actions:plugin",
}


def install(site: Path, package: str, version: str = "1.0") -> Path:
    """Install a fake plug-in package into the directory `site`; returns the package's copy."""
    target = site / package
    shutil.copytree(HERE / package, target, ignore=shutil.ignore_patterns("__pycache__"))
    dist = site / f"{package}-{version}.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {package}\nVersion: {version}\n")
    (dist / "entry_points.txt").write_text(
        f"[flowengine.actions]\n{package.removesuffix('_actions')} = {ENTRY_POINTS[package]}\n")
    _changed(site)
    return target


def install_source(site: Path, name: str, source: str) -> str:
    """Install a one-module plug-in package `NAME_actions` whose `__init__.py` is `source`, with
    the entry point `NAME = NAME_actions:plugin`; returns the package name. For hostile or
    careless plug-ins written inline in a test."""
    package = f"{name}_actions"
    (site / package).mkdir()
    (site / package / "__init__.py").write_text(source)
    dist = site / f"{package}-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {package}\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(f"[flowengine.actions]\n{name} = {package}:plugin\n")
    _changed(site)
    return package


def uninstall(site: Path, package: str) -> None:
    shutil.rmtree(site / package)
    for dist in site.glob(f"{package}-*.dist-info"):
        shutil.rmtree(dist)
    forget(package)
    _changed(site)


def forget(package: str) -> None:
    """Drop an imported package so that the next import reads its files again."""
    for name in [n for n in sys.modules if n == package or n.startswith(package + ".")]:
        del sys.modules[name]


_bumps = itertools.count(1)


def _changed(site: Path) -> None:
    """Make the change visible in this process at once: importlib caches directory listings by
    the directory's mtime, which may not tick between two quick changes."""
    st = os.stat(site)
    os.utime(site, ns=(st.st_atime_ns, st.st_mtime_ns + next(_bumps) * 1_000_000_000))
    importlib.invalidate_caches()


@pytest.fixture
def site_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty directory on sys.path to install fake plug-ins into, a private catalog cache,
    and no registry cached from an earlier test."""
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    monkeypatch.delenv("FLOWENGINE_CACHE_DIR", raising=False)
    monkeypatch.delenv("FLOWENGINE_NO_CACHE", raising=False)
    reset_registry()
    yield site
    reset_registry()
    for package in ENTRY_POINTS:
        forget(package)
