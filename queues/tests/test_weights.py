"""A customer's weight: each part of the head start and the bound on their sum."""

import datetime as dt
from decimal import Decimal

import pytest
from django.core.cache import cache

from accounts.models import CustomerProfile, Plan
from accounts.tests.factories import CustomerFactory, PlanFactory
from queues.models import QueuePolicy
from queues.policy import customer_weight, plan_average_requests

TODAY = dt.date(2026, 3, 2)
DAYS_PER_YEAR = 365.25


def years_ago(years: float) -> dt.date:
    return TODAY - dt.timedelta(days=round(years * DAYS_PER_YEAR))


def profile(**fields) -> CustomerProfile:
    """An unsaved profile: the weight is computed without the database."""
    plan_level = fields.pop("plan_level", None)
    values = {"customer_since": TODAY, "spend_12m": Decimal(0), "requests_12m": 0} | fields
    result = CustomerProfile(**values)
    if plan_level is not None:
        result.support_plan = Plan(id=1000 + plan_level, code=f"level-{plan_level}", level=plan_level)
    return result


def weigh(customer_profile=None, *, urgency="normal", plan_average=0.0, policy=None):
    return customer_weight(
        profile=customer_profile,
        urgency=urgency,
        policy=policy or QueuePolicy(),
        today=TODAY,
        plan_average=plan_average,
    )


@pytest.fixture
def local_cache(settings):
    """A private cache, so a plan's cached average from another test cannot leak in."""
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "weights"}}
    cache.clear()
    yield
    cache.clear()


# --- tenure --------------------------------------------------------------------------


def test_tenure_earns_minutes_per_year_as_a_customer():
    assert weigh(profile(customer_since=years_ago(3))).parts["tenure"] == 3 * 6


def test_tenure_is_counted_up_to_max_tenure_years():
    policy = QueuePolicy(max_tenure_years=10, minutes_per_year_of_tenure=6)
    assert weigh(profile(customer_since=years_ago(25)), policy=policy).parts["tenure"] == 60
    assert weigh(profile(customer_since=years_ago(10)), policy=policy).parts["tenure"] == 60


def test_a_new_customer_has_no_tenure_minutes():
    assert weigh(profile(customer_since=TODAY)).parts["tenure"] == 0


def test_a_customer_since_a_future_date_has_no_negative_tenure():
    assert weigh(profile(customer_since=TODAY + dt.timedelta(days=30))).parts["tenure"] == 0


# --- spend ---------------------------------------------------------------------------


def test_no_spend_earns_nothing():
    assert weigh(profile(spend_12m=Decimal(0))).parts["spend"] == 0


@pytest.mark.parametrize(
    ("spend", "minutes"),
    [(Decimal(9_000), 20), (Decimal(99_000), 40), (Decimal(999_000), 60)],
)
def test_spend_earns_the_same_minutes_for_every_tenfold(spend, minutes):
    assert weigh(profile(spend_12m=spend)).parts["spend"] == minutes


def test_spend_grows_slower_than_the_money():
    small = weigh(profile(spend_12m=Decimal(10_000))).parts["spend"]
    hundredfold = weigh(profile(spend_12m=Decimal(1_000_000))).parts["spend"]
    assert small < hundredfold < 100 * small


# --- frequency against the plan average ----------------------------------------------


def test_asking_half_as_often_as_the_plan_average_earns_one_step():
    # (4 + 1) / (9 + 1) = 1/2: one halving.
    assert weigh(profile(requests_12m=4), plan_average=9).parts["frequency"] == 10


def test_asking_twice_as_often_as_the_plan_average_costs_one_step():
    # (19 + 1) / (9 + 1) = 2: one doubling.
    assert weigh(profile(requests_12m=19), plan_average=9).parts["frequency"] == -10


def test_asking_as_often_as_the_plan_average_is_neutral():
    assert weigh(profile(requests_12m=9), plan_average=9).parts["frequency"] == 0


def test_rare_askers_gain_at_most_two_steps():
    assert weigh(profile(requests_12m=0), plan_average=999).parts["frequency"] == 20


def test_frequent_askers_lose_at_most_two_steps():
    assert weigh(profile(requests_12m=999), plan_average=9).parts["frequency"] == -20


def test_without_a_plan_average_frequency_is_not_counted():
    assert "frequency" not in weigh(profile(requests_12m=50), plan_average=0).parts


@pytest.mark.django_db
def test_the_plan_average_comes_from_customers_on_the_same_plan(local_cache):
    plan = PlanFactory(code="business", level=2)
    other_plan = PlanFactory(code="standard", level=1)
    for requests in (5, 13):  # average 9
        CustomerFactory(profile__support_plan=plan, profile__requests_12m=requests)
    CustomerFactory(profile__support_plan=other_plan, profile__requests_12m=500)
    asker = CustomerFactory(profile__support_plan=plan, profile__requests_12m=9).customer_profile
    # Three customers on the plan: (5 + 13 + 9) / 3 = 9.
    assert plan_average_requests(plan.id) == 9.0
    weight = customer_weight(profile=asker, urgency="normal", policy=QueuePolicy(), today=TODAY)
    assert weight.parts["frequency"] == 0


# --- flags, plan and urgency ---------------------------------------------------------


def test_vip_adds_its_bonus():
    assert weigh(profile(is_vip=True)).parts["vip"] == 60
    assert "vip" not in weigh(profile()).parts


def test_problematic_subtracts_its_penalty():
    assert weigh(profile(is_problematic=True)).parts["problematic"] == -60
    assert "problematic" not in weigh(profile()).parts


@pytest.mark.parametrize(("level", "minutes"), [(0, 0), (1, 20), (3, 60)])
def test_the_support_plan_adds_minutes_per_level(level, minutes):
    assert weigh(profile(plan_level=level)).parts["plan"] == minutes


def test_a_customer_without_a_support_plan_gets_no_plan_minutes():
    assert "plan" not in weigh(profile()).parts


@pytest.mark.parametrize(("urgency", "minutes"), [("high", 30), ("critical", 120)])
def test_urgency_adds_its_minutes(urgency, minutes):
    assert weigh(profile(), urgency=urgency).parts["urgency"] == minutes


def test_normal_urgency_adds_nothing():
    assert "urgency" not in weigh(profile(), urgency="normal").parts


def test_a_ticket_without_a_customer_profile_is_weighed_by_urgency_only():
    weight = weigh(None, urgency="critical")
    assert weight.parts == {"urgency": 120}
    assert weight.credit_minutes == 120


def test_policy_values_are_used_for_every_part():
    policy = QueuePolicy(
        minutes_per_year_of_tenure=1,
        minutes_per_spend_decade=2,
        minutes_per_frequency_step=3,
        vip_minutes=4,
        minutes_per_plan_level=5,
        high_urgency_minutes=6,
        max_credit_minutes=1000,
    )
    customer = profile(customer_since=years_ago(2), spend_12m=Decimal(9_000), requests_12m=4, is_vip=True, plan_level=2)
    weight = weigh(customer, urgency="high", plan_average=9, policy=policy)
    assert weight.parts == {"tenure": 2, "spend": 2, "frequency": 3, "vip": 4, "plan": 10, "urgency": 6}
    assert weight.credit_minutes == 27


# --- the sum and its bound -----------------------------------------------------------


def test_credit_is_the_sum_of_the_parts():
    customer = profile(customer_since=years_ago(3), spend_12m=Decimal(9_000), plan_level=1)
    weight = weigh(customer, urgency="high")
    assert weight.parts == {"tenure": 18, "spend": 20, "plan": 20, "urgency": 30}
    assert weight.credit_minutes == 88


def test_credit_never_goes_below_zero():
    weight = weigh(profile(is_problematic=True, requests_12m=999), plan_average=9)
    assert sum(weight.parts.values()) < 0
    assert weight.credit_minutes == 0


def test_credit_never_exceeds_the_starvation_bound():
    policy = QueuePolicy(max_credit_minutes=240)
    customer = profile(
        customer_since=years_ago(30),
        spend_12m=Decimal(50_000_000),
        requests_12m=0,
        is_vip=True,
        plan_level=3,
    )
    weight = weigh(customer, urgency="critical", plan_average=100, policy=policy)
    assert sum(weight.parts.values()) > 240
    assert weight.credit_minutes == 240
    assert weight.max_credit_minutes == 240


def test_a_lower_bound_caps_the_credit_lower():
    weight = weigh(profile(is_vip=True), urgency="critical", policy=QueuePolicy(max_credit_minutes=90))
    assert weight.credit_minutes == 90


def test_a_loyal_valuable_vip_gets_more_credit_than_a_new_problematic_customer():
    loyal = profile(
        customer_since=years_ago(8),
        spend_12m=Decimal(500_000),
        requests_12m=3,
        is_vip=True,
        plan_level=3,
    )
    difficult = profile(customer_since=TODAY, spend_12m=Decimal(500), requests_12m=40, is_problematic=True)
    loyal_weight = weigh(loyal, plan_average=10)
    difficult_weight = weigh(difficult, plan_average=10)
    assert loyal_weight.credit_minutes > difficult_weight.credit_minutes
    assert loyal_weight.credit_minutes >= 200
    assert difficult_weight.credit_minutes == 0
