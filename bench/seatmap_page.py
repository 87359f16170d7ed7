"""The Grand's seat map page in a browser: its DOM size, screenshots, and Lighthouse mobile.

    .venv/bin/python bench/seatmap_page.py [--screenshots DIR] [--lighthouse FOLDER --runs 3]

Serves the product as deployed (DEBUG=0, daphne, collected static files, SQLite, the demo; the
Redis at REDIS_URL, default database 9, emptied first) and opens a Grand showtime in Chromium,
signed out (as Lighthouse sees it) and signed in, at 1366 and 390 px. Once the map is live and
the socket's full map applied, prints the elements on the page
(`document.getElementsByTagName('*').length`) and the seats among them; `--screenshots` saves
each view there as a PNG. `--lighthouse` names a folder where Lighthouse is installed from npm
(`npm install lighthouse@12`): each of `--runs` runs of its default mobile emulation prints the
performance score, total blocking time, the DOM size it counted and the largest contentful paint,
then the medians.
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

import redis
from playwright.sync_api import sync_playwright

from tests.e2e.stack import grand_showtime_path, running_stack, sign_in

CHROMIUM = "/usr/bin/chromium"
CHROME_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]
VIEWPORTS = {"desktop": (1366, 900), "phone": (390, 844)}
COUNT = """() => ({
    elements: document.getElementsByTagName('*').length,
    seats: document.querySelectorAll('#seatmap-rows .seat').length,
})"""


def count_elements(browser, base: str, path: str, *, user: str | None, shots: Path | None):
    """Each viewport's element and seat counts of the page, live, as `user` (or signed out)."""
    counts = {}
    for name, (width, height) in VIEWPORTS.items():
        context = browser.new_context(viewport={"width": width, "height": height})
        page = context.new_page()
        if user:
            sign_in(page, base=base, username=user, path=path)
        else:
            page.goto(base + path)
        page.wait_for_selector('[data-live-status="live"]')
        # The socket's full map comes first after connecting: wait until it has been applied.
        page.wait_for_selector("#seatmap-rows[data-v]", state="attached")
        counts[name] = page.evaluate(COUNT)
        if shots:
            who = user or "signed-out"
            page.screenshot(path=str(shots / f"grand-{who}-{width}.png"), full_page=True)
        context.close()
    return counts


def lighthouse(folder: Path, url: str, runs: int) -> list[dict]:
    """`runs` Lighthouse runs of `url` (mobile, its defaults): the figures of each."""
    results = []
    with tempfile.TemporaryDirectory() as tmp:
        for run in range(runs):
            output = Path(tmp) / f"run{run}.json"
            subprocess.run(
                [
                    str(folder / "node_modules" / ".bin" / "lighthouse"),
                    url,
                    "--quiet",
                    f"--chrome-flags={' '.join(CHROME_FLAGS)}",
                    "--output=json",
                    f"--output-path={output}",
                ],
                env={**os.environ, "CHROME_PATH": CHROMIUM},
                check=True,
            )
            report = json.loads(output.read_text())
            audits = report["audits"]
            results.append(
                {
                    "performance": round(report["categories"]["performance"]["score"] * 100),
                    "accessibility": round(report["categories"]["accessibility"]["score"] * 100),
                    "tbt_ms": round(audits["total-blocking-time"]["numericValue"]),
                    "dom": round(audits["dom-size"]["numericValue"]),
                    "lcp_ms": round(audits["largest-contentful-paint"]["numericValue"]),
                }
            )
            print(f"lighthouse run {run + 1}: {results[-1]}", flush=True)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--screenshots", type=Path, help="save a PNG of each view here")
    parser.add_argument("--lighthouse", type=Path, help="a folder with lighthouse in node_modules")
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    if args.screenshots:
        args.screenshots.mkdir(parents=True, exist_ok=True)
    redis_url = os.environ.get("REDIS_URL", "redis://127.0.0.1:6379/9")
    redis.Redis.from_url(redis_url).flushdb()
    with running_stack(redis_url=redis_url, production=True) as (base,):
        path = grand_showtime_path(base)
        print(f"{base}{path}")
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROME_FLAGS)
            for user in (None, "alice"):
                counts = count_elements(browser, base, path, user=user, shots=args.screenshots)
                for name, figures in counts.items():
                    print(
                        f"{user or 'signed out':10s} {name:7s} {figures['elements']:5d} elements,"
                        f" {figures['seats']} seats",
                        flush=True,
                    )
            browser.close()
        if args.lighthouse:
            results = lighthouse(args.lighthouse, base + path, args.runs)
            medians = {key: statistics.median(r[key] for r in results) for key in results[0]}
            print(f"lighthouse median of {len(results)}: {medians}")


if __name__ == "__main__":
    main()
