"""Regenerate the screenshots in this folder: every example flow's canvas, and run reports.

    python docs/images/make_screenshots.py        (needs Chromium: apt-get install chromium)

Each page is rendered with flowengine.render, written to a temporary folder and photographed by
headless Chromium at a fixed window size, so the pictures change only when the canvas does.
"""
from __future__ import annotations

import sys
import tempfile
from pathlib import Path
from typing import Any

from flowengine.api import load_flow
from flowengine.render import render_html, render_report
from flowengine.render.browser import find_chromium, screenshot

ROOT = Path(__file__).resolve().parents[2]
HERE = Path(__file__).resolve().parent
WINDOW = (1280, 820)
MAX_BYTES = 300_000
SELECTED = {"parcel_weights": "Is_Heavy"}     # pictures that show an element's details

# the run reports to show: (picture name, flow file, inputs, demo org fixture or None)
REPORTS: list[tuple[str, str, dict[str, Any], str | None]] = [
    ("report-parcel_weights", "parcel_weights.yaml", {}, None),
    ("report-cancel_and_reallocate", "cancel_and_reallocate.yaml", {
        "lineItemId": "0a4DM0000000001YAA", "newLocationId": "131DM0000000002YAA",
        "quantity": 1}, "fixtures/demo_org.yaml"),
]


def run_report(flow_file: str, inputs: dict[str, Any], fixture: str | None, folder: Path) -> str:
    flow = load_flow(ROOT / "flows" / flow_file)
    org = None
    if fixture:
        from flowengine.org import open_org
        from flowengine.org.fixtures import load_fixture

        org = open_org(folder / f"{Path(flow_file).stem}.sqlite")
        load_fixture(org, ROOT / "flows" / fixture)
    try:
        result = flow.run(inputs, org=org, trace=True)
    finally:
        if org is not None:
            org.close()
    return render_report(flow, result)


def main() -> int:
    if find_chromium() is None:
        print("error: chromium is not installed (apt-get install chromium)", file=sys.stderr)
        return 2
    pages: dict[str, str] = {}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for path in sorted((ROOT / "flows").glob("*.yaml")):
            if ".flowtest." not in path.name:
                pages[path.stem] = render_html(load_flow(path))
        for name, flow_file, inputs, fixture in REPORTS:
            if (ROOT / "flows" / flow_file).exists():
                pages[name] = run_report(flow_file, inputs, fixture, folder)
        for name, html in pages.items():
            page = folder / f"{name}.html"
            page.write_text(html, encoding="utf-8")
            png = HERE / f"{name}.png"
            screenshot(page, png, *WINDOW, fragment=SELECTED.get(name, ""))
            size = png.stat().st_size
            print(f"{png.relative_to(ROOT)}: {size // 1024} KiB")
            if size > MAX_BYTES:
                print(f"warning: {png.name} is over {MAX_BYTES // 1000} KB", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
