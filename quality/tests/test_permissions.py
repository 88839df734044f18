"""The quality desk's permission matrix, pages and API: an agent sees only the reviews of their
own work and never reviews themselves; quality reviewers and managers see everything; customers
rate only the replies on their own tickets; only managers settle disputes."""

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from quality import policy, services
from quality.models import QualitySettings, Rating
from tickets import services as ticket_services

pytestmark = pytest.mark.django_db
ROLES = ["owner", "other_customer", "agent", "other_agent", "reviewer", "manager"]
GOOD = {"correct": 4, "complete": 4, "tone": 4, "rules": 4}


@pytest.fixture
def matrix(world):
    """Agent ann's three replies on the owner's ticket, all disliked: the first reviewed, the
    second reviewed and disputed, the third waiting in the queue; a fourth reply not rated yet."""
    QualitySettings.objects.create(pk=1, like_sample_percent=0)
    ann, ticket = world["ann"], world["ticket"]
    third = ticket_services.message_add(ticket=ticket, author=ann, body="Third answer")
    fourth = ticket_services.message_add(ticket=ticket, author=ann, body="Fourth answer")
    ratings = [
        services.rating_give(message=message, customer=world["customer"], verdict="dislike", comment="Matrix comment")
        for message in (world["reply"], world["second"], third)
    ]
    reviewed = services.review_create(item=ratings[0].item, reviewer=world["reviewer"], **GOOD, rating_fair=False)
    disputed = services.review_create(item=ratings[1].item, reviewer=world["reviewer"], **GOOD, rating_fair=True)
    dispute = services.dispute_open(review=disputed, agent=ann, reason="The customer skipped my steps")
    users = {
        "owner": world["customer"],
        "other_customer": world["other_customer"],
        "agent": ann,
        "other_agent": world["bob"],
        "reviewer": world["reviewer"],
        "manager": world["manager"],
    }
    return {
        **world,
        "users": users,
        "ratings": ratings,
        "open_item": ratings[2].item,
        "unrated": fourth,
        "reviewed": reviewed,
        "disputed": disputed,
        "dispute": dispute,
    }


def api(user) -> APIClient:
    client = APIClient()
    client.force_authenticate(user)
    return client


def target(matrix, what):
    return {
        "rating": matrix["ratings"][0].id,
        "open_rating": matrix["ratings"][2].id,
        "reviewed": matrix["reviewed"].id,
        "disputed": matrix["disputed"].id,
        "dispute": matrix["dispute"].id,
        "item": matrix["open_item"].id,
    }[what]


# name, method, object, payload, expected per role (owner, other customer, the reviewed agent,
# another agent, quality reviewer, manager)
API_CASES = [
    ("quality-rating-list", "get", None, None, [200, 200, 200, 200, 200, 200]),
    ("quality-rating-detail", "get", "rating", None, [200, 404, 200, 404, 200, 200]),
    ("quality-rating-list", "post", None, {"message": "UNRATED", "verdict": "like"}, [201, 404, 404, 404, 404, 404]),
    ("quality-rating-detail", "patch", "open_rating", {"verdict": "like"}, [200, 404, 404, 404, 404, 404]),
    ("quality-queue-list", "get", None, None, [403, 403, 403, 403, 200, 200]),
    ("quality-queue-detail", "get", "item", None, [403, 403, 403, 403, 200, 200]),
    ("quality-review-detail", "get", "reviewed", None, [404, 404, 200, 404, 200, 200]),
    (
        "quality-review-list",
        "post",
        None,
        {"item": "ITEM", **GOOD, "rating_fair": True},
        [403, 403, 403, 403, 201, 201],
    ),
    ("quality-review-dispute", "post", "reviewed", {"reason": "Unfair"}, [404, 404, 201, 404, 404, 404]),
    ("quality-dispute-detail", "get", "dispute", None, [404, 404, 200, 404, 200, 200]),
    ("quality-dispute-settle", "post", "dispute", {"outcome": "upheld"}, [404, 404, 403, 404, 403, 200]),
    ("quality-calibration-list", "get", None, None, [403, 403, 403, 403, 200, 200]),
    ("quality-calibration-list", "post", None, {"item": "ITEM", "title": "Calibrate"}, [403, 403, 403, 403, 201, 201]),
    ("quality-results", "get", None, None, [403, 403, 200, 200, 200, 200]),
]


@pytest.mark.parametrize(("name", "method", "obj", "payload", "expected"), API_CASES)
@pytest.mark.parametrize("role", ROLES)
def test_api_matrix(matrix, name, method, obj, payload, expected, role):
    client = api(matrix["users"][role])
    url = reverse(f"api:{name}", args=[target(matrix, obj)] if obj else [])
    if payload:
        payload = {
            key: {"UNRATED": matrix["unrated"].id, "ITEM": matrix["open_item"].id}.get(value, value)
            if isinstance(value, str)
            else value
            for key, value in payload.items()
        }
    response = getattr(client, method)(url, payload, format="json") if payload else getattr(client, method)(url)
    assert response.status_code == expected[ROLES.index(role)], response.content[:300]
    if response.status_code >= 400:
        # A refusal tells nothing about the rating or the review.
        assert "Matrix comment" not in response.content.decode()


@pytest.mark.parametrize(
    ("role", "ratings", "reviews", "disputes"),
    [
        ("owner", 3, 0, 0),
        ("other_customer", 0, 0, 0),
        ("agent", 3, 2, 1),
        ("other_agent", 0, 0, 0),
        ("reviewer", 3, 2, 1),
        ("manager", 3, 2, 1),
    ],
)
def test_api_lists_show_only_what_the_caller_may_see(matrix, role, ratings, reviews, disputes):
    client = api(matrix["users"][role])
    assert client.get(reverse("api:quality-rating-list")).json()["count"] == ratings
    assert client.get(reverse("api:quality-review-list")).json()["count"] == reviews
    assert client.get(reverse("api:quality-dispute-list")).json()["count"] == disputes


def test_agents_see_only_their_own_results_and_reviewers_everyones(matrix):
    matrix["line"].memberships.create(user=matrix["manager"])
    other = ticket_services.message_add(ticket=matrix["ticket"], author=matrix["bob"], body="Bob's answer")
    services.rating_give(message=other, customer=matrix["customer"], verdict="like")
    rows = {role: api(matrix["users"][role]).get(reverse("api:quality-results")).json() for role in ROLES[2:]}
    assert [row["label"] for row in rows["agent"]] == ["Ann"]
    assert [row["label"] for row in rows["other_agent"]] == ["Bob"]
    assert sorted(row["label"] for row in rows["reviewer"]) == ["Ann", "Bob"]
    assert rows["manager"] == rows["reviewer"]
    ann = rows["agent"][0]
    # Three dislikes; the first was found unfair: one of them does not count, none is a like.
    assert (ann["ratings"], ann["likes"], ann["unfair_dislikes"], ann["adjusted_like_share"]) == (3, 0, 1, 0.0)
    assert ann["disputes_open"] == 1 and ann["quality_score"] == 75.0


def test_nobody_reviews_their_own_reply(matrix):
    manager_reply = ticket_services.message_add(ticket=matrix["ticket"], author=matrix["manager"], body="Manager here")
    item = services.rating_give(message=manager_reply, customer=matrix["customer"], verdict="dislike").item
    response = api(matrix["manager"]).post(
        reverse("api:quality-review-list"), {"item": item.id, **GOOD, "rating_fair": True}, format="json"
    )
    assert response.status_code == 403 and response.json()["error"] == "own_work"
    assert (
        api(matrix["reviewer"])
        .post(reverse("api:quality-review-list"), {"item": item.id, **GOOD, "rating_fair": True}, format="json")
        .status_code
        == 201
    )


def test_anonymous_callers_get_nothing_but_the_signed_link(matrix):
    client = APIClient()
    for name in ("quality-rating-list", "quality-queue-list", "quality-review-list", "quality-results"):
        assert client.get(reverse(f"api:{name}")).status_code in (401, 403)
    unrated = matrix["unrated"]
    token = policy.link_token(message_id=unrated.id, customer_id=matrix["customer"].id)
    url = reverse("api:quality-rating-link")
    response = client.post(url, {"message": unrated.id, "token": token, "verdict": "like"}, format="json")
    assert response.status_code == 201 and response.json()["source"] == "email"
    again = client.post(url, {"message": unrated.id, "token": token, "verdict": "dislike"}, format="json")
    assert again.status_code == 409 and again.json()["error"] == "link_used"
    other = client.post(url, {"message": matrix["reply"].id, "token": token, "verdict": "like"}, format="json")
    assert other.status_code == 404


# Pages: name, method, object, payload, expected per role.
PAGE_CASES = [
    ("panel-quality-rate", "post", "unrated", {"verdict": "like"}, [302, 404, 403, 403, 403, 403]),
    ("desk-quality", "get", None, None, [403, 403, 302, 302, 200, 200]),
    ("desk-quality-item", "get", "item", None, [403, 403, 403, 403, 200, 200]),
    ("desk-quality-item", "post", "item", {**GOOD, "rating_fair": "no"}, [403, 403, 403, 403, 302, 302]),
    ("desk-quality-reviews", "get", None, None, [403, 403, 200, 200, 200, 200]),
    ("desk-quality-review", "get", "reviewed", None, [403, 403, 200, 404, 200, 200]),
    ("desk-quality-review", "post", "reviewed", {"reason": "Unfair"}, [403, 403, 302, 404, 403, 403]),
    ("desk-quality-settle", "post", "dispute", {"outcome": "rejected"}, [403, 403, 403, 404, 403, 302]),
    ("desk-quality-sessions", "get", None, None, [403, 403, 403, 403, 200, 200]),
    ("desk-quality-results", "get", None, None, [403, 403, 200, 200, 200, 200]),
    ("manage-quality", "get", None, None, [403, 403, 403, 403, 200, 200]),
]


@pytest.mark.parametrize(("name", "method", "obj", "payload", "expected"), PAGE_CASES)
@pytest.mark.parametrize("role", ROLES)
def test_page_matrix(client, matrix, name, method, obj, payload, expected, role):
    client.force_login(matrix["users"][role])
    args = [matrix["unrated"].id] if obj == "unrated" else ([target(matrix, obj)] if obj else [])
    url = reverse(name, args=args)
    response = client.post(url, payload or {}) if method == "post" else client.get(url)
    assert response.status_code == expected[ROLES.index(role)]
    if response.status_code >= 400:
        assert "Matrix comment" not in response.content.decode()


@pytest.mark.parametrize(("role", "sees"), [("agent", True), ("other_agent", False), ("reviewer", True)])
def test_the_reviews_page_lists_only_the_agents_own(client, matrix, role, sees):
    client.force_login(matrix["users"][role])
    body = client.get(reverse("desk-quality-reviews")).content.decode()
    assert (f"#{matrix['ticket'].number}" in body) is sees


def test_the_panel_shows_the_control_only_to_the_tickets_customer(client, matrix):
    number = matrix["ticket"].number
    client.force_login(matrix["customer"])
    body = client.get(reverse("panel-ticket", args=[number])).content.decode()
    assert f'data-testid="rating-{matrix["unrated"].id}"' in body
    assert f'data-testid="rating-{matrix["customer_message"].id}"' not in body
    assert f'data-testid="rating-{matrix["note"].id}"' not in body
    # In the workspace: the agent and reviewers see the customer's rating, another agent does not.
    for role, sees in (("agent", True), ("reviewer", True), ("other_agent", False)):
        client.force_login(matrix["users"][role])
        page = client.get(reverse("desk-ticket", args=[number]))
        if page.status_code == 200:
            assert ("Matrix comment" in page.content.decode()) is sees


def test_a_fixed_rating_shows_no_control(client, matrix):
    Rating.objects.update(changeable_until=timezone.now())
    client.force_login(matrix["customer"])
    body = client.get(reverse("panel-ticket", args=[matrix["ticket"].number])).content.decode()
    assert body.count("(fixed)") == 3
