"""Fixtures shared by every app's tests."""

import pytest

from accounts.models import Role
from accounts.tests.factories import AgentFactory, CustomerFactory, ManagerFactory, UserFactory
from queues.tests.factories import LineFactory


@pytest.fixture
def line(db):
    return LineFactory(code="first-line", name="First line", level=1)


@pytest.fixture
def customer(db):
    return CustomerFactory(username="customer-a")


@pytest.fixture
def agent(db, line):
    user = AgentFactory(username="agent-a")
    line.memberships.create(user=user)
    return user


@pytest.fixture
def manager(db):
    return ManagerFactory(username="manager-a")


@pytest.fixture
def users_by_role(db, customer, agent, manager):
    return {
        Role.CUSTOMER: customer,
        Role.AGENT: agent,
        Role.MANAGER: manager,
        Role.QUALITY: UserFactory(username="quality-a", role=Role.QUALITY),
        Role.ADMIN: UserFactory(username="admin-a", role=Role.ADMIN, is_staff=True, is_superuser=True),
    }
