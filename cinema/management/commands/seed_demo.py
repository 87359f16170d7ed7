"""Load demo data: movies, three auditoriums and a week of showtimes. Safe to run again."""

import os
import secrets
from datetime import datetime, time, timedelta
from decimal import Decimal

from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from cinema.models import (
    AccessDevice,
    Auditorium,
    Genre,
    Movie,
    PriceList,
    SeatSupplement,
    Showtime,
    TicketPrice,
    TicketType,
    Venue,
    Voucher,
)
from cinema.posters import draw_demo_poster, make_poster, save_movie_poster
from cinema.services import save_auditorium, schedule_showtime

MOVIES = [
    {
        "title": "The Long Orbit",
        "director": "Ines Varga",
        "cast": "Tomas Reyes, Adaeze Okafor, Lin Mei",
        "trailer_url": "https://example.com/trailers/long-orbit",
        "runtime_minutes": 148,
        "age_rating": "12A",
        "genres": ["Sci-Fi", "Drama"],
        "synopsis": "A salvage crew drifting past Neptune answers a distress call that is "
        "forty years old, and finds the ship that sent it still waiting.",
    },
    {
        "title": "Paper Lanterns",
        "director": "Haruka Mori",
        "cast": "voices of Aiko Tan, Ben Carver, Rosa Lind",
        "trailer_url": "https://example.com/trailers/paper-lanterns",
        "runtime_minutes": 104,
        "age_rating": "PG",
        "genres": ["Animation", "Family"],
        "synopsis": "On the last night of the festival a girl and a lantern that refuses "
        "to fly chase the wind across a city of rooftops.",
    },
    {
        "title": "Cold Harbour",
        "director": "Callum Reid",
        "cast": "Nora Blake, Idris Mensah, Pieter de Vries",
        "trailer_url": "https://example.com/trailers/cold-harbour",
        "runtime_minutes": 121,
        "age_rating": "15",
        "genres": ["Thriller", "Crime"],
        "synopsis": "A harbour pilot with a perfect record is paid to run one ship aground. "
        "The storm arrives early.",
    },
    {
        "title": "Second Verse",
        "director": "Maya Goldberg",
        "cast": "Danny Fox, Priya Shah, Colm O'Neill",
        "trailer_url": "https://example.com/trailers/second-verse",
        "runtime_minutes": 97,
        "age_rating": "12A",
        "genres": ["Comedy", "Music"],
        "synopsis": "A one-hit wonder from 1998 is talked into a comeback tour by the fan "
        "who wrote the song's only cover.",
    },
    {
        "title": "Meridian",
        "director": "Samuel Achebe",
        "cast": "Grace Whitfield, Kwame Boateng, Elena Sokolova",
        "trailer_url": "https://example.com/trailers/meridian",
        "runtime_minutes": 163,
        "age_rating": "15",
        "genres": ["Drama", "History"],
        "synopsis": "Three surveyors, one line across a continent, and the people who "
        "were already living on it.",
    },
]


def _grand_layout() -> str:
    rows = [
        "# Screen 1: 20 rows, two aisles, wheelchair spaces in front and at the cross aisle,",
        "# premium seats in the middle block of L to P, VIP recliners in rows R and S",
    ]
    for row in "ABCDEFGHIJKLMNOPQRST":
        if row == "A":
            rows.append("A  aacc|ssssssssssssssss|ccaa")
        elif row == "K":
            rows.append("-")
            rows.append("K  ssss|ssssssssssssssss|ssss")
        elif row in "LMNOP":
            rows.append(f"{row}  ssss|pppppppppppppppp|ssss")
        elif row in "RS":
            rows.append(f"{row}  vvvv|vvvvvvvvvvvvvvvv|vvvv")
        elif row == "T":
            rows.append("T  ssss|ssssssss..ssssss|ssss.")
        else:
            rows.append(f"{row}  ssss|ssssssssssssssss|ssss")
    return "\n".join(rows)


# How many of each kind of access device every demo hall lends.
DEMO_DEVICES = 4

AUDITORIUMS = {
    "Screen 1 · Grand": _grand_layout(),
    "Screen 2 · Stalls": "\n".join(
        [
            "# Screen 2: narrow at the front, widening to the back, a centre aisle",
            "A  ...sssss|sssss...",
            "B  ..ssssss|ssssss..",
            "C  .sssssss|sssssss.",
            "D  ssssssss|ssssssss",
            "E  ssssssss|ssssssss",
            "F  ssssssss|ssssssss",
            "G  ssssssss|ssssssss",
            "H  acssssss|ssssssca",
            "J  ssssssss|ssssssss",
        ]
    ),
    "Screen 3 · Studio": "\n".join(
        [
            "# Screen 3: a small studio with sofas at the back and one pillar",
            "A  ssssssssss",
            "B  ssssxsssss",
            "C  ssssssssss",
            "D  ac......ca",
            "E  ss.ss.ss.ss",
        ]
    ),
}

# Local start times per auditorium, spaced for the longest film plus cleaning.
SLOTS = {
    "Screen 1 · Grand": [time(12, 0), time(15, 15), time(18, 30), time(21, 45)],
    "Screen 2 · Stalls": [time(11, 30), time(14, 30), time(17, 45), time(20, 50)],
    "Screen 3 · Studio": [time(13, 0), time(16, 10), time(19, 20)],
}
# name: (rule, highest age rating or "", default?)
TICKET_TYPES = {
    "Adult": ("", "", True),
    "Child": ("Under 15", "12A", False),
    "Senior": ("60 and over, ID may be asked", "", False),
    "Student": ("With a valid student card", "", False),
}
# Shows starting from 17:00 (local) are Peak, the rest Off-peak.
PRICE_LISTS = {
    "Peak": {
        "prices": {"Adult": "12.50", "Child": "8.50", "Senior": "9.50", "Student": "9.50"},
        "supplements": {"premium": "3.00", "vip": "6.50"},
    },
    "Off-peak": {
        "prices": {"Adult": "9.50", "Child": "6.50", "Senior": "7.00", "Student": "7.00"},
        "supplements": {"premium": "2.00", "vip": "5.00"},
    },
}
PEAK_FROM = time(17, 0)
DEMO_VOUCHER = ("DEMO10", "10", 1000)  # code, percent off each ticket, uses (the README names it)
DAYS = 9  # as many as the home page's date strip offers
CREDITS = ("director", "cast", "trailer_url")


def _extras(auditorium: str, slot: int, day_offset: int) -> dict:
    """Format and screening kinds of a new showtime, on a fixed pattern so every filter finds
    something most days: the Grand's evenings are IMAX, the Stalls' late show is 3D; the
    studio's first show is subtitled (open captions every third day), the second show audio
    described every other day; relaxed, parent-and-baby and seniors' mornings in turn."""
    extras: dict = {}
    if auditorium.startswith("Screen 1") and slot >= 2:
        extras["format"] = Showtime.Format.IMAX
    elif auditorium.startswith("Screen 2") and slot == 3:
        extras["format"] = Showtime.Format.THREE_D
    if auditorium.startswith("Screen 3") and slot == 0:
        if day_offset % 3 == 2:
            extras["open_captions"] = True
        else:
            extras["subtitle_language"] = "English"
    if slot == 1 and day_offset % 2 == 0:
        extras["audio_described"] = True
    if auditorium.startswith("Screen 2") and slot == 0:
        morning = ("relaxed", "parent_and_baby", "seniors")[day_offset % 3]
        extras[morning] = True
        extras["access_notes"] = {
            "relaxed": "Lights up low, sound turned down, and you may move about.",
            "parent_and_baby": "Babies under one go free; changing table in the foyer.",
            "seniors": "Tea and biscuits in the foyer from half an hour before.",
        }[morning]
    return extras


DEMO_VENUE = {
    "address": "14 Harbour Street\nBristol BS1 4RN",
    "getting_here": (
        "Five minutes' walk from Bristol Temple Meads station: leave by the main entrance and "
        "follow the harbour path west.\n\n"
        "Buses 8 and 72 stop outside (Harbour Street). There are bike racks by the entrance and "
        "a public car park (Harbourside NCP) two minutes away; we have no parking of our own."
    ),
    "accessibility": (
        "Step-free from the street to every screen, with a lift to Screens 2 and 3. Each screen "
        "has wheelchair spaces with a companion seat beside them: choose them on the seat map.\n\n"
        "Hearing loops in every screen, audio-described and subtitled showings marked in the "
        "listings, and an accessible toilet on each floor. Assistance dogs are welcome; a "
        "carer's ticket is free with a CEA card at the box office."
    ),
    "phone": "0117 496 0123",
    "email": "hello@marquee.example",
    "box_office_hours": "Daily from 11:00 until 30 minutes after the last show starts",
}


class Command(BaseCommand):
    help = "Load demo movies, auditoriums, a week of showtimes and a staff account (idempotent)."

    @transaction.atomic
    def handle(self, *args, **options):
        movies = [self._movie(spec) for spec in MOVIES]
        auditoriums = [self._auditorium(name, layout) for name, layout in AUDITORIUMS.items()]
        created = self._showtimes(movies, auditoriums, self._price_lists())
        self._voucher()
        self._venue()
        self._devices(auditoriums)
        self.stdout.write(
            f"Demo data ready: {len(movies)} movies, {len(auditoriums)} auditoriums, "
            f"{created} new showtimes ({Showtime.objects.upcoming().count()} upcoming)."
        )
        self._staff()

    def _movie(self, spec: dict) -> Movie:
        values = {key: value for key, value in spec.items() if key != "genres"}
        movie, _ = Movie.objects.get_or_create(slug=slugify(spec["title"]), defaults=values)
        movie.genres.set([Genre.objects.get_or_create(name=name)[0] for name in spec["genres"]])
        self._fill_credits(movie, spec)
        if not movie.poster_large:
            image = draw_demo_poster(title=movie.title, tone=MOVIES.index(spec))
            save_movie_poster(movie=movie, poster=make_poster(data=image))
        return movie

    def _fill_credits(self, movie: Movie, spec: dict) -> None:
        """Credits for films seeded before the demo had them; what staff typed is kept."""
        missing = [name for name in CREDITS if not getattr(movie, name)]
        for name in missing:
            setattr(movie, name, spec[name])
        if missing:
            movie.save(update_fields=missing)

    def _auditorium(self, name: str, layout: str) -> Auditorium:
        auditorium = Auditorium.objects.filter(name=name).first()
        if auditorium is None:
            auditorium = save_auditorium(auditorium=Auditorium(name=name, layout=layout))
        return auditorium

    def _price_lists(self) -> dict[str, PriceList]:
        """The ticket types and the two price lists; prices staff changed are kept."""
        types = {}
        for position, (name, (rule, rating, default)) in enumerate(TICKET_TYPES.items()):
            types[name], _ = TicketType.objects.get_or_create(
                name=name,
                defaults={
                    "rule": rule,
                    "highest_rating": rating,
                    "is_default": default
                    and not TicketType.objects.filter(is_default=True).exists(),
                    "position": position,
                },
            )
        lists = {}
        for name, spec in PRICE_LISTS.items():
            lists[name], _ = PriceList.objects.get_or_create(name=name)
            for type_name, price in spec["prices"].items():
                TicketPrice.objects.get_or_create(
                    price_list=lists[name],
                    ticket_type=types[type_name],
                    defaults={"price": Decimal(price)},
                )
            for category, amount in spec["supplements"].items():
                SeatSupplement.objects.get_or_create(
                    price_list=lists[name], category=category, defaults={"amount": Decimal(amount)}
                )
        return lists

    def _voucher(self) -> None:
        code, percent, uses = DEMO_VOUCHER
        if not Voucher.objects.filter(code=code).exists():
            Voucher.objects.create(
                code=code, kind=Voucher.Kind.PERCENT, value=Decimal(percent), max_uses=uses
            )

    def _venue(self) -> None:
        """The cinema page's demo text, once: what staff wrote since is kept."""
        Venue.objects.get_or_create(pk=Venue.SINGLE, defaults=DEMO_VENUE)

    def _devices(self, auditoriums: list[Auditorium]) -> None:
        """Headsets and caption devices for every hall to lend; stock staff changed is kept."""
        for auditorium in auditoriums:
            for kind in AccessDevice.Kind.values:
                AccessDevice.objects.get_or_create(
                    auditorium=auditorium, kind=kind, defaults={"stock": DEMO_DEVICES}
                )

    def _showtimes(
        self,
        movies: list[Movie],
        auditoriums: list[Auditorium],
        price_lists: dict[str, PriceList],
    ) -> int:
        """Every slot of every day, for a film in turn; Peak prices from 17:00 (local)."""
        today = timezone.localdate()
        now = timezone.now()
        created = 0
        for day_offset in range(DAYS):
            day = today + timedelta(days=day_offset)
            for a_index, auditorium in enumerate(auditoriums):
                for s_index, slot in enumerate(SLOTS[auditorium.name]):
                    starts_at = timezone.make_aware(datetime.combine(day, slot))
                    if starts_at <= now:
                        continue
                    if Showtime.objects.filter(auditorium=auditorium, starts_at=starts_at).exists():
                        continue
                    movie = movies[(day_offset + a_index * 2 + s_index) % len(movies)]
                    showtime = schedule_showtime(
                        movie=movie,
                        auditorium=auditorium,
                        starts_at=starts_at,
                        price_list=price_lists["Peak" if slot >= PEAK_FROM else "Off-peak"],
                    )
                    extras = _extras(auditorium.name, s_index, day_offset)
                    if extras:
                        for name, value in extras.items():
                            setattr(showtime, name, value)
                        showtime.save(update_fields=list(extras))
                    created += 1
        return created

    def _staff(self) -> None:
        User = get_user_model()
        if User.objects.filter(username="staff").exists():
            self.stdout.write(
                "Staff account staff@example.com exists (manage.py changepassword staff to reset)."
            )
            return
        password = os.environ.get("DEMO_STAFF_PASSWORD") or secrets.token_urlsafe(12)
        staff = User.objects.create_superuser("staff", "staff@example.com", password)
        # The demo's own address: no confirmation link to click before signing in or holding.
        EmailAddress.objects.create(user=staff, email=staff.email, verified=True, primary=True)
        if os.environ.get("DEMO_STAFF_PASSWORD"):
            self.stdout.write("Staff account staff@example.com created with DEMO_STAFF_PASSWORD.")
        else:
            self.stdout.write(
                self.style.WARNING(
                    f"Staff account created: sign in as staff@example.com with password "
                    f"'{password}' (shown once)."
                )
            )
