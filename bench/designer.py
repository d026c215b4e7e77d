"""Form designer benchmark: load, drag and preview with 30, 300 and 1,000 fields.

Starts its own server (`metrolab serve`) on a temporary SQLite database, imports generated
definitions through the forms API, and drives /usr/bin/chromium with Playwright:

* load    — navigation start → canvas rendered and ready (``window.__dz.readyAt``);
* drag    — mouse down on a palette control → model updated and the canvas re-rendered
            (``__dz.lastRender − __dz.lastDown``; includes the scripted gesture: 8 pointer moves
            16 ms apart plus Playwright round trips), dropped into the middle of the form;
            ``drop`` = mouse up → re-rendered; ``render`` = the model operation + DOM update alone;
* preview — POST /designer/preview round trip as the page does it (server render included),
            plus the server's own time.

Usage: .venv/bin/python bench/designer.py [--sizes 30,300,1000] [--runs 3] [--screenshots DIR]
Prints a table and writes bench/results/designer.json.
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
PASSWORD = "bench-pass-123"


def generate(n_fields: int, key: str = "bench_form") -> dict:
    """A definition with ``n_fields`` inputs: sections of 10 (two columns), computed fields, a table."""
    layout: list[dict] = []
    made = 0
    s = 0
    while made < n_fields:
        s += 1
        left, right = [], []
        for i in range(10):
            if made >= n_fields:
                break
            made += 1
            node = {
                "type": "field",
                "key": f"f{made}",
                "control": "number" if made % 3 else "text",
                "label": {"zh": f"字段 {made}", "en": f"Field {made}"},
            }
            if made % 3:
                node.update({"unit": "mm", "decimals": 2, "min": 0, "max": 100})
            (left if i % 2 == 0 else right).append(node)
        children: list[dict] = [{"type": "columns", "columns": [left, right]}]
        numbers = [n["key"] for n in left + right if n["control"] == "number"]
        if len(numbers) >= 2:
            children.append(
                {
                    "type": "computed",
                    "key": f"sum{s}",
                    "label": {"zh": f"合计 {s}", "en": f"Sum {s}"},
                    "expression": f"{numbers[0]} + {numbers[1]}",
                    "round": "0.01",
                }
            )
        layout.append(
            {
                "type": "section",
                "label": {"zh": f"第 {s} 部分", "en": f"Part {s}"},
                "children": children,
            }
        )
    layout.append(
        {
            "type": "table",
            "key": "runs",
            "label": {"zh": "测量", "en": "Runs"},
            "min_rows": 3,
            "columns": [
                {
                    "type": "field",
                    "key": "x",
                    "control": "number",
                    "label": {"zh": "读数", "en": "x"},
                },
                {
                    "type": "computed",
                    "key": "d",
                    "label": {"zh": "偏差", "en": "d"},
                    "expression": "x - 1",
                },
            ],
        }
    )
    return {
        "format": "metrolab.form/1",
        "key": key,
        "kind": "other",
        "title": {
            "zh": f"基准表单（{n_fields} 个字段）",
            "en": f"Benchmark form ({n_fields} fields)",
        },
        "layout": layout,
    }


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """A migrated, seeded SQLite database in a temporary folder and `metrolab serve` on it."""

    def __init__(self) -> None:
        self.dir = Path(tempfile.mkdtemp(prefix="metrolab-bench-designer-"))
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = dict(
            os.environ,
            METROLAB_DATA_DIR=str(self.dir),
            METROLAB_SECRET_KEY="bench-secret",
            METROLAB_DATABASE_URL=f"sqlite:///{self.dir / 'bench.sqlite3'}",
            METROLAB_PORT=str(self.port),
            METROLAB_BASE_URL=self.url,
            METROLAB_TEST_FAST_HASH="1",
        )
        self.env.pop("PICCOLO_CONF", None)
        self.proc: subprocess.Popen | None = None

    def cli(self, *args: str) -> None:
        subprocess.run(
            [sys.executable, "-m", "metrolab.cli", *args],
            env=self.env,
            cwd=ROOT,
            check=True,
            stdout=subprocess.DEVNULL,
        )

    def __enter__(self) -> Server:
        self.cli("db", "upgrade")
        self.cli("seed")
        self.cli(
            "createuser",
            "designer",
            "--full-name",
            "李明",
            "--role",
            "tech_manager",
            "--password",
            PASSWORD,
        )
        self.log = open(self.dir / "server.log", "w")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "metrolab.cli", "serve", "--port", str(self.port)],
            env=self.env,
            cwd=ROOT,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        for _ in range(150):
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1).status_code == 200:
                    return self
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise RuntimeError((self.dir / "server.log").read_text())

    def __exit__(self, *exc: object) -> None:
        if self.proc:
            self.proc.terminate()
            self.proc.wait(timeout=10)
        self.log.close()


def login(page, username: str = "designer", password: str = PASSWORD) -> None:  # noqa: ANN001
    page.goto("/login")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.click("form[action='/login'] button[type=submit]")
    page.wait_for_url("**/home")


def import_form(page, definition: dict) -> int:  # noqa: ANN001
    """Import through the forms API with the page's session; returns the new version id."""
    token = page.evaluate("JSON.parse(document.body.getAttribute('hx-headers'))['x-csrftoken']")
    r = page.request.post(
        "/api/v1/forms",
        data=json.dumps(definition),
        headers={"content-type": "application/json", "x-csrftoken": token},
    )
    assert r.ok, r.text()
    return r.json()["id"]


def move_and_click(page, locator, start: tuple[float, float]) -> tuple[float, float]:  # noqa: ANN001
    """Move the mouse to ``locator`` the way a hand does (8 moves 16 ms apart) and click it there.

    The designer swallows a click that comes within 80 ms of a drop (drag.js: the click that ends
    a drag must not select what is under the pointer), so a click fired straight after the drop
    lands nowhere; a person's hand needs longer than that to reach the next button."""
    locator.scroll_into_view_if_needed()
    box = locator.bounding_box()
    x, y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    page.mouse.move(start[0], start[1])
    for step in range(1, 9):
        page.mouse.move(start[0] + (x - start[0]) * step / 8, start[1] + (y - start[1]) * step / 8)
        page.wait_for_timeout(16)
    page.mouse.down()
    page.mouse.up()
    return x, y


def measure(page, version_id: int) -> dict:  # noqa: ANN001
    page.goto(f"/forms/versions/{version_id}/designer")
    page.wait_for_function("window.__dz && window.__dz.ready")
    load_ms = page.evaluate("window.__dz.readyAt")  # ms since navigation start
    nodes = page.evaluate("window.__dz.api.model.count()")
    # drag: palette "数字" into the middle of the root list
    page.wait_for_timeout(300)
    target = page.locator(".dz-root > .dn").nth(page.locator(".dz-root > .dn").count() // 2)
    target.scroll_into_view_if_needed()
    source = page.locator('.dz-pal-item[data-make="number"]')
    sb, tb = source.bounding_box(), target.bounding_box()
    before = page.evaluate("window.__dz.api.model.count()")
    renders = page.evaluate("window.__dz.renders")
    page.mouse.move(sb["x"] + sb["width"] / 2, sb["y"] + sb["height"] / 2)
    page.mouse.down()
    for step in range(1, 9):
        page.mouse.move(
            sb["x"] + (tb["x"] + 40 - sb["x"]) * step / 8,
            sb["y"] + (tb["y"] + 6 - sb["y"]) * step / 8,
        )
        page.wait_for_timeout(16)
    page.mouse.up()
    page.wait_for_function(f"window.__dz.renders > {renders}")
    drag_ms = page.evaluate("window.__dz.lastRender - window.__dz.lastDown")
    render_ms = page.evaluate("window.__dz.lastRenderMs")
    drop_ms = page.evaluate("window.__dz.lastRender - window.__dz.lastUp")
    assert page.evaluate("window.__dz.api.model.count()") == before + 1, (
        "the drag did not add a node"
    )
    # preview: the hand goes from the drop to the 预览 tab, then to 刷新 (three times)
    previews = []
    at = move_and_click(
        page, page.locator(".dz-tab[data-tab=preview]"), (tb["x"] + 40, tb["y"] + 6)
    )
    page.locator("#dz-preview-refresh").wait_for(state="visible", timeout=5_000)
    for _ in range(3):
        n = page.evaluate("window.__dz.previews")
        at = move_and_click(page, page.locator("#dz-preview-refresh"), at)
        page.wait_for_function(f"window.__dz.previews > {n}", timeout=120_000)
        previews.append(
            (
                page.evaluate("window.__dz.lastPreviewMs"),
                page.evaluate("window.__dz.lastPreviewServerMs"),
            )
        )
    # let the autosave of the drag finish before the next page (SQLite: one writer at a time)
    page.wait_for_function(
        "!['saving', 'dirty'].includes(document.querySelector('#dz-save').dataset.state)",
        timeout=60_000,
    )
    return {
        "nodes": nodes,
        "load_ms": round(load_ms),
        "drag_ms": round(drag_ms, 1),
        "drop_ms": round(drop_ms, 1),
        "drag_render_ms": round(render_ms, 1),
        "preview_ms": round(statistics.median(p[0] for p in previews)),
        "preview_server_ms": round(statistics.median(p[1] for p in previews)),
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="30,300,1000")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--screenshots", default="")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    from playwright.sync_api import sync_playwright

    results = []
    with Server() as server, sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS
        )
        context = browser.new_context(
            base_url=server.url, locale="zh-CN", viewport={"width": 1440, "height": 900}
        )
        page = context.new_page()
        page.set_default_timeout(60_000)
        login(page)
        for n in sizes:
            runs = []
            for r in range(args.runs):
                version_id = import_form(page, generate(n, key=f"bench_{n}_{r}"))
                runs.append(measure(page, version_id))
                if args.screenshots and r == 0:
                    Path(args.screenshots).mkdir(parents=True, exist_ok=True)
                    page.screenshot(path=str(Path(args.screenshots) / f"designer-{n}.png"))
            row = {"fields": n, "nodes": runs[0]["nodes"], "runs": args.runs}
            for k in (
                "load_ms",
                "drag_ms",
                "drop_ms",
                "drag_render_ms",
                "preview_ms",
                "preview_server_ms",
            ):
                row[k] = statistics.median(run[k] for run in runs)
            results.append(row)
        browser.close()
    print(
        f"{'fields':>7} {'nodes':>6} {'load ms':>8} {'drag ms':>8} {'drop→ms':>8} {'render ms':>10} "
        f"{'preview ms':>11} {'server ms':>10}"
    )
    for r in results:
        print(
            f"{r['fields']:>7} {r['nodes']:>6} {r['load_ms']:>8} {r['drag_ms']:>8} {r['drop_ms']:>8} "
            f"{r['drag_render_ms']:>10} {r['preview_ms']:>11} {r['preview_server_ms']:>10}"
        )
    out = ROOT / "bench" / "results" / "designer.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(
        json.dumps(
            {
                "what": "form designer: load, drag (mouse down → re-rendered), preview; median of runs",
                "chromium": "/usr/bin/chromium headless",
                "results": results,
            },
            indent=2,
        )
        + "\n"
    )
    print(f"written {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
