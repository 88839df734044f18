"""docker-compose.yml and the Dockerfile describe the five services of a deployment."""

import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

BASE_DIR = Path(__file__).resolve().parents[1]
SERVICES = {"postgres", "redis", "web", "worker", "beat"}


@pytest.fixture(scope="module")
def compose():
    return yaml.safe_load((BASE_DIR / "docker-compose.yml").read_text())


def test_compose_has_the_five_services_each_with_a_health_check(compose):
    assert set(compose["services"]) == SERVICES
    for name, service in compose["services"].items():
        assert service.get("healthcheck", {}).get("test"), f"{name} has no health check"


def test_app_services_build_from_the_dockerfile_and_wait_for_healthy_servers(compose):
    for name in ("web", "worker", "beat"):
        service = compose["services"][name]
        assert service["build"] == "."
        assert service["depends_on"] == {
            "postgres": {"condition": "service_healthy"},
            "redis": {"condition": "service_healthy"},
        }
        assert "DJANGO_SECRET_KEY" in service["environment"]
    assert "celery" in compose["services"]["worker"]["command"]
    assert "beat" in compose["services"]["beat"]["command"]
    assert "uvicorn" in " ".join(compose["services"]["web"]["command"])


def test_dockerfile_runs_production_settings_as_an_unprivileged_user():
    dockerfile = (BASE_DIR / "Dockerfile").read_text()
    assert "FROM python:3.11" in dockerfile
    assert "DJANGO_SETTINGS_MODULE=helpdesk.settings.production" in dockerfile
    assert "\nUSER helpdesk\n" in dockerfile
    assert "HEALTHCHECK" in dockerfile


def compose_command() -> list[str] | None:
    if shutil.which("docker-compose"):
        return ["docker-compose"]
    if shutil.which("docker"):
        probe = subprocess.run(["docker", "compose", "version"], capture_output=True)
        if probe.returncode == 0:
            return ["docker", "compose"]
    return None


@pytest.mark.skipif(compose_command() is None, reason="no docker compose client on this machine (CI installs one)")
def test_compose_file_is_valid_for_the_compose_client():
    env = {**os.environ, "DJANGO_SECRET_KEY": "x" * 50, "HELPDESK_SECRET_ENCRYPTION_KEYS": "k"}
    result = subprocess.run([*compose_command(), "config", "-q"], cwd=BASE_DIR, env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    missing = {k: v for k, v in env.items() if k != "DJANGO_SECRET_KEY"}
    refused = subprocess.run(
        [*compose_command(), "config", "-q"], cwd=BASE_DIR, env=missing, capture_output=True, text=True
    )
    assert refused.returncode != 0
    assert "DJANGO_SECRET_KEY" in refused.stderr
