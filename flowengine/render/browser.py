"""Headless Chromium, driven by subprocess: screenshots of rendered pages and DOM dumps for the
browser tests. No Python dependency; the browser is the Debian package `chromium` (or any
Chrome/Chromium named by $FLOWENGINE_CHROMIUM)."""
from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

CANDIDATES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable", "chrome")
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--hide-scrollbars", "--force-device-scale-factor=1", "--font-render-hinting=none")


def find_chromium() -> str | None:
    """Path of a Chromium/Chrome executable, or None."""
    explicit = os.environ.get("FLOWENGINE_CHROMIUM")
    if explicit:
        return explicit if os.path.exists(explicit) else shutil.which(explicit)
    for name in CANDIDATES:
        found = shutil.which(name)
        if found:
            return found
    return None


def _run(args: list[str], timeout: float) -> subprocess.CompletedProcess[str]:
    chromium = find_chromium()
    if chromium is None:
        raise FileNotFoundError("chromium is not installed (apt-get install chromium)")
    with tempfile.TemporaryDirectory(prefix="flowengine-chromium-") as profile:
        return subprocess.run([chromium, *FLAGS, f"--user-data-dir={profile}", *args],
                              capture_output=True, text=True, timeout=timeout, check=False,
                              stdin=subprocess.DEVNULL)


def dump_dom(page: str | Path, budget_ms: int = 5000, timeout: float = 90) -> str:
    """The DOM of `page` (a file) after its scripts ran, as HTML text."""
    result = _run([f"--virtual-time-budget={budget_ms}", "--dump-dom",
                   Path(page).resolve().as_uri()], timeout)
    if result.returncode != 0 or not result.stdout:
        raise RuntimeError(f"chromium --dump-dom failed ({result.returncode}): "
                           f"{result.stderr.strip()[-2000:]}")
    return result.stdout


def screenshot(page: str | Path, png: str | Path, width: int = 1400, height: int = 900,
               fragment: str = "", budget_ms: int = 2000, timeout: float = 90) -> None:
    """Save a PNG of `page` (a file, opened at `#fragment` if given) as a `width`×`height`
    window shows it."""
    png = Path(png).resolve()
    url = Path(page).resolve().as_uri() + (f"#{fragment}" if fragment else "")
    result = _run([f"--window-size={width},{height}", f"--virtual-time-budget={budget_ms}",
                   f"--screenshot={png}", url], timeout)
    if result.returncode != 0 or not png.exists():
        raise RuntimeError(f"chromium --screenshot failed ({result.returncode}): "
                           f"{result.stderr.strip()[-2000:]}")
