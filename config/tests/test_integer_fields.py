"""Every integer a form or a query carries, given a digit that is not ASCII ("²" passes
str.isdigit(), which int() refuses): a 400 with a message from our own fields, and never a 500
anywhere (Django admin's own page and filter numbers fall back or redirect)."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from bookings import services
from conftest import pay

NOT_ASCII = ["²", "٣", "①"]

pytestmark = pytest.mark.django_db


@pytest.fixture
def held(showtime, user):
    return services.hold_seats(user=user, showtime=showtime, labels=["A1"])


def _ours(client, showtime, held, digit):
    """(what, response) for each integer field of our own forms and queries."""
    room = f"/admin/waiting-room/{showtime.pk}/"
    yield "best (GET)", client.get(f"/showtimes/{showtime.pk}/", {"best": digit})
    yield "best (POST)", client.post(f"/showtimes/{showtime.pk}/hold/", {"best": digit})
    yield "ticket type", client.post(f"/bookings/{held.ref}/tickets/", {"type-A1": digit})
    yield "door undo", client.post(f"/checkin/{showtime.pk}/undo/", {"ticket": digit})
    yield (
        "room numbers",
        client.post(room, {"action": "set", "max_active": digit, "rate": "600", "window": "10"}),
    )
    yield "sales day", client.get("/admin/sales/", {"date": f"2026-1-{digit}"})


@pytest.mark.parametrize("digit", NOT_ASCII)
def test_our_integer_fields_answer_400_with_a_message(client, showtime, held, digit):
    held.user.is_staff = held.user.is_superuser = True
    held.user.save(update_fields=["is_staff", "is_superuser"])
    client.force_login(held.user)
    answers = {
        what: response.status_code for what, response in _ours(client, showtime, held, digit)
    }
    assert answers == dict.fromkeys(answers, 400)


@pytest.mark.parametrize("digit", NOT_ASCII)
def test_the_admins_page_and_filter_numbers_are_never_a_500(staff, showtime, user, digit):
    pay(services.hold_seats(user=user, showtime=showtime, labels=["A2"]))
    for path, query in [
        ("/admin/bookings/booking/", {"p": digit}),
        ("/admin/bookings/booking/", {"showtime__id__exact": digit}),
        ("/admin/cinema/showtime/", {"p": digit}),
        ("/admin/audit/auditevent/", {"p": digit}),
    ]:
        assert staff.get(path, query).status_code < 500, (path, query)
    chooser = staff.post(
        "/admin/cinema/showtime/",
        {"action": "use_price_list", "_selected_action": [showtime.pk], "price_list": digit},
    )
    assert chooser.status_code < 500


@pytest.mark.parametrize("digit", NOT_ASCII)
@pytest.mark.parametrize("command", [("waiting_room", "on"), ("checkin_report",)])
def test_commands_refuse_such_a_showtime_id_clearly(db, command, digit):
    with pytest.raises(CommandError, match="is not a showtime id"):
        call_command(*command, digit, stdout=StringIO())
