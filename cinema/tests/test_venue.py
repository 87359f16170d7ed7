"""The cinema's page: written by staff in the admin, one of it, linked from every page."""

import io

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command
from django.db import IntegrityError

from cinema.models import Venue
from conftest import verified_user

pytestmark = pytest.mark.django_db

ADDRESS = "14 Harbour Street\nBristol BS1 4RN"


def test_the_page_shows_what_staff_wrote(client):
    Venue.objects.create(
        address=ADDRESS,
        getting_here="Buses 8 and 72 stop outside.\n\nBike racks by the door.",
        accessibility="Step-free to every screen.",
        phone="0117 496 0123",
        email="hello@marquee.example",
        box_office_hours="Daily from 11:00",
    )
    page = client.get("/visit/").text
    assert "Marquee Cinemas<br>14 Harbour Street<br>Bristol BS1 4RN</address>" in page
    assert (
        "<p>Buses 8 and 72 stop outside.</p>" in page and "<p>Bike racks by the door.</p>" in page
    )
    assert "Step-free to every screen." in page
    assert 'href="tel:01174960123"' in page and 'href="mailto:hello@marquee.example"' in page
    assert "up to 2 hours before the show" in page


def test_before_staff_write_it_the_page_still_answers(client):
    response = client.get("/visit/")
    assert response.status_code == 200
    assert "Our address is on its way" in response.text


def test_every_page_links_to_it_from_the_footer(client, showtime):
    for path in ["/", showtime.movie.get_absolute_url(), "/accounts/login/"]:
        footer = client.get(path).text.split("<footer", 1)[1]
        assert 'href="/visit/"' in footer, path


def test_there_is_only_ever_one(db):
    Venue.objects.create(address=ADDRESS)
    with pytest.raises(IntegrityError):
        Venue.objects.create(id=2, address="Elsewhere")


def test_programming_staff_edit_it_in_the_admin_and_the_page_changes(client):
    staff = verified_user("programmer", is_staff=True)
    staff.groups.add(Group.objects.get(name="Programming"))
    client.force_login(staff)
    listing = client.get("/admin/cinema/venue/")
    assert listing.status_code == 302 and listing["Location"] == "/admin/cinema/venue/1/change/"
    assert client.get("/admin/cinema/venue/1/change/").status_code == 200
    saved = client.post(
        "/admin/cinema/venue/1/change/",
        {"address": ADDRESS, "getting_here": "", "accessibility": "Hearing loops.", "phone": ""},
    )
    assert saved.status_code == 302, saved.context["adminform"].form.errors
    assert Venue.objects.get().address_line == "14 Harbour Street, Bristol BS1 4RN"
    assert "Hearing loops." in client.get("/visit/").text
    # Nothing to add or delete: there is one cinema page.
    assert client.get("/admin/cinema/venue/add/").status_code == 403
    assert client.post("/admin/cinema/venue/1/delete/", {"post": "yes"}).status_code == 403


def test_other_staff_cannot_edit_it(client):
    staff = verified_user("door", is_staff=True)
    staff.groups.add(Group.objects.get(name="Door"))
    client.force_login(staff)
    assert client.get("/admin/cinema/venue/").status_code == 403
    assert client.get("/admin/cinema/venue/1/change/").status_code == 403


def test_seed_demo_writes_a_demo_page_once_and_keeps_what_staff_changed(monkeypatch):
    monkeypatch.setenv("DEMO_STAFF_PASSWORD", "a-demo-password-1")
    call_command("seed_demo", stdout=io.StringIO())
    venue = Venue.objects.get()
    assert venue.address_line and venue.getting_here and venue.accessibility and venue.phone
    Venue.objects.update(address="1 New Road\nBath")
    call_command("seed_demo", stdout=io.StringIO())
    assert Venue.objects.get().address_line == "1 New Road, Bath"
