import io
from decimal import Decimal

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command

from accounts.services import has_verified_email
from cinema.models import (
    AccessDevice,
    Auditorium,
    Movie,
    PriceList,
    Seat,
    Showtime,
    TicketPrice,
    TicketType,
    Voucher,
)
from cinema.pricing import PricingError, check_voucher, quote


def _counts() -> dict[str, int]:
    return {
        "movies": Movie.objects.count(),
        "auditoriums": Auditorium.objects.count(),
        "seats": Seat.objects.count(),
        "showtimes": Showtime.objects.count(),
        "users": get_user_model().objects.count(),
        "ticket types": TicketType.objects.count(),
        "ticket prices": TicketPrice.objects.count(),
    }


def test_seed_demo_is_idempotent(db, monkeypatch):
    monkeypatch.setenv("DEMO_STAFF_PASSWORD", "a-demo-password-1")
    call_command("seed_demo", stdout=io.StringIO())
    first = _counts()
    call_command("seed_demo", stdout=io.StringIO())
    assert _counts() == first


def test_seed_demo_loads_a_realistic_cinema(db, monkeypatch):
    monkeypatch.setenv("DEMO_STAFF_PASSWORD", "a-demo-password-1")
    call_command("seed_demo", stdout=io.StringIO())
    assert Movie.objects.count() >= 4
    sizes = sorted(a.seats.count() for a in Auditorium.objects.all())
    assert len(sizes) == 3 and len(set(sizes)) == 3
    big = Auditorium.objects.get(seats__label="T1")
    assert big.seats.count() >= 400
    assert big.seats.filter(kind=Seat.Kind.ACCESSIBLE).exists()
    assert "|" in big.layout
    days = {s.starts_at.date() for s in Showtime.objects.upcoming()}
    assert len(days) >= 6  # today's early slots may be past already
    staff = get_user_model().objects.get(username="staff")
    assert staff.is_staff and staff.check_password("a-demo-password-1")
    assert has_verified_email(user=staff)  # signs in and holds seats without a link to click
    # Every screening-kind filter finds something in the demo's days.
    shows = Showtime.objects.all()
    assert shows.subtitled().filter(open_captions=True).exists()
    assert shows.exclude(subtitle_language="").exists()
    assert shows.filter(audio_described=True).exists()
    for kind in ("relaxed", "parent_and_baby", "seniors"):
        assert shows.filter(**{kind: True}).exclude(access_notes="").exists(), kind
    # Every hall lends both kinds of access device.
    assert sorted(AccessDevice.objects.values_list("kind", flat=True)) == sorted(
        AccessDevice.Kind.values * 3
    )


def test_seed_demo_prices_every_showtime_with_ticket_types_and_seat_categories(db, monkeypatch):
    monkeypatch.setenv("DEMO_STAFF_PASSWORD", "a-demo-password-1")
    call_command("seed_demo", stdout=io.StringIO())
    assert set(PriceList.objects.values_list("name", flat=True)) == {"Peak", "Off-peak"}
    assert not Showtime.objects.filter(price_list=None).exists()
    grand = Auditorium.objects.get(name="Screen 1 · Grand")
    assert grand.seats.count() == 478
    assert set(grand.seats.values_list("kind", flat=True)) == {
        "standard",
        "premium",
        "vip",
        "accessible",
        "companion",
    }
    showtime = Showtime.objects.filter(auditorium=grand, movie__age_rating="15").first()
    adult, child = TicketType.objects.get(name="Adult"), TicketType.objects.get(name="Child")
    assert adult.is_default and TicketType.objects.filter(is_default=True).count() == 1
    priced = quote(showtime=showtime, choices={"L10": adult.pk, "R10": adult.pk})
    assert (
        priced.lines[0].supplement > 0 and priced.lines[1].supplement > priced.lines[0].supplement
    )
    with pytest.raises(PricingError, match="not sold for a 15 film"):
        quote(showtime=showtime, choices={"L10": child.pk})
    # The demo voucher the README names, usable on any showtime now.
    demo = Voucher.objects.get(code="DEMO10")
    check_voucher(voucher=demo, showtime=showtime)
    discounted = quote(showtime=showtime, choices={"L10": adult.pk}, voucher=demo)
    assert discounted.total == (priced.lines[0].amount * Decimal("0.9")).quantize(Decimal("0.01"))


def test_seed_demo_prints_a_generated_password_once(db, monkeypatch, capsys):
    monkeypatch.delenv("DEMO_STAFF_PASSWORD", raising=False)
    call_command("seed_demo")
    first = capsys.readouterr().out
    call_command("seed_demo")
    second = capsys.readouterr().out
    assert "password '" in first
    assert "password '" not in second
    password = first.split("password '")[1].split("'")[0]
    assert get_user_model().objects.get(username="staff").check_password(password)


def test_seed_demo_gives_every_film_a_poster(db, client, monkeypatch):
    monkeypatch.setenv("DEMO_STAFF_PASSWORD", "a-demo-password-1")
    call_command("seed_demo", stdout=io.StringIO())
    first = {movie.pk: movie.poster_large.name for movie in Movie.objects.all()}
    assert all(first.values())
    call_command("seed_demo", stdout=io.StringIO())
    assert {movie.pk: movie.poster_large.name for movie in Movie.objects.all()} == first
    response = client.get(Movie.objects.first().poster_card_url)
    assert response.status_code == 200 and response["Content-Type"] == "image/webp"
