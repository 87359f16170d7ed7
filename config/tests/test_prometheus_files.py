"""deploy/prometheus: Prometheus's own checker accepts the config and the rules, the alerts' unit
tests pass (deploy/prometheus/tests), and the compose service scrapes every web node and every
PostgreSQL node's Patroni."""

import shutil
import subprocess

import pytest
import yaml

from config.tests.test_deployment_files import ROOT

PROMETHEUS = ROOT / "deploy" / "prometheus"
PROMTOOL = shutil.which("promtool")

pytestmark = pytest.mark.skipif(not PROMTOOL, reason="promtool (Debian: prometheus) is missing")


def _promtool(*args: str, cwd=PROMETHEUS) -> str:
    done = subprocess.run([PROMTOOL, *args], cwd=cwd, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout + done.stderr


def test_the_config_and_its_rules_pass_promtools_checks(tmp_path):
    # The token file is the compose service's to write; a stand-in beside a copy of the config.
    config = tmp_path / "prometheus"
    shutil.copytree(PROMETHEUS, config)
    (config / "metrics-token").write_text("stand-in")
    checked = _promtool("check", "config", "prometheus.yml", cwd=config)
    assert "SUCCESS" in checked and "rules/cinema.yml" in checked
    assert "SUCCESS" in _promtool("check", "rules", *sorted(str(p) for p in config.glob("rules/*")))


def test_every_alert_has_a_unit_test_and_they_pass():
    tests = sorted(str(path) for path in (PROMETHEUS / "tests").glob("*.yml"))
    assert "SUCCESS" in _promtool("test", "rules", *tests)
    alerts = {
        rule["alert"]
        for path in PROMETHEUS.glob("rules/*.yml")
        for group in yaml.safe_load(path.read_text())["groups"]
        for rule in group["rules"]
        if "alert" in rule
    }
    tested = {
        case["alertname"]
        for path in (PROMETHEUS / "tests").glob("*.yml")
        for test in yaml.safe_load(path.read_text())["tests"]
        for case in test.get("alert_rule_test", [])
        if case.get("exp_alerts")
    }
    assert alerts == tested, f"alerts never seen firing in a test: {sorted(alerts - tested)}"


def test_the_compose_prometheus_scrapes_every_web_node_and_patroni_of_the_scale_profile():
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    nodes = {
        f"{name}:8000"
        for name, service in services.items()
        if name == "web" or service.get("command") == services["web-2"]["command"]
    }
    patronis = {
        f"{name}:8008"
        for name, service in services.items()
        if service.get("build") == services["pg-1"]["build"]
    }
    config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text())
    targets = {
        job["job_name"]: {target for each in job["static_configs"] for target in each["targets"]}
        for job in config["scrape_configs"]
    }
    assert targets["cinema"] == nodes == {"web:8000", "web-2:8000", "web-3:8000"}
    assert targets["patroni"] == patronis == {"pg-1:8008", "pg-2:8008", "pg-3:8008"}
    prometheus = services["prometheus"]
    assert "scale" in prometheus["profiles"]
    mounted = {volume.split(":")[0] for volume in prometheus["volumes"]}
    assert {"./deploy/prometheus/prometheus.yml", "./deploy/prometheus/rules"} <= mounted
