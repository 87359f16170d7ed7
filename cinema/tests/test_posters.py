import io
import re

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from PIL import Image

from cinema.models import Movie


def _png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (200, 40, 40)).save(buffer, format="PNG")
    return buffer.getvalue()


def _change_form(movie: Movie, **extra) -> dict:
    return {
        "title": movie.title,
        "slug": movie.slug,
        "synopsis": "",
        "runtime_minutes": movie.runtime_minutes,
        "age_rating": movie.age_rating,
        "director": "",
        "cast": "",
        "trailer_url": "",
        **extra,
    }


def _upload(client, movie: Movie, content: bytes, name: str = "poster.png"):
    return client.post(
        f"/admin/cinema/movie/{movie.pk}/change/",
        _change_form(movie, poster_upload=SimpleUploadedFile(name, content)),
    )


def _home(client, showtime):
    """The home page on the showtime's day (it lists one day at a time)."""
    return client.get("/", {"date": timezone.localdate(showtime.starts_at).isoformat()})


def _open(response) -> Image.Image:
    return Image.open(io.BytesIO(b"".join(response.streaming_content)))


def test_staff_upload_a_poster_stored_in_two_sizes(client, staff_user, showtime):
    client.force_login(staff_user)
    response = _upload(client, showtime.movie, _png(1000, 1500))
    assert response.status_code == 302, response.text
    movie = Movie.objects.get(pk=showtime.movie.pk)
    card = _open(client.get(movie.poster_card_url))
    large = _open(client.get(movie.poster_large_url))
    assert card.size == (300, 450)
    assert large.size == (600, 900)
    page = _home(client, showtime).text
    assert f'src="{movie.poster_card_url}" width="300" height="450" alt=""' in page
    detail = client.get(movie.get_absolute_url()).text
    assert f'src="{movie.poster_large_url}" width="600" height="900"' in detail
    assert 'alt="Poster for Test Film"' in detail
    assert "poster-placeholder" not in detail


def test_a_poster_keeps_its_aspect_and_is_never_enlarged(client, staff_user, movie):
    client.force_login(staff_user)
    _upload(client, movie, _png(400, 400))
    movie.refresh_from_db()
    assert _open(client.get(movie.poster_card_url)).size == (300, 300)
    assert _open(client.get(movie.poster_large_url)).size == (400, 400)


def test_a_new_upload_gets_a_new_url(client, staff_user, movie):
    client.force_login(staff_user)
    _upload(client, movie, _png(600, 900))
    first = Movie.objects.get(pk=movie.pk).poster_large_url
    _upload(client, movie, _png(601, 900))
    assert Movie.objects.get(pk=movie.pk).poster_large_url != first


def test_a_text_file_named_png_is_refused(client, staff_user, movie):
    client.force_login(staff_user)
    response = _upload(client, movie, b"just some text, not an image")
    assert response.status_code == 200
    assert "not an image Pillow can read" in response.text
    movie.refresh_from_db()
    assert not movie.poster_large


def test_a_huge_pixel_count_is_refused_before_decoding(client, staff_user, movie, settings):
    settings.POSTER_MAX_PIXELS = 1_000_000
    client.force_login(staff_user)
    response = _upload(client, movie, _png(2000, 1000))
    assert response.status_code == 200
    assert "too many pixels (2000x1000)" in response.text
    movie.refresh_from_db()
    assert not movie.poster_large


def test_a_file_over_the_size_limit_is_refused(client, staff_user, movie, settings):
    settings.POSTER_MAX_BYTES = 1000
    client.force_login(staff_user)
    response = _upload(client, movie, _png(600, 900) + b"\0" * 2000)
    assert response.status_code == 200
    assert "larger than" in response.text


def test_media_is_served_with_long_cache_headers(client, staff_user, movie):
    client.force_login(staff_user)
    _upload(client, movie, _png(600, 900))
    movie.refresh_from_db()
    client.logout()
    response = client.get(movie.poster_card_url)
    assert response.status_code == 200
    assert response["Content-Type"] == "image/webp"
    assert response["Cache-Control"] == "public, max-age=31536000, immutable"
    head = client.head(movie.poster_card_url)
    assert head.status_code == 200 and head["Content-Type"] == "image/webp"
    assert client.post(movie.poster_card_url).status_code == 405


@pytest.mark.parametrize(
    "path",
    [
        "/media/../config/settings.py",
        "/media/%2e%2e/config/settings.py",
        "/media/posters/../../config/settings.py",
        "/media//etc/passwd",
        "/media/posters/missing.webp",
    ],
)
def test_media_outside_the_store_is_404(client, db, media_root, path):
    (media_root / "posters").mkdir(parents=True)
    assert client.get(path).status_code == 404


def test_media_serves_images_only(client, db, media_root):
    (media_root / "posters").mkdir(parents=True)
    (media_root / "posters" / "page.html").write_text("<script>alert(1)</script>")
    assert client.get("/media/posters/page.html").status_code == 404


def test_csp_still_allows_only_same_origin_images(client, staff_user, showtime):
    client.force_login(staff_user)
    _upload(client, showtime.movie, _png(600, 900))
    response = _home(client, showtime)
    img_src = re.search(r"img-src ([^;]*)", response["Content-Security-Policy"]).group(1)
    assert img_src.split() == ["'self'", "data:"]
    sources = re.findall(r'<img src="([^"]+)"', response.text)
    assert sources and all(src.startswith("/media/") for src in sources)
