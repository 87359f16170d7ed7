"""The showtime form's movie picker puts films whose title starts with the typed term first."""

import pytest

from cinema.models import Movie

pytestmark = pytest.mark.django_db


def _autocomplete(client, term: str) -> list[str]:
    response = client.get(
        "/admin/autocomplete/",
        {"app_label": "cinema", "model_name": "showtime", "field_name": "movie", "term": term},
    )
    assert response.status_code == 200
    return [result["text"] for result in response.json()["results"]]


def test_the_movie_picker_puts_title_prefix_matches_first(staff):
    for title, synopsis in [
        ("A Dune Story", ""),
        ("Sand and Stars", "Set on the dunes of Arrakis."),
        ("Dune", ""),
        ("Dune: Part Two", ""),
        ("Beyond the Dunes", ""),
    ]:
        Movie.objects.create(
            title=title,
            slug=title.lower().replace(" ", "-").replace(":", ""),
            synopsis=synopsis,
            runtime_minutes=100,
        )
    assert _autocomplete(staff, "dune") == [
        "Dune",
        "Dune: Part Two",
        "A Dune Story",
        "Beyond the Dunes",
        "Sand and Stars",
    ]


def test_the_showtime_form_picks_its_movie_by_autocomplete(staff):
    page = staff.get("/admin/cinema/showtime/add/").content.decode()
    assert 'data-ajax--url="/admin/autocomplete/"' in page
    assert 'name="movie"' in page
