"""The queue page answered at the edge (waitingroom.edge): the view's answer, without the database
or Django's request, for a member still queued; everything else is left to the view."""

import re

import pytest
from asgiref.sync import async_to_sync
from django.test import Client

from conftest import open_waiting_room, redis_unreachable, verified_user
from infra.limits import ARRIVED
from waitingroom import edge, queue, remembered, services

pytestmark = pytest.mark.django_db

# What differs between two answers of the same page by design: the CSRF token's random mask.
_MASKED = re.compile(r'name="csrfmiddlewaretoken" value="[^"]+"')


@pytest.fixture(autouse=True)
def edge_mounted(settings):
    """What the edge answers from is remembered only with the edge mounted."""
    settings.QUEUE_AT_THE_EDGE = True


@pytest.fixture
def room(showtime):
    remembered.forget_rooms()
    yield open_waiting_room(showtime)
    remembered.forget_rooms()


def _client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def _path(showtime) -> str:
    return f"/showtimes/{showtime.pk}/queue/"


def _view(client, showtime, **headers):
    return client.get(_path(showtime), headers=headers)


def _scope(client, showtime, *, query: bytes = b"", htmx: bool = False, arrived=None) -> dict:
    cookies = "; ".join(f"{name}={morsel.value}" for name, morsel in client.cookies.items())
    headers = [(b"host", b"testserver"), (b"cookie", cookies.encode())]
    if htmx:
        headers.append((b"hx-request", b"true"))
    scope = {
        "type": "http",
        "method": "GET",
        "path": _path(showtime),
        "query_string": query,
        "headers": headers,
        "scheme": "http",
        "server": ("testserver", 80),
        "client": ("127.0.0.1", 50000),
    }
    if arrived is not None:
        scope[ARRIVED] = arrived
    return scope


def _cookies(response) -> dict[str, str]:
    """Each cookie as sent, but for its expiry date (a second may pass between two answers)."""
    return {
        name: re.sub(r"expires=[^;]+; ", "", morsel.output(header=""))
        for name, morsel in response.cookies.items()
    }


def _same_headers(edge_answer, view_answer) -> None:
    for name in (
        "Content-Type",
        "Vary",
        "X-Frame-Options",
        "X-Content-Type-Options",
        "Referrer-Policy",
        "Cross-Origin-Opener-Policy",
    ):
        assert edge_answer.headers.get(name) == view_answer.headers.get(name), name
    assert "Content-Security-Policy" in edge_answer.headers
    assert "X-Request-ID" in edge_answer.headers


def test_a_queued_members_page_at_the_edge_is_the_views_page(room, user, bob):
    _view(_client(bob), room)
    buyer = _client(user)
    _view(buyer, room)  # the view has seen the room and the member; the cookies are set
    at_edge = edge.answer(_scope(buyer, room))
    by_view = _view(buyer, room)
    assert at_edge is not None and at_edge.status_code == by_view.status_code == 200
    assert "1</strong> person is ahead of you" in at_edge.text
    assert 'ws-connect="/ws/queue/' in at_edge.text and "hx-trigger=" in at_edge.text
    assert _MASKED.sub("", at_edge.text) == _MASKED.sub("", by_view.text)
    assert _cookies(at_edge) == _cookies(by_view)
    assert set(at_edge.cookies) == {services.cookie_name(room.pk), "csrftoken"}
    _same_headers(at_edge, by_view)


def test_the_polled_place_at_the_edge_is_the_views(room, user):
    buyer = _client(user)
    _view(buyer, room)
    at_edge = edge.answer(_scope(buyer, room, htmx=True))
    by_view = _view(buyer, room, HX_Request="true")
    assert at_edge is not None and at_edge.status_code == by_view.status_code == 200
    assert at_edge.text == by_view.text and '<section id="place"' in at_edge.text
    assert _cookies(at_edge) == _cookies(by_view)
    _same_headers(at_edge, by_view)


def test_the_join_at_the_edge_touches_no_database(room, user, django_assert_num_queries):
    buyer = _client(user)
    _view(buyer, room)
    queue.leave(showtime_id=room.pk, member=f"u{user.pk}")
    with django_assert_num_queries(0):
        page = edge.answer(_scope(buyer, room))
        fragment = edge.answer(_scope(buyer, room, htmx=True))
    assert page.status_code == fragment.status_code == 200
    assert queue.place(showtime_id=room.pk, member=f"u{user.pk}").ahead == 0


def test_the_edge_queues_by_the_moment_each_request_arrived(room, user, bob):
    first, second = _client(user), _client(bob)
    for client in (first, second):
        _view(client, room)
    queue.leave(showtime_id=room.pk, member=f"u{user.pk}")
    queue.leave(showtime_id=room.pk, member=f"u{bob.pk}")
    now = queue.now_ms()
    served = []

    async def django(scope, receive, send):
        served.append(scope["path"])

    sent = []

    async def send(message):
        sent.append(message)

    app = edge.QueueAtTheEdge(django)
    # Bob's request reached the edge first, but is served second.
    async_to_sync(app)(_scope(first, room, arrived=now + 5), None, send)
    async_to_sync(app)(_scope(second, room, arrived=now + 1), None, send)
    assert served == []
    assert [m["status"] for m in sent if m["type"] == "http.response.start"] == [200, 200]
    assert queue.place(showtime_id=room.pk, member=f"u{bob.pk}").ahead == 0
    assert queue.place(showtime_id=room.pk, member=f"u{user.pk}").ahead == 1


def test_whatever_the_edge_cannot_answer_as_the_view_would_goes_to_the_view(
    room, user, settings, django_user_model
):
    buyer = _client(user)
    _view(buyer, room)
    assert edge.answer(_scope(buyer, room)) is not None
    # A host the site does not serve (the view's path answers 400).
    foreign = _scope(buyer, room)
    foreign["headers"][0] = (b"host", b"evil.example")
    assert edge.answer(foreign) is None
    # A shopper taking their turn, and anything else with a query string.
    assert edge.answer(_scope(buyer, room, query=b"go=1")) is None
    # Signed out, or never seen by the view (an address not confirmed, say).
    assert edge.answer(_scope(Client(), room)) is None
    fresh = django_user_model.objects.create_user("new", "new@example.com", "correct-horse-9")
    assert edge.answer(_scope(_client(fresh), room)) is None
    # Redis unreachable: the view's page says so.
    with redis_unreachable(settings):
        assert edge.answer(_scope(buyer, room)) is None
    # Messages to show (after signing in, say).
    buyer.cookies["messages"] = "x"
    assert edge.answer(_scope(buyer, room)) is None
    del buyer.cookies["messages"]
    # A room the view has not read in the last second (staff may have paused it or turned it off).
    remembered.forget_rooms()
    assert edge.answer(_scope(buyer, room)) is None
    _view(buyer, room)
    assert edge.answer(_scope(buyer, room)) is not None


def test_a_member_whose_turn_it_is_is_sent_on_by_the_view(room, user):
    buyer = _client(user)
    _view(buyer, room)
    queue.admit(showtime_id=room.pk, rules=services.rules_for(room))
    assert edge.answer(_scope(buyer, room)) is None
    assert edge.answer(_scope(buyer, room, htmx=True)) is None


def test_a_new_password_ends_the_edges_knowledge_of_every_session(room, user):
    buyer = _client(user)
    _view(buyer, room)
    user.set_password("another-horse-battery")
    user.save()
    assert edge.answer(_scope(buyer, room)) is None
    # The view itself no longer takes the old session: the visitor is asked to sign in.
    assert "Sign in to take your place" in _view(buyer, room).text
    again = _client(user)
    _view(again, room)
    assert edge.answer(_scope(again, room)) is not None
    assert edge.answer(_scope(buyer, room)) is None


def test_an_address_removed_is_noticed_at_once(room):
    dora = verified_user("dora")
    buyer = _client(dora)
    _view(buyer, room)
    dora.emailaddress_set.all().delete()
    assert edge.answer(_scope(buyer, room)) is None


def test_a_member_who_signed_in_is_answered_at_the_edge_on_their_first_visit(room, user, bob):
    _view(_client(bob), room)  # the room, as the view read it
    buyer = _client(user)
    buyer.cookies["csrftoken"] = "a" * 32  # as the sign-in page left it
    page = edge.answer(_scope(buyer, room))
    assert page is not None and "1</strong> person is ahead of you" in page.text


def test_with_the_edge_off_the_view_remembers_nothing_for_it(room, user, settings):
    settings.QUEUE_AT_THE_EDGE = False
    _view(_client(user), room)
    assert remembered.room(room.pk) is None
    assert remembered.member(user.pk, user.get_session_auth_hash()) is None

    settings.QUEUE_AT_THE_EDGE = True
    _view(_client(user), room)
    assert remembered.room(room.pk) is not None
    assert remembered.member(user.pk, user.get_session_auth_hash()) is not None
