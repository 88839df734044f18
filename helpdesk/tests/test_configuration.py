"""One way to configure the helpdesk: the settings modules read the environment, the code reads
the settings (docs/configuration.md)."""

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

BASE_DIR = Path(__file__).resolve().parents[2]
PROJECT_PACKAGES = [
    "helpdesk",
    "accounts",
    "tickets",
    "queues",
    "sla",
    "knowledge",
    "notifications",
    "mailin",
    "chat",
    "shifts",
    "status",
]
# Processes that start Django (they pick the settings module) and the development supervisor,
# which hands its own environment to the processes it starts.
MAY_READ_THE_ENVIRONMENT = {
    "helpdesk/asgi.py",
    "helpdesk/celery.py",
    "helpdesk/embedded.py",
}


def _project_modules():
    for package in PROJECT_PACKAGES:
        for path in sorted((BASE_DIR / package).rglob("*.py")):
            relative = path.relative_to(BASE_DIR).as_posix()
            parts = set(path.relative_to(BASE_DIR).parts)
            if parts & {"tests", "migrations"} or relative.startswith("helpdesk/settings/"):
                continue
            yield relative, ast.parse(path.read_text(), filename=relative)


def _name(node) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_name(node.value)}.{node.attr}"
    return ""


def test_only_the_settings_read_the_environment_and_nobody_guesses_a_default():
    found = []
    for relative, tree in _project_modules():
        for node in ast.walk(tree):
            reads_environment = isinstance(node, ast.Attribute) and _name(node) in ("os.environ", "os.getenv")
            if reads_environment and relative not in MAY_READ_THE_ENVIRONMENT:
                found.append(f"{relative}:{node.lineno} reads {_name(node)}")
            if (
                isinstance(node, ast.Call)
                and _name(node.func) == "getattr"
                and len(node.args) == 3
                and _name(node.args[0]) == "settings"
            ):
                found.append(f"{relative}:{node.lineno} getattr(settings, ..., default)")
    assert found == [], "read settings.NAME, with its default in helpdesk/settings/base.py:\n" + "\n".join(found)


def _settings(module: str, names: list[str], **env: str) -> list[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "HELPDESK_"))}
    clean.update(env, DJANGO_SETTINGS_MODULE=module)
    code = "import django; django.setup(); from django.conf import settings; " + "; ".join(
        f"print(settings.{name})" for name in names
    )
    result = subprocess.run(
        [sys.executable, "-c", code], env=clean, cwd=BASE_DIR, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


@pytest.mark.slow  # a fresh interpreter
def test_settings_take_their_helpdesk_variables_from_the_environment():
    values = _settings(
        "helpdesk.settings.test",
        ["INBOUND_TOKEN", "MESSAGE_ID_DOMAIN", "REPLY_ADDRESS_LOCAL_PART", "OUTBOX_MAX_ATTEMPTS", "SITE_URL"],
        HELPDESK_INBOUND_TOKEN="from-env",
        HELPDESK_MESSAGE_ID_DOMAIN=".Mail.Hosting.Example",
        HELPDESK_REPLY_ADDRESS_LOCAL_PART="help",
        HELPDESK_OUTBOX_MAX_ATTEMPTS="4",
        HELPDESK_SITE_URL="https://support.example.net",
    )
    assert values == ["from-env", "mail.hosting.example", "help", "4", "https://support.example.net"]


@pytest.mark.slow  # fresh interpreters
def test_the_embedded_servers_file_is_read_in_development_and_tests_never_in_production(tmp_path):
    (tmp_path / "services.env").write_text("HELPDESK_SITE_URL=https://left-behind.example\n")
    for module in ("helpdesk.settings.local", "helpdesk.settings.test"):
        assert _settings(module, ["SITE_URL"], HELPDESK_DATA_DIR=str(tmp_path)) == ["https://left-behind.example"]
    production = _settings(
        "helpdesk.settings.production",
        ["SITE_URL"],
        HELPDESK_DATA_DIR=str(tmp_path),
        DJANGO_SECRET_KEY="k" * 50,
        HELPDESK_SECRET_ENCRYPTION_KEYS="dGVzdC1zdWl0ZS1rZXktbm90LWEtc2VjcmV0LTAwMDA=",
    )
    assert production == ["http://127.0.0.1:8000"]
    # What the environment sets wins over the file.
    assert _settings(
        "helpdesk.settings.local",
        ["SITE_URL"],
        HELPDESK_DATA_DIR=str(tmp_path),
        HELPDESK_SITE_URL="https://env.example",
    ) == ["https://env.example"]
