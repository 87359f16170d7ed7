"""The compose file and .env.example stay in step with the settings (no Docker engine here)."""

import re
from pathlib import Path

import yaml

from audit.workers import KINDS
from config.devstack import WORKERS

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
    assert {"db", "redis", "web", "sweeper", "notifier", "waiting-room", "webhooks"} <= set(
        services
    )
    assert services["db"]["image"].startswith("postgres:17")
    assert services["redis"]["image"].startswith("redis:7")
    for name in ("web", "sweeper", "notifier", "waiting-room", "webhooks"):
        service = services[name]
        assert service["build"]["context"] == "."
        assert "profiles" not in service, f"{name} must start with a plain `docker compose up`"
        assert service["env_file"] == ".env"
        # `${SCALE_DATABASE_URL:-...}`: the scale profile's Patroni nodes, else the one `db`.
        database_url = service["environment"]["DATABASE_URL"]
        assert database_url.startswith("${SCALE_DATABASE_URL:-postgres://cinema:cinema@db:5432/")
        assert service["environment"]["REDIS_URL"].startswith("redis://redis:")
    assert services["web"]["depends_on"]["db"]["condition"] == "service_healthy"
    assert services["web"]["depends_on"]["redis"]["condition"] == "service_healthy"
    assert "migrate" in services["web"]["command"]
    assert services["sweeper"]["command"][-1] == "sweep_holds"
    assert services["notifier"]["command"][-1] == "run_notifier"
    assert services["waiting-room"]["command"][-1] == "run_waiting_room"
    assert services["webhooks"]["command"][-1] == "run_webhooks"
    assert all("healthcheck" in services[name] for name in ("db", "redis"))


def test_compose_and_make_run_start_every_kind_of_worker_health_reports():
    services = yaml.safe_load((ROOT / "docker-compose.yml").read_text())["services"]
    composed = {
        tuple(service["command"][2:])
        for service in services.values()
        if "profiles" not in service and service.get("command", [""])[0] == "python"
    }
    assert composed == {tuple(args) for _name, args in WORKERS}
    assert len(WORKERS) == len(KINDS)


def test_the_scale_profile_puts_three_web_nodes_behind_haproxy_on_a_redis_cluster():
    compose = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    services = compose["services"]
    scale = {name for name, service in services.items() if "scale" in service.get("profiles", [])}
    assert {"web-2", "web-3", "lb", "redis-cluster", "sweeper-2", "notifier-2"} <= scale
    nodes = [f"redis-node-{n}" for n in range(1, 7)]
    for name in nodes:
        assert name in scale and "--cluster-enabled" in services[name]["command"]
    lb = services["lb"]
    assert lb["image"].startswith("haproxy:")
    assert "./deploy/haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro" in lb["volumes"]
    config = (ROOT / "deploy" / "haproxy.cfg").read_text()
    for variable, address in lb["environment"].items():
        assert "${" + variable + "}" in config
        host = address.split(":")[0]
        if variable.startswith("WEB"):
            # Each is a web node: the image's daphne, told to read X-Forwarded-For.
            assert host in services and "DAPHNE_OPTIONS" in services[host]["command"], host
    assert "redis-cli --cluster create" in services["redis-cluster"]["command"][-1]
    # What the top of the file tells to put in .env names these services.
    top = (ROOT / "docker-compose.yml").read_text().split("services:")[0]
    for host in re.findall(r"redis://([a-z0-9-]+):", top):
        assert host in services, host
    assert "DAPHNE_OPTIONS=--proxy-headers" in top
