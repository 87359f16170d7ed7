"""Movie posters: validate an image, resize it to the sizes the pages show, store it.

Admin uploads and `seed_demo` both go through `make_poster` and `save_movie_poster`.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from PIL import Image, ImageDraw, ImageFont, ImageOps, UnidentifiedImageError

if TYPE_CHECKING:
    from cinema.models import Movie

# Bounding boxes: the home page's card and the movie page. Both keep the poster's aspect.
CARD_BOX = (300, 450)
LARGE_BOX = (600, 900)
FORMAT, EXTENSION = "WEBP", "webp"


class PosterError(Exception):
    """The file cannot be a poster; the message says why, for the person who uploaded it."""


@dataclass(frozen=True)
class Poster:
    card: bytes
    large: bytes
    large_size: tuple[int, int]


def fit(size: tuple[int, int], box: tuple[int, int]) -> tuple[int, int]:
    """`size` scaled down (never up) to fit inside `box`, aspect kept."""
    width, height = size
    scale = min(box[0] / width, box[1] / height, 1)
    return max(1, round(width * scale)), max(1, round(height * scale))


def make_poster(*, data: bytes) -> Poster:
    """The card and large renditions of an image, or PosterError if it is not a usable one."""
    if len(data) > settings.POSTER_MAX_BYTES:
        raise PosterError(
            f"The file is larger than {settings.POSTER_MAX_BYTES // (1024 * 1024) or 1} MB."
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
            # Only the header is read so far: refuse before decoding a decompression bomb.
            if image.width * image.height > settings.POSTER_MAX_PIXELS:
                raise PosterError(
                    f"The image has too many pixels ({image.width}x{image.height}); "
                    f"use one under {_megapixels()} megapixels."
                )
            image.load()
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise PosterError(
            "The file is not an image Pillow can read (use JPEG, PNG or WebP)."
        ) from None
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise PosterError(
            f"The image has too many pixels; use one under {_megapixels()} megapixels."
        ) from None
    image = ImageOps.exif_transpose(image).convert("RGB")
    large = image.resize(fit(image.size, LARGE_BOX), Image.Resampling.LANCZOS)
    card = large.resize(fit(large.size, CARD_BOX), Image.Resampling.LANCZOS)
    return Poster(card=_encode(card), large=_encode(large), large_size=large.size)


def _megapixels() -> int:
    return settings.POSTER_MAX_PIXELS // 1_000_000


def _encode(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=FORMAT, quality=82, method=4)
    return buffer.getvalue()


def _store(data: bytes, kind: str) -> str:
    # Named by content: a new image is a new URL, so every URL can be cached forever.
    name = f"posters/{hashlib.sha256(data).hexdigest()[:32]}-{kind}.{EXTENSION}"
    if not default_storage.exists(name):
        name = default_storage.save(name, ContentFile(data))
    return name


def save_movie_poster(*, movie: Movie, poster: Poster) -> Movie:
    """Store both renditions through the default storage and point the movie at them."""
    movie.poster_card.name = _store(poster.card, "card")
    movie.poster_large.name = _store(poster.large, "large")
    movie.poster_width, movie.poster_height = poster.large_size
    movie.save(update_fields=["poster_card", "poster_large", "poster_width", "poster_height"])
    return movie


def draw_demo_poster(*, title: str, tone: int) -> bytes:
    """A deterministic PNG poster for a demo film: a two-colour gradient, a sun and the title."""
    palettes = [
        ((22, 50, 74), (201, 162, 39)),
        ((59, 29, 46), (224, 122, 63)),
        ((29, 43, 31), (185, 196, 107)),
        ((30, 30, 60), (120, 160, 220)),
    ]
    top, bottom = palettes[tone % len(palettes)]
    width, height = LARGE_BOX
    image = Image.new("RGB", LARGE_BOX)
    draw = ImageDraw.Draw(image)
    for y in range(height):
        t = y / (height - 1)
        draw.line(
            [(0, y), (width, y)],
            fill=tuple(round(a + (b - a) * t) for a, b in zip(top, bottom, strict=True)),
        )
    draw.ellipse([150, 330, 450, 630], fill=bottom, outline=(255, 255, 255), width=4)
    draw.rectangle([0, 600, width, height], fill=top)
    font = ImageFont.load_default(size=56)
    lines = _wrap(draw, title.upper(), font, width - 80)
    y = 110
    for line in lines:
        line_width = draw.textlength(line, font=font)
        draw.text(((width - line_width) / 2, y), line, font=font, fill=(255, 255, 255))
        y += 70
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _wrap(draw: ImageDraw.ImageDraw, text: str, font, max_width: int) -> list[str]:
    lines: list[str] = []
    for word in text.split():
        candidate = f"{lines[-1]} {word}" if lines else word
        if lines and draw.textlength(candidate, font=font) <= max_width:
            lines[-1] = candidate
        else:
            lines.append(word)
    return lines
