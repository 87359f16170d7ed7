"""Screening kinds (issue 35): named in words in one place, filtered on the listings (home and
film pages) by a plain GET form whose choices stay visible and removable, and set in bulk by
staff, audited."""

from datetime import timedelta

import pytest
from django.contrib.auth.models import Permission
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.test import Client
from django.utils import timezone

from audit.models import AuditEvent
from cinema.models import Auditorium, Movie, Showtime
from cinema.selectors import WHEELCHAIR_PAGE, upcoming_showtimes
from cinema.services import save_auditorium
from cinema.tests.test_browse import _day, _sell, _show
from conftest import verified_user
from seats import holds

pytestmark = pytest.mark.django_db


def _listed(response) -> list[int]:
    return [s.pk for movie in response.context["movies"] for s in movie.day_showtimes]


def test_a_showtime_says_its_kinds_in_words_in_one_order(showtime):
    assert showtime.kinds == []
    for name, value in {
        "format": "imax",
        "audio_language": "French",
        "subtitle_language": "English",
        "open_captions": True,
        "audio_described": True,
        "relaxed": True,
        "parent_and_baby": True,
        "seniors": True,
    }.items():
        setattr(showtime, name, value)
    assert showtime.kinds == [
        "IMAX",
        "French audio",
        "English subtitles",
        "Open captions",
        "Audio described",
        "Relaxed screening",
        "Parent and baby",
        "Seniors",
    ]


def test_each_kind_filter_and_their_combination(client, movie, auditorium):
    plain = _show(movie, auditorium, days=1, hour=10)
    subtitles = _show(movie, auditorium, days=1, hour=13, subtitle_language="Polish")
    captions = _show(movie, auditorium, days=1, hour=16, open_captions=True, relaxed=True)
    described = _show(movie, auditorium, days=1, hour=19, audio_described=True, format="3d")
    day = _day(1)
    assert _listed(client.get("/", {"date": day})) == [
        plain.pk,
        subtitles.pk,
        captions.pk,
        described.pk,
    ]
    assert _listed(client.get("/", {"date": day, "kind": "subtitled"})) == [
        subtitles.pk,
        captions.pk,
    ]
    assert _listed(client.get("/", {"date": day, "kind": "relaxed"})) == [captions.pk]
    assert _listed(client.get("/", {"date": day, "kind": "audio-described"})) == [described.pk]
    both = client.get("/", {"date": day, "kind": ["subtitled", "relaxed"]})
    assert _listed(both) == [captions.pk]
    assert _listed(client.get("/", {"date": day, "kind": "audio-described", "format": "3d"})) == [
        described.pk
    ]
    nothing = client.get("/", {"date": day, "kind": "audio-described", "format": "imax"})
    assert _listed(nothing) == [] and "No film matches" in nothing.text
    # The film's page filters the same way, and says so when nothing is left.
    page = client.get(movie.get_absolute_url(), {"kind": "subtitled"})
    assert [s.pk for _, shows in page.context["days"] for s in shows] == [
        subtitles.pk,
        captions.pk,
    ]
    empty = client.get(movie.get_absolute_url(), {"kind": "audio-described", "format": "imax"})
    assert "No upcoming showtime of this movie matches those filters" in empty.text


def test_wheelchair_space_free_means_an_a_seat_neither_sold_nor_held(
    client, movie, auditorium, user, redis_db
):
    # The test hall's wheelchair spaces are C1 and C8 ('a'); C2 and C7 are companions ('c').
    free = _show(movie, auditorium, days=1, hour=10)
    sold = _show(movie, auditorium, days=1, hour=13)
    held = _show(movie, auditorium, days=1, hour=16)
    mixed = _show(movie, auditorium, days=1, hour=19)
    no_spaces = save_auditorium(auditorium=Auditorium(name="Flat", layout="A  ssss\n"))
    elsewhere = _show(movie, no_spaces, days=1, hour=12)
    _sell_labels(sold, user, ["C1", "C8"])
    _hold(held, user, ["C1", "C8"])
    _sell_labels(mixed, user, ["C1"])
    _hold(mixed, user, ["C2"])
    response = client.get("/", {"date": _day(1), "kind": "wheelchair"})
    assert _listed(response) == [free.pk, mixed.pk]
    assert elsewhere.pk not in _listed(response)
    page = client.get(movie.get_absolute_url(), {"kind": "wheelchair"})
    assert [s.pk for _, shows in page.context["days"] for s in shows] == [free.pk, mixed.pk]


def _hold(showtime: Showtime, user, labels: list[str]) -> None:
    token = holds.new_token(user.pk)
    assert holds.hold(showtime_id=showtime.pk, labels=labels, token=token, ttl_seconds=300).ok


def _sell_labels(showtime: Showtime, user, labels: list[str]) -> None:
    from bookings.models import Booking, Ticket

    booking = Booking.objects.create(user=user, showtime=showtime, amount=0)
    Ticket.objects.bulk_create(
        Ticket(booking=booking, showtime=showtime, seat=seat, price=0)
        for seat in showtime.auditorium.seats.filter(label__in=labels)
    )


def test_the_wheelchair_filter_reads_a_bounded_number_of_times(
    client, auditorium, user, django_assert_max_num_queries, settings
):
    calls = []
    settings.SEAT_HOLDS = "cinema.tests.test_kinds.counted_holds"
    counted_holds.calls = calls
    for index in range(5):
        hall = save_auditorium(
            auditorium=Auditorium(name=f"Hall {index}", layout=auditorium.layout)
        )
        movie = Movie.objects.create(title=f"Film {index}", slug=f"f{index}", runtime_minutes=60)
        for hour in (10, 14, 18):
            _sell(_show(movie, hall, days=1, hour=hour), user, index)
    client.get("/", {"date": _day(1), "kind": "wheelchair"})
    calls.clear()
    # The listing's own 4, plus the showtimes, their wheelchair spaces and the sold ones.
    with django_assert_max_num_queries(7):
        response = client.get("/", {"date": _day(1), "kind": "wheelchair"})
    assert len(_listed(response)) == 15
    assert len(calls) == 1


def counted_holds(wanted):
    """holds.held_among, counting its calls (each is one Redis round trip)."""
    counted_holds.calls.append(sorted(wanted))
    return holds.held_among(wanted)


def test_the_wheelchair_filter_pages_through_many_showtimes(movie, auditorium, user, redis_db):
    start = timezone.now() + timedelta(days=1)
    base = _show(movie, auditorium, days=1, hour=1)
    Showtime.objects.bulk_create(
        Showtime(
            movie=movie,
            auditorium=auditorium,
            price_list=base.price_list,
            starts_at=start + timedelta(minutes=minute),
            ends_at=start + timedelta(minutes=minute + 1),
        )
        for minute in range(WHEELCHAIR_PAGE + 5)
    )
    full = list(Showtime.objects.order_by("starts_at", "pk")[: WHEELCHAIR_PAGE + 2])
    for showtime in full:
        _sell_labels(showtime, user, ["C1", "C8"])
    found = upcoming_showtimes(kinds=["wheelchair"], limit=3)
    assert [s.pk for s in found] == [
        s.pk for s in Showtime.objects.order_by("starts_at", "pk")[WHEELCHAIR_PAGE + 2 :][:3]
    ]


def test_the_filters_are_a_plain_get_form_with_removable_choices(client, movie, auditorium):
    _show(movie, auditorium, days=1, hour=10, relaxed=True, format="3d")
    response = client.get("/", {"date": _day(1), "q": "test", "format": "3d", "kind": "relaxed"})
    page = response.text
    assert 'method="get"' in page
    assert 'name="kind" value="relaxed" checked' in page
    assert 'name="kind" value="wheelchair">' in page
    assert 'name="format" value="3d" checked' in page
    removals = {chip["label"]: chip["href"] for chip in response.context["chosen_filters"]}
    assert removals == {
        "3D": f"?q=test&kind=relaxed&date={_day(1)}",
        "Relaxed": f"?q=test&format=3d&date={_day(1)}",
    }
    assert f'href="?q=test&amp;kind=relaxed&amp;date={_day(1)}"' in page
    assert "remove this filter" in page
    assert response.context["clear_filters"] == f"?q=test&date={_day(1)}"
    # The date strip's links keep the filters, so a shared link is the same listing.
    assert f"?q=test&amp;format=3d&amp;kind=relaxed&amp;date={_day(2)}" in page
    film = client.get(movie.get_absolute_url(), {"kind": ["relaxed", "wheelchair"]})
    assert [chip["href"] for chip in film.context["chosen_filters"]] == [
        "?kind=wheelchair",
        "?kind=relaxed",
    ]


@pytest.mark.parametrize("path", ["/", "/movies/test-film/"])
def test_a_bad_filter_value_is_left_out_with_a_note(client, movie, auditorium, path):
    showtime = _show(movie, auditorium, days=1, hour=10)
    response = client.get(path, {"date": _day(1), "kind": ["relaxed", "<script>"], "format": "9d"})
    assert response.status_code == 200
    assert response.context["notes"] == [
        "That format filter isn't one we know, so it was left out.",
        "That kind filter isn't one we know, so it was left out.",
    ]
    assert "That kind filter isn&#x27;t one we know" in response.text
    assert showtime.get_absolute_url() in response.text


def test_badges_on_the_listings_and_the_showtime_page(client, movie, auditorium):
    showtime = _show(
        movie,
        auditorium,
        days=1,
        hour=10,
        subtitle_language="English",
        parent_and_baby=True,
        access_notes="Babies under one go free.",
    )
    for path in (f"/?date={_day(1)}", movie.get_absolute_url(), showtime.get_absolute_url()):
        page = client.get(path).text
        assert '<span class="tag">English subtitles</span>' in page, path
        assert '<span class="tag">Parent and baby</span>' in page, path
    assert "Babies under one go free." in client.get(showtime.get_absolute_url()).text


@pytest.fixture
def programmer(db):
    """Staff who may change showtimes but not the rest of the admin."""
    user = verified_user("prog", is_staff=True)
    user.user_permissions.add(
        *Permission.objects.filter(codename__in=["view_showtime", "change_showtime"])
    )
    client = Client()
    client.force_login(user)
    return client


def _bulk(client, showtimes, **fields):
    return client.post(
        "/admin/cinema/showtime/",
        {"action": "set_kinds", "_selected_action": [s.pk for s in showtimes], **fields},
    )


def test_staff_set_kinds_in_bulk_keeping_what_they_leave_alone(programmer, movie, auditorium):
    first = _show(movie, auditorium, days=1, hour=10, subtitle_language="English")
    second = _show(movie, auditorium, days=1, hour=14, audio_described=True)
    untouched = _show(movie, auditorium, days=1, hour=18)
    choose = _bulk(programmer, [first, second])
    assert choose.status_code == 200 and "Set screening kinds" in choose.text
    done = _bulk(
        programmer,
        [first, second],
        apply="yes",
        relaxed="yes",
        audio_described="no",
        access_notes="Lights up low.",
    )
    assert done.status_code == 302
    first.refresh_from_db()
    second.refresh_from_db()
    untouched.refresh_from_db()
    assert (first.relaxed, first.subtitle_language, first.access_notes) == (
        True,
        "English",
        "Lights up low.",
    )
    assert (second.relaxed, second.audio_described) == (True, False)
    assert untouched.kinds == [] and not untouched.access_notes
    events = AuditEvent.objects.filter(kind=AuditEvent.Kind.SHOWTIME_CHANGED).order_by("id")
    assert {event.showtime_id: set(event.detail["changed"]) for event in events} == {
        first.pk: {"relaxed", "access_notes"},
        second.pk: {"relaxed", "audio_described", "access_notes"},
    }
    assert events.get(showtime_id=second.pk).detail["was"]["audio_described"] is True
    cleared = _bulk(programmer, [first], apply="yes", clear=["subtitle_language"])
    assert cleared.status_code == 302
    first.refresh_from_db()
    assert first.subtitle_language == "" and first.relaxed


def test_a_bulk_change_of_nothing_or_both_ways_is_refused_with_a_message(
    programmer, movie, auditorium
):
    showtime = _show(movie, auditorium, days=1, hour=10)
    nothing = _bulk(programmer, [showtime], apply="yes")
    assert nothing.status_code == 400 and "Choose at least one thing to change" in nothing.text
    both = _bulk(
        programmer, [showtime], apply="yes", audio_language="French", clear=["audio_language"]
    )
    assert both.status_code == 400 and "Either type it or clear it" in both.text
    bad = _bulk(programmer, [showtime], apply="yes", relaxed="maybe")
    assert bad.status_code == 400
    assert not AuditEvent.objects.filter(kind=AuditEvent.Kind.SHOWTIME_CHANGED).exists()


def test_staff_who_may_only_view_showtimes_cannot_set_kinds(movie, auditorium):
    showtime = _show(movie, auditorium, days=1, hour=10)
    viewer = verified_user("viewer", is_staff=True)
    viewer.user_permissions.add(Permission.objects.get(codename="view_showtime"))
    client = Client()
    client.force_login(viewer)
    _bulk(client, [showtime], apply="yes", relaxed="yes")
    showtime.refresh_from_db()
    assert not showtime.relaxed


@pytest.fixture
def latest_schema_afterwards():
    yield
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())


@pytest.mark.django_db(transaction=True)
def test_the_migration_keeps_subtitled_showings_as_english_subtitles(
    movie, auditorium, latest_schema_afterwards
):
    before, after = [("cinema", "0010_venue")], [("cinema", "0011_screening_kinds")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old = executor.loader.project_state(before).apps
    OldShowtime = old.get_model("cinema", "Showtime")
    price_list = old.get_model("cinema", "PriceList").objects.create(name="Old prices")
    start = timezone.now() + timedelta(days=2)

    def showtime(hours: int, **kinds) -> int:
        return OldShowtime.objects.create(
            movie_id=movie.pk,
            auditorium_id=auditorium.pk,
            price_list=price_list,
            starts_at=start + timedelta(hours=hours),
            ends_at=start + timedelta(hours=hours + 2),
            **kinds,
        ).pk

    subtitled = showtime(0, subtitled=True, audio_described=True)
    plain = showtime(3)
    executor = MigrationExecutor(connection)
    executor.migrate(after)
    new = executor.loader.project_state(after).apps.get_model("cinema", "Showtime")
    kept = {
        row["pk"]: row
        for row in new.objects.values("pk", "subtitle_language", "open_captions", "audio_described")
    }
    assert kept[subtitled] == {
        "pk": subtitled,
        "subtitle_language": "English",
        "open_captions": False,
        "audio_described": True,
    }
    assert kept[plain]["subtitle_language"] == ""
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    flags = dict(
        executor.loader.project_state(before)
        .apps.get_model("cinema", "Showtime")
        .objects.values_list("pk", "subtitled")
    )
    assert flags == {subtitled: True, plain: False}
