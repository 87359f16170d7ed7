import re
from decimal import Decimal

from bookings.models import Booking, Ticket


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
        booking=booking, showtime=showtime, seat=showtime.auditorium.seats.get(label="B3")
    )
    response = client.get(showtime.get_absolute_url())
    assert 'class="seat seat--booked seat--standard" id="seat-B3"' in response.text
    assert 'value="B3"' not in response.text
    assert response.context["seat_map"].counts["booked"] == 1


def test_unknown_showtime_is_404(client, db):
    assert client.get("/showtimes/999999/").status_code == 404
    assert client.get("/showtimes/abc/").status_code == 404


def test_seat_map_queries_do_not_grow_with_seats(client, showtime, django_assert_max_num_queries):
    client.get(showtime.get_absolute_url())  # warm the layout cache
    with django_assert_max_num_queries(3):
        client.get(showtime.get_absolute_url())
