"""The compose file and .env.example stay in step with the settings (no Docker engine here)."""

import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]


def _names_read_by(path: Path) -> set[str]:
    readers = r"env_bool|env_int|env_float|env_list|os\.environ\.get"
    return set(re.findall(rf'(?:{readers})\(\s*"([A-Z_]+)"', path.read_text()))


def _documented() -> set[str]:
    lines = (ROOT / ".env.example").read_text().splitlines()
    return {line.split("=", 1)[0] for line in lines if re.match(r"^[A-Z_]+=", line)}


def test_every_setting_read_from_the_environment_is_documented():
    read = _names_read_by(ROOT / "config" / "settings.py") | _names_read_by(
        ROOT / "config" / "devstack.py"
    )
    missing = read - _documented()
    assert not missing, f".env.example lacks {sorted(missing)}"


def test_compose_file_runs_the_whole_stack_on_one_image():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    assert {"db", "redis", "web", "sweeper", "notifier"} <= set(services)
    assert services["db"]["image"].startswith("postgres:17")
    assert services["redis"]["image"].startswith("redis:7")
    for name in ("web", "sweeper", "notifier"):
        service = services[name]
        assert service["build"]["context"] == "."
        assert "profiles" not in service, f"{name} must start with a plain `docker compose up`"
        assert service["env_file"] == ".env"
        assert service["environment"]["DATABASE_URL"].startswith("postgres://")
        assert service["environment"]["REDIS_URL"].startswith("redis://redis:")
    assert services["web"]["depends_on"]["db"]["condition"] == "service_healthy"
    assert services["web"]["depends_on"]["redis"]["condition"] == "service_healthy"
    assert "migrate" in services["web"]["command"]
    assert services["sweeper"]["command"][-1] == "sweep_holds"
    assert services["notifier"]["command"][-1] == "run_notifier"
    assert all("healthcheck" in services[name] for name in ("db", "redis"))
