"""A real Prometheus (Debian's /usr/bin/prometheus) on loopback scraping the scale stack's web
nodes (and, on a Patroni cluster, each node's REST API) every second with deploy/prometheus's
rules, its storage in a temporary directory; read through its HTTP query API, as an operator's
dashboard would."""

import shutil
import subprocess
import tempfile
import time
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

import requests
import yaml

from tests.e2e.stack import ROOT, free_port

RULES = ROOT / "deploy" / "prometheus" / "rules"


@dataclass
class Prometheus:
    url: str

    def query(self, expr: str) -> float | None:
        """The value of an expression giving one number now (None: no series)."""
        response = requests.get(f"{self.url}/api/v1/query", params={"query": expr}, timeout=5)
        response.raise_for_status()
        result = response.json()["data"]["result"]
        assert len(result) <= 1, (expr, result)
        return float(result[0]["value"][1]) if result else None

    def by_instance(self, expr: str) -> dict[str, float]:
        """An expression's values now, by their `instance` label."""
        response = requests.get(f"{self.url}/api/v1/query", params={"query": expr}, timeout=5)
        response.raise_for_status()
        result = response.json()["data"]["result"]
        return {each["metric"]["instance"]: float(each["value"][1]) for each in result}

    def scraped_after(self, moment: float) -> bool:
        """Whether every target has been scraped since `moment` (time.time())."""
        response = requests.get(f"{self.url}/api/v1/targets", timeout=5)
        targets = response.json()["data"]["activeTargets"]
        return bool(targets) and all(
            target["health"] == "up" and _seconds(target["lastScrape"]) > moment
            for target in targets
        )

    def figures(self) -> dict[str, float]:
        """The cluster's totals, from a scrape of every node begun after this call."""
        asked = time.time()
        deadline = time.monotonic() + 15
        while not self.scraped_after(asked) and time.monotonic() < deadline:
            time.sleep(0.2)
        return {name: self.query(f"sum({expr}) or vector(0)") for name, expr in FIGURES.items()}


# What the buyers' own count is checked against.
FIGURES = {
    "nodes_up": 'up{job="cinema"}',
    "held": 'cinema_holds_total{outcome="held"}',
    "hold_views": "cinema_hold_seconds_count",
    "server_errors": 'cinema_http_responses_total{status=~"5..",status!="503"}',
    "status_503": 'cinema_http_responses_total{status="503"}',
    "overloaded": "cinema_overload_responses_total",
    "try_again": 'cinema_overload_responses_total{kind="outages"}',
}


def _seconds(rfc3339: str) -> float:
    return datetime.fromisoformat(rfc3339.replace("Z", "+00:00")).timestamp()


@contextmanager
def prometheus_server(nodes: list[str], token: str, *, patroni: list[str] = ()):
    """Prometheus scraping `nodes` (base URLs), and the Patroni REST APIs at `patroni`
    (host:port), at 1 s with deploy/prometheus's rules; yields a Prometheus once it is ready and
    has scraped every target."""
    binary = shutil.which("prometheus") or "/usr/bin/prometheus"
    port = free_port()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        (home / "metrics-token").write_text(token)
        shutil.copytree(RULES, home / "rules")
        config = {
            "global": {"scrape_interval": "1s", "evaluation_interval": "1s"},
            "rule_files": ["rules/*.yml"],
            "scrape_configs": [
                {
                    "job_name": "cinema",
                    "scrape_timeout": "1s",
                    "authorization": {"credentials_file": "metrics-token"},
                    "static_configs": [{"targets": [urlsplit(node).netloc for node in nodes]}],
                }
            ],
        }
        if patroni:
            job = {"job_name": "patroni", "scrape_timeout": "1s"}
            config["scrape_configs"].append({**job, "static_configs": [{"targets": patroni}]})
        (home / "prometheus.yml").write_text(yaml.safe_dump(config))
        process = subprocess.Popen(
            [
                binary,
                f"--config.file={home / 'prometheus.yml'}",
                f"--storage.tsdb.path={home / 'data'}",
                f"--web.listen-address=127.0.0.1:{port}",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        server = Prometheus(f"http://127.0.0.1:{port}")
        try:
            began, deadline = time.time(), time.monotonic() + 30
            while time.monotonic() < deadline:
                if process.poll() is not None:
                    raise RuntimeError("prometheus did not start: `promtool check config`")
                try:
                    if server.scraped_after(began):
                        break
                except requests.RequestException:
                    pass
                time.sleep(0.3)
            else:
                raise RuntimeError("prometheus never scraped every node")
            yield server
        finally:
            process.terminate()
            process.wait(10)
