import re
from decimal import Decimal

from bookings.models import Booking, Ticket
from conftest import deliver_webhooks, pay_on_gateway


def test_showtime_page_draws_the_seat_map(client, showtime):
    response = client.get(showtime.get_absolute_url())
    assert response.status_code == 200
    text = response.text
    assert "Screen" in text
    assert len(re.findall(r'id="seat-[A-Z]+\d+"', text)) == 24
    assert 'id="seat-C1"' in text and "seat--accessible" in text
    assert 'class="seat seat--blocked seat--standard" id="seat-C4"' in text
    assert 'value="C4"' not in text  # a blocked seat cannot be ticked


def test_sold_seats_show_as_booked(client, showtime, user):
    booking = Booking.objects.create(user=user, showtime=showtime, amount=Decimal("10"))
    Ticket.objects.create(
        booking=booking,
        showtime=showtime,
        seat=showtime.auditorium.seats.get(label="B3"),
        price=Decimal("10"),
    )
    response = client.get(showtime.get_absolute_url())
    assert 'class="seat seat--booked seat--standard" id="seat-B3"' in response.text
    # No way to tick it: the grid has no input for it, the list only a disabled one.
    assert 'value="B3"' not in response.text
    listed = client.get(showtime.get_absolute_url(), {"list": "1"}).text
    assert re.findall(r'value="B3"[^>]*>', listed) == ['value="B3" disabled>']
    assert response.context["seat_map"].counts["booked"] == 1


def _listed_seats(html: str) -> list[str]:
    return re.findall(
        r'<label class="seatlist__seat[^"]*"><input type="checkbox" name="seats" '
        r'value="(\w+)"',
        html,
    )


def test_the_page_renders_each_seat_once_and_the_list_when_it_is_opened(client, showtime):
    """The list mode is a second rendering of every seat: the page leaves it out, and fetches
    it (htmx) when it is opened, or shows it open at ?list=1 (without JavaScript)."""
    url = showtime.get_absolute_url()
    page = client.get(url).text
    assert _listed_seats(page) == []
    assert re.search(r'<details class="seatlist" id="seat-list" hx-get="[^"]*\?list=1"', page)
    assert f'<a href="{url}?list=1#seat-list">' in page

    opened = client.get(url, {"list": "1"}).text
    assert '<details class="seatlist" id="seat-list" open>' in opened
    # Every seat but the blocked one (C4), row by row, and the map still once.
    assert len(_listed_seats(opened)) == 23 and "C4" not in _listed_seats(opened)
    assert len(re.findall(r'id="seat-[A-Z]+\d+"', opened)) == 24

    fetched = client.get(url, {"list": "1"}, headers={"HX-Request": "true"})
    assert fetched.status_code == 200
    assert fetched.text.lstrip().startswith("<form") and "<html" not in fetched.text
    assert _listed_seats(fetched.text) == _listed_seats(opened)
    assert 'name="csrfmiddlewaretoken"' in fetched.text


def test_the_list_is_fetched_in_as_few_queries_as_the_page(
    client, showtime, django_assert_max_num_queries
):
    client.get(showtime.get_absolute_url())  # warm the layout cache
    with django_assert_max_num_queries(3):
        client.get(showtime.get_absolute_url(), {"list": "1"}, headers={"HX-Request": "true"})


def test_unknown_showtime_is_404(client, db):
    assert client.get("/showtimes/999999/").status_code == 404
    assert client.get("/showtimes/abc/").status_code == 404


def test_seat_map_queries_do_not_grow_with_seats(client, showtime, django_assert_max_num_queries):
    client.get(showtime.get_absolute_url())  # warm the layout cache
    with django_assert_max_num_queries(3):
        client.get(showtime.get_absolute_url())


def test_coming_back_to_held_seats_offers_checkout_and_says_a_new_pick_changes_them(
    client, user, showtime
):
    client.force_login(user)
    client.post(f"/showtimes/{showtime.pk}/hold/", {"seats": ["A3", "A4"]})
    booking = Booking.objects.get()

    page = client.get(showtime.get_absolute_url()).text

    assert "You are holding A3, A4" in page
    assert f'href="{booking.get_absolute_url()}">Continue to checkout' in page
    assert "replaces those seats with your new selection" in page
    assert ">Change my hold</button>" in page


def test_without_a_hold_the_seat_map_offers_to_hold(client, user, showtime):
    client.force_login(user)
    page = client.get(showtime.get_absolute_url()).text
    assert "Continue to checkout" not in page and ">Hold seats</button>" in page


def test_cancel_and_refund_asks_first_and_the_page_then_says_what_happened(client, user, showtime):
    client.force_login(user)
    client.post(f"/showtimes/{showtime.pk}/hold/", {"seats": ["A3"]})
    booking = Booking.objects.get()
    pay_on_gateway(client, client.post(f"/bookings/{booking.ref}/pay/")["Location"])
    deliver_webhooks(client)

    page = client.get(booking.get_absolute_url()).text
    assert re.search(r"<details class=\"confirm[^>]*>\s*<summary[^>]*>Cancel and refund…", page)
    assert "You get £10.00 back on your card" in page
    assert ">Yes, cancel and refund</button>" in page

    cancelled = client.post(f"/bookings/{booking.ref}/cancel/", follow=True).text
    assert "£10.00 is on its way back to your card" in cancelled
    assert "£10.00 has been refunded to your card" in cancelled
    assert "nothing was charged" not in cancelled and "nothing is charged" not in cancelled


def test_a_released_hold_says_nothing_was_charged(client, user, showtime):
    client.force_login(user)
    client.post(f"/showtimes/{showtime.pk}/hold/", {"seats": ["A3"]})
    booking = Booking.objects.get()
    assert "Yes, release my seats" in client.get(booking.get_absolute_url()).text
    released = client.post(f"/bookings/{booking.ref}/cancel/", follow=True).text
    assert "nothing was charged" in released and "refunded" not in released


def test_best_available_shows_the_seats_first_and_holds_nothing(client, user, showtime):
    client.force_login(user)

    page = client.get(showtime.get_absolute_url(), {"best": "2"})

    assert page.status_code == 200
    found = page.context["suggestion"].labels
    assert len(found) == 2
    for label in found:
        assert re.search(rf'value="{label}"[^>]* checked', page.text)
    assert "Nothing is held until you press Hold seats" in page.text
    assert "Choose again" in page.text
    assert not Booking.objects.exists()
    kept = client.post(f"/showtimes/{showtime.pk}/hold/", {"seats": found})
    assert kept.status_code == 303
    assert Booking.objects.get().seat_labels == found


def test_best_available_with_a_bad_count_is_400(client, showtime):
    page = client.get(showtime.get_absolute_url(), {"best": "²"})
    assert page.status_code == 400
    assert "Best available needs a number of seats" in page.text
