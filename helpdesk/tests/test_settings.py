"""Settings per environment, checked in fresh interpreters as a deployment would load them."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

# Each test loads the settings in a fresh interpreter.
pytestmark = pytest.mark.slow

BASE_DIR = Path(__file__).resolve().parents[2]
GOOD_KEY = "k" * 50
FERNET_KEY = "dGVzdC1zdWl0ZS1rZXktbm90LWEtc2VjcmV0LTAwMDA="


def load_settings(module: str, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    clean.update(env, DJANGO_SETTINGS_MODULE=module)
    code = "import django; django.setup(); from django.conf import settings; print(settings.DEBUG)"
    return subprocess.run(
        [sys.executable, "-c", code], env=clean, cwd=BASE_DIR, capture_output=True, text=True, timeout=60
    )


def test_production_refuses_to_start_without_a_secret_key():
    result = load_settings("helpdesk.settings.production")
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set" in result.stderr


def test_production_refuses_a_short_secret_key():
    result = load_settings("helpdesk.settings.production", DJANGO_SECRET_KEY="short")
    assert result.returncode != 0
    assert "at least 32 characters" in result.stderr


def test_production_refuses_debug():
    result = load_settings(
        "helpdesk.settings.production",
        DJANGO_SECRET_KEY=GOOD_KEY,
        DJANGO_DEBUG="true",
        HELPDESK_SECRET_ENCRYPTION_KEYS=FERNET_KEY,
    )
    assert result.returncode != 0
    assert "DJANGO_DEBUG must be off" in result.stderr


def test_production_refuses_to_start_without_encryption_keys_for_access_data():
    result = load_settings("helpdesk.settings.production", DJANGO_SECRET_KEY=GOOD_KEY)
    assert result.returncode != 0
    assert "HELPDESK_SECRET_ENCRYPTION_KEYS must be set" in result.stderr


def test_production_starts_with_a_secret_key_and_debug_off():
    result = load_settings(
        "helpdesk.settings.production", DJANGO_SECRET_KEY=GOOD_KEY, HELPDESK_SECRET_ENCRYPTION_KEYS=FERNET_KEY
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_local_settings_run_without_debug_unless_asked():
    # `make run` shows the product's own error pages, not Django's debug pages with the URL list.
    result = load_settings("helpdesk.settings.local")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"
    result = load_settings("helpdesk.settings.local", DJANGO_DEBUG="true")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "True"


def test_production_tells_browsers_to_keep_to_https_for_a_year():
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "print(settings.SECURE_HSTS_SECONDS, settings.SECURE_HSTS_INCLUDE_SUBDOMAINS)"
    )
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    clean.update(
        DJANGO_SETTINGS_MODULE="helpdesk.settings.production",
        DJANGO_SECRET_KEY=GOOD_KEY,
        HELPDESK_SECRET_ENCRYPTION_KEYS=FERNET_KEY,
    )
    result = subprocess.run(
        [sys.executable, "-c", code], env=clean, cwd=BASE_DIR, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["31536000", "True"]


def test_database_and_redis_come_from_the_environment():
    code = (
        "import django; django.setup(); from django.conf import settings; "
        "d = settings.DATABASES['default']; print(d['HOST'], d['PORT'], d['NAME'], settings.REDIS_URL)"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env.update(
        DJANGO_SETTINGS_MODULE="helpdesk.settings.local",
        DATABASE_URL="postgres://u:p@db.internal:6543/support",
        REDIS_URL="redis://cache.internal:6380/2",
    )
    result = subprocess.run([sys.executable, "-c", code], env=env, cwd=BASE_DIR, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["db.internal", "6543", "support", "redis://cache.internal:6380/2"]


@pytest.mark.parametrize("module", ["helpdesk.settings.local", "helpdesk.settings.test"])
def test_development_settings_have_no_production_secret(module):
    result = load_settings(module, DJANGO_SECRET_KEY="")
    assert result.returncode == 0, result.stderr
