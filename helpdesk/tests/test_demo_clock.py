"""The demo looks alive: nothing it writes happened after the moment it was loaded."""

import io

import pytest
from django.apps import apps
from django.core.management import call_command
from django.db import models
from django.utils import timezone

pytestmark = pytest.mark.django_db

# Moments that are meant to lie ahead: deadlines, reminders, planned work, expiry.
AHEAD = {
    ("tickets", "ticket"): {
        "first_response_due", "first_response_warn_at", "next_response_due", "next_response_warn_at",
        "resolution_due", "resolution_warn_at", "sla_next_check_at", "promised_by",
    },
    ("status", "maintenance"): {"starts_at", "ends_at"},
    ("accounts", "apitoken"): {"expires_at"},
    ("tickets", "eventoutbox"): {"next_attempt_at"},
    ("quality", "rating"): {"changeable_until"},
}  # fmt: skip


def test_the_demo_loaded_today_writes_no_moment_after_now():
    before = timezone.now()
    call_command("load_demo", customers=40, months=1, per_month=900, until=timezone.localdate(), stdout=io.StringIO())
    now = timezone.now()
    checked, future = 0, []
    for model in apps.get_models():
        key = (model._meta.app_label, model._meta.model_name)
        for field in model._meta.concrete_fields:
            if not isinstance(field, models.DateTimeField) or field.name in AHEAD.get(key, set()):
                continue
            rows = model._default_manager.filter(**{f"{field.name}__gt": now})
            checked += 1
            if rows.exists():
                latest = rows.order_by(f"-{field.name}").values_list(field.name, flat=True).first()
                future.append(f"{model._meta.label}.{field.name}: {latest.isoformat()}")
    assert checked > 40
    assert future == [], f"after {now.isoformat()} (load started {before.isoformat()})"
    # And the demo did write today's requests, up to a few minutes ago (its own customer's among them).
    Ticket = apps.get_model("tickets", "Ticket")
    assert (now - Ticket.objects.latest("created_at").created_at).total_seconds() < 3 * 3600
