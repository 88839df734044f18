import pytest
from django.urls import reverse

from knowledge.tests.helpers import form_data
from queues.models import RoutingRule


@pytest.fixture(autouse=True)
def routing(line):
    from django.core.cache import cache

    from helpdesk.celery import app

    RoutingRule.objects.create(category="general", line=line)
    cache.clear()
    eager = app.conf.task_always_eager
    app.conf.task_always_eager = True  # the follow-link mail runs in-process here
    yield
    app.conf.task_always_eager = eager


@pytest.fixture
def submit(client, django_capture_on_commit_callbacks):
    """Send the contact form (`using`: another client); what the page leaves to run after the
    commit (the follow-link mail) runs too."""

    def send(*, using=None, **overrides):
        with django_capture_on_commit_callbacks(execute=True):
            return (using or client).post(reverse("contact"), form_data(**overrides))

    return send
