from datetime import timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from cinema.services import schedule_showtime


def test_now_showing_lists_movies_with_upcoming_showtimes(client, showtime):
    response = client.get("/", {"date": timezone.localdate(showtime.starts_at).isoformat()})
    assert response.status_code == 200
    assert "Test Film" in response.text
    assert showtime.get_absolute_url() in response.text


def test_movies_without_upcoming_showtimes_are_not_listed(client, movie):
    response = client.get("/")
    assert "Test Film" not in response.text
    assert "Nothing is showing on" in response.text


def test_movie_page_groups_showtimes_by_day(client, showtime):
    schedule_showtime(
        movie=showtime.movie,
        auditorium=showtime.auditorium,
        starts_at=showtime.starts_at + timedelta(days=1),
        price_list=showtime.price_list,
    )
    response = client.get(reverse("cinema:movie", kwargs={"slug": "test-film"}))
    assert response.status_code == 200
    days = response.context["days"]
    assert len(days) == 2
    assert days[0][0] == timezone.localdate(showtime.starts_at)


def test_unknown_movie_is_404(client, db):
    assert client.get("/movies/no-such-film/").status_code == 404


def test_the_404_page_is_the_sites_own_in_production(client, db, settings):
    settings.DEBUG = False
    response = client.get("/movies/no-such-film/")
    assert response.status_code == 404
    page = response.content.decode()
    assert "We can't find that page" in page
    assert 'href="/"' in page and "Marquee" in page  # the site's header, not a bare "Not Found"


def test_home_page_query_count_does_not_grow_with_movies(
    client, showtime, django_assert_max_num_queries
):
    day = {"date": timezone.localdate(showtime.starts_at).isoformat()}
    client.get("/", day)  # each price list is read once per process and version
    with django_assert_max_num_queries(4):
        client.get("/", day)


@pytest.mark.parametrize(
    "path",
    [
        "/admin/",
        "/admin/cinema/movie/",
        "/admin/cinema/movie/add/",
        "/admin/cinema/auditorium/",
        "/admin/cinema/seat/",
        "/admin/cinema/showtime/",
        "/admin/cinema/showtime/add/",
        "/admin/bookings/booking/",
        "/admin/bookings/ticket/",
    ],
)
def test_admin_pages_render_for_staff(client, staff_user, showtime, path):
    client.force_login(staff_user)
    assert client.get(path).status_code == 200


def test_admin_auditorium_page_shows_the_layout_preview(client, staff_user, auditorium):
    client.force_login(staff_user)
    response = client.get(f"/admin/cinema/auditorium/{auditorium.pk}/change/")
    assert response.status_code == 200
    assert 'id="seat-C1"' in response.text


def test_admin_rejects_a_malformed_layout_with_the_position(client, staff_user, auditorium):
    client.force_login(staff_user)
    response = client.post(
        f"/admin/cinema/auditorium/{auditorium.pk}/change/",
        {"name": "Test Hall", "layout": "A  ss\nB  s!s"},
    )
    assert response.status_code == 200
    assert "line 2, column 5: unknown cell" in response.text
    auditorium.refresh_from_db()
    assert "!" not in auditorium.layout


def test_admin_rejects_an_overlapping_showtime(client, staff_user, showtime):
    client.force_login(staff_user)
    starts = timezone.localtime(showtime.starts_at + timedelta(minutes=30))
    response = client.post(
        "/admin/cinema/showtime/add/",
        {
            "movie": showtime.movie.pk,
            "auditorium": showtime.auditorium.pk,
            "starts_at_0": starts.strftime("%Y-%m-%d"),
            "starts_at_1": starts.strftime("%H:%M:%S"),
            "price": "10.00",
        },
    )
    assert response.status_code == 200
    assert "Test Hall is busy" in response.text
    assert type(showtime).objects.count() == 1


def test_admin_is_staff_only(client, user):
    client.force_login(user)
    response = client.get("/admin/cinema/movie/")
    assert response.status_code == 302
    assert "/login/" in response["Location"]
