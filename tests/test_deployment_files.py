"""docker-compose.yml and the Dockerfile describe the five services of a deployment."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.deployment import compose_web_command, dockerfile_web_command, forwarded_allow_ips, uvicorn_argv

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


@pytest.mark.slow  # the compose client
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


# --- forwarded headers: believed only from HELPDESK_TRUSTED_PROXIES --------------------------

WEB_COMMANDS = {"Dockerfile": dockerfile_web_command, "docker-compose.yml": compose_web_command}


@pytest.mark.parametrize("source", sorted(WEB_COMMANDS))
def test_uvicorn_trusts_forwarded_headers_only_from_the_configured_proxies(source):
    command = WEB_COMMANDS[source]()
    env = {"HELPDESK_TRUSTED_PROXIES": "10.0.0.2,192.0.2.0/24"}
    argv = uvicorn_argv(command, env)
    assert argv[0] == "helpdesk.asgi:application"
    assert "--proxy-headers" in argv
    assert forwarded_allow_ips(argv, env) == "10.0.0.2,192.0.2.0/24"


@pytest.mark.parametrize("source", sorted(WEB_COMMANDS))
def test_uvicorn_trusts_only_loopback_when_no_proxy_is_configured(source):
    argv = uvicorn_argv(WEB_COMMANDS[source]())
    assert forwarded_allow_ips(argv) == "127.0.0.1"
    assert "*" not in " ".join(argv)


def test_compose_passes_the_trusted_proxies_to_the_app_never_a_wildcard(compose):
    for name in ("web", "worker", "beat"):
        value = compose["services"][name]["environment"]["HELPDESK_TRUSTED_PROXIES"]
        assert value == "${HELPDESK_TRUSTED_PROXIES:-127.0.0.1}"
    assert "'*'" not in (BASE_DIR / "docker-compose.yml").read_text()
    assert '"*"]' not in (BASE_DIR / "Dockerfile").read_text()


@pytest.mark.slow  # a fresh interpreter
def test_settings_refuse_a_wildcard_of_trusted_proxies():
    env = {**os.environ, "HELPDESK_TRUSTED_PROXIES": "10.0.0.2,*", "DJANGO_SETTINGS_MODULE": "helpdesk.settings.test"}
    result = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"], cwd=BASE_DIR, env=env, capture_output=True, text=True
    )
    assert result.returncode != 0
    assert "HELPDESK_TRUSTED_PROXIES" in result.stderr
    assert "ImproperlyConfigured" in result.stderr
