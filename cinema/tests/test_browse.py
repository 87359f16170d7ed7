from datetime import datetime, time, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from bookings.models import Booking, Ticket
from cinema.models import Auditorium, Movie, Showtime
from cinema.services import one_price_list, save_auditorium, schedule_showtime


def _local(days: int, hour: int) -> datetime:
    day = timezone.localdate() + timedelta(days=days)
    return timezone.make_aware(datetime.combine(day, time(hour)))


def _day(days: int) -> str:
    return (timezone.localdate() + timedelta(days=days)).isoformat()


def _show(movie, auditorium, *, days: int, hour: int, price="10.00", **extras) -> Showtime:
    showtime = schedule_showtime(
        movie=movie,
        auditorium=auditorium,
        starts_at=_local(days, hour),
        price_list=one_price_list(Decimal(price)),
    )
    if extras:
        for name, value in extras.items():
            setattr(showtime, name, value)
        showtime.save(update_fields=list(extras))
    return showtime


def _sell(showtime: Showtime, user, count: int) -> None:
    if not count:
        return
    booking = Booking.objects.create(user=user, showtime=showtime, amount=Decimal("0"))
    seats = showtime.auditorium.seats.filter(blocked=False)[:count]
    Ticket.objects.bulk_create(
        [
            Ticket(booking=booking, showtime=showtime, seat=seat, price=Decimal("0"))
            for seat in seats
        ]
    )


@pytest.fixture
def other_movie(db):
    return Movie.objects.create(title="Harbour Lights", slug="harbour-lights", runtime_minutes=90)


def test_date_strip_lists_nine_days_from_today(client, db):
    response = client.get("/")
    assert response.status_code == 200
    assert response.text.count('class="date-strip__day"') == 9
    assert f'href="?date={_day(0)}"' in response.text
    assert f'href="?date={_day(8)}"' in response.text
    assert response.text.count('aria-current="date"') == 1


def test_date_picks_that_days_times(client, movie, auditorium):
    first = _show(movie, auditorium, days=1, hour=14)
    second = _show(movie, auditorium, days=2, hour=18)
    response = client.get(f"/?date={_day(2)}")
    assert second.get_absolute_url() in response.text
    assert first.get_absolute_url() not in response.text
    assert f'href="?date={_day(2)}" hx-get="?date={_day(2)}" aria-current="date"' in response.text


@pytest.mark.parametrize("bad", ["yesterday", "2024-02-30", "1999-01-01", "9" * 500])
def test_a_bad_date_shows_today_with_a_note(client, movie, auditorium, bad):
    response = client.get("/", {"date": bad})
    assert response.status_code == 200
    assert "here is what is on today" in response.text
    assert response.context["day"] == timezone.localdate()


def test_search_finds_films_by_title(client, movie, other_movie, auditorium):
    _show(movie, auditorium, days=1, hour=12)
    _show(other_movie, auditorium, days=1, hour=18)
    response = client.get("/", {"date": _day(1), "q": "harbour"})
    assert [m.title for m in response.context["movies"]] == ["Harbour Lights"]
    assert "Test Film" not in response.text


def test_search_is_bounded(client, movie, auditorium):
    _show(movie, auditorium, days=1, hour=12)
    response = client.get("/", {"date": _day(1), "q": "x" * 5000})
    assert response.status_code == 200
    assert len(response.context["query"]) == 100


def test_format_filter_keeps_matching_showtimes(client, movie, other_movie, auditorium):
    flat = _show(movie, auditorium, days=1, hour=11)
    imax = _show(movie, auditorium, days=1, hour=15, format="imax")
    subtitled = _show(
        other_movie, auditorium, days=1, hour=19, format="3d", subtitle_language="English"
    )
    response = client.get("/", {"date": _day(1), "format": "imax"})
    assert imax.get_absolute_url() in response.text
    assert flat.get_absolute_url() not in response.text
    assert "Harbour Lights" not in response.text
    response = client.get("/", {"date": _day(1), "format": ["3d", "imax"], "kind": "subtitled"})
    assert [s.pk for m in response.context["movies"] for s in m.day_showtimes] == [subtitled.pk]
    response = client.get("/", {"date": _day(1), "kind": "audio-described"})
    assert response.context["movies"] == []
    assert "No film matches" in response.text


def test_an_unknown_format_is_dropped_with_a_note(client, movie, auditorium):
    showtime = _show(movie, auditorium, days=1, hour=11)
    response = client.get("/", {"date": _day(1), "format": "4dx"})
    assert response.status_code == 200
    assert showtime.get_absolute_url() in response.text
    assert "left out" in response.text


def test_times_show_sold_out_filling_fast_and_the_price(client, movie, auditorium, user):
    # The test hall has 23 sellable seats (one is blocked): 19 sold leaves 4, under a fifth.
    sold_out = _show(movie, auditorium, days=1, hour=10, price="8.50")
    filling = _show(movie, auditorium, days=1, hour=14, price="9.00")
    quiet = _show(movie, auditorium, days=1, hour=18, price="11.25")
    _sell(sold_out, user, 23)
    _sell(filling, user, 19)
    _sell(quiet, user, 18)
    response = client.get("/", {"date": _day(1)})
    states = {
        s.pk: (s.availability.sold_out, s.availability.filling_fast)
        for s in response.context["movies"][0].day_showtimes
    }
    assert states == {
        sold_out.pk: (True, False),
        filling.pk: (False, True),
        quiet.pk: (False, False),
    }
    assert response.text.count("Sold out") == 1
    assert response.text.count("Filling fast") == 1
    for price in ("8.50", "9.00", "11.25"):
        assert f"from £{price}" in response.text


def test_htmx_request_gets_only_the_listing(client, movie, auditorium):
    showtime = _show(movie, auditorium, days=1, hour=12)
    response = client.get("/", {"date": _day(1)}, headers={"HX-Request": "true"})
    assert showtime.get_absolute_url() in response.text
    assert "<html" not in response.text and 'class="browse"' not in response.text
    assert 'id="browse-date"' in response.text  # keeps the form's day in step
    assert "HX-Request" in response["Vary"]
    restore = client.get("/", headers={"HX-Request": "true", "HX-History-Restore-Request": "true"})
    assert "<html" in restore.text


def test_home_page_query_count_stays_constant_with_many_films(
    client, auditorium, user, django_assert_max_num_queries
):
    for index in range(6):
        hall = save_auditorium(
            auditorium=Auditorium(name=f"Hall {index}", layout=auditorium.layout)
        )
        movie = Movie.objects.create(title=f"Film {index}", slug=f"f{index}", runtime_minutes=90)
        for hour in (10, 14, 18):
            _sell(_show(movie, hall, days=1, hour=hour), user, index)
    client.get("/", {"date": _day(1)})  # each price list is read once per process and version
    with django_assert_max_num_queries(4):
        response = client.get("/", {"date": _day(1)})
    assert len(response.context["movies"]) == 6
    assert all(len(movie.day_showtimes) == 3 for movie in response.context["movies"])


def test_movie_page_shows_credits_trailer_and_times(client, movie, auditorium):
    movie.director = "Ines Varga"
    movie.cast = "Tomas Reyes, Lin Mei"
    movie.trailer_url = "https://example.com/trailers/test-film"
    movie.save(update_fields=["director", "cast", "trailer_url"])
    _show(movie, auditorium, days=1, hour=12, format="3d", audio_described=True)
    response = client.get(movie.get_absolute_url())
    assert "Ines Varga" in response.text and "Tomas Reyes, Lin Mei" in response.text
    assert 'href="https://example.com/trailers/test-film"' in response.text
    assert 'rel="noopener noreferrer"' in response.text
    assert "1h 40m" in response.text
    assert "3D" in response.text and "Audio described" in response.text
    assert "from £10.00" in response.text


def test_showtimes_sold_through_a_queue_say_so_on_the_listings(client, showtime, auditorium):
    from conftest import open_waiting_room

    # Both on tomorrow's afternoon, so the later one is on the same day whatever the time now.
    noon = timezone.localtime().replace(hour=12, minute=0, second=0, microsecond=0)
    showtime = schedule_showtime(
        movie=showtime.movie,
        auditorium=auditorium,
        starts_at=noon + timedelta(days=1),
        price_list=showtime.price_list,
        showtime=showtime,
    )
    plain = schedule_showtime(
        movie=showtime.movie,
        auditorium=auditorium,
        starts_at=showtime.starts_at + timedelta(hours=3),
        price_list=one_price_list(Decimal("10.00")),
    )
    open_waiting_room(showtime)
    day = timezone.localtime(showtime.starts_at).date().isoformat()
    for path in ("/?date=" + day, f"/movies/{showtime.movie.slug}/"):
        text = client.get(path).text
        assert text.count("Queue to book") == 1, path
        queued = text.index(f'href="{showtime.get_absolute_url()}"')
        assert (
            queued < text.index("Queue to book") < text.index(f'href="{plain.get_absolute_url()}"')
        )
