"""An API hold costs no more database work than the page's (bookings' pinned counts)."""

import pytest

from bookings.tests.test_query_counts import HOLD_QUERIES, buyer, counted  # noqa: F401 (fixture)
from seats import holds

pytestmark = pytest.mark.django_db(transaction=True)


def _hold(client, showtime, *labels):
    return client.post(
        f"/api/v1/showtimes/{showtime.pk}/holds",
        {"seats": list(labels)},
        content_type="application/json",
    )


def test_an_api_hold_is_one_short_transaction_like_the_pages(buyer, showtime):  # noqa: F811
    with counted() as work:
        response = _hold(buyer, showtime, "A3", "A4")
    assert response.status_code == 201, response.content
    assert len(work.queries) <= HOLD_QUERIES, work
    assert work.commits == 1, work


def test_an_api_409_is_as_cheap_as_the_pages(buyer, showtime):  # noqa: F811
    holds.hold(showtime_id=showtime.pk, labels=["A4"], token="someone-else", ttl_seconds=60)
    with counted() as work:
        response = _hold(buyer, showtime, "A3", "A4")
    assert response.status_code == 409
    assert len(work.queries) <= 3, work
    assert work.commits == 0, work


def test_a_hold_with_an_api_token_is_no_dearer(user, showtime):
    from django.test import Client

    from api.auth import make_token

    holds.hold(showtime_id=showtime.pk, labels=["C1"], token="first-buyer", ttl_seconds=60)
    _, raw = make_token(user=user, name="kiosk", scopes=["customer"])
    kiosk = Client(headers={"Authorization": f"Bearer {raw}"})
    assert kiosk.get("/api/v1/me").status_code == 200  # its last use written, as after any call
    assert kiosk.get(showtime.get_absolute_url()).status_code == 200  # as the buyer before
    with counted() as work:
        response = _hold(kiosk, showtime, "A3", "A4")
    assert response.status_code == 201, response.content
    assert len(work.queries) <= HOLD_QUERIES, work
    assert work.commits == 1, work
