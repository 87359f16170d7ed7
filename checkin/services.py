"""The door: what a scan of a ticket's code means for a showtime, decided by the database.

A scan admits a ticket by inserting its CheckIn row; the row's UNIQUE ticket decides between two
doors scanning at once. Every answer, admitted or refused, is audited with the staff member, the
device and the door. Doors that were offline upload their scans later (`sync`): each scan is
stored once under the id the device gave it, and a ticket admitted at two doors keeps the first
scan, the other reported as a conflict.
"""

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone

from audit.services import Kind, record
from bookings import ticket_codes
from bookings.models import Booking, DeviceLoan, Ticket, VoidTicket
from checkin.models import CheckIn, OfflineScan
from cinema.models import Showtime
from infra.dates import show_day

ADMIT = "admit"
ALREADY = "already"
WRONG_SHOWTIME = "wrong_showtime"
VOID = "void"
INVALID = "invalid"
BAD_TIME = "bad_time"

MAX_SYNC_SCANS = 500  # one upload; a door offline for longer sends several
# An offline scan is believed from the ticket's sale until this long after its show has ended (a
# door that uploads late); outside that, the device's clock or the upload is wrong, and a time
# taken on trust would win every conflict and break the ticket's later scans.
SCANS_AFTER_THE_SHOW = timedelta(hours=6)


@dataclass(frozen=True)
class Outcome:
    status: str
    message: str
    seat: str = ""
    ticket_id: int | None = None

    @property
    def admitted(self) -> bool:
        return self.status == ADMIT

    def as_data(self) -> dict:
        return {**asdict(self), "admitted": self.admitted}


@dataclass(frozen=True)
class Door:
    """Who is scanning, where."""

    staff: object
    device: str = ""
    door: str = ""


def device_loans(showtime: Showtime) -> list[DeviceLoan]:
    """The access devices lent for the showtime with paid bookings, to hand out and take back."""
    return list(
        DeviceLoan.objects.filter(showtime=showtime, booking__status=Booking.Status.CONFIRMED)
        .select_related("booking")
        .order_by("returned_at", "booking__ref", "pk")
    )


def checked_in(ticket_ids: list[int]) -> set[int]:
    """Which of these tickets are in already: what bookings asks through TICKET_CHECK_INS (it
    never imports the door) before passing a ticket on."""
    return set(CheckIn.objects.filter(ticket_id__in=ticket_ids).values_list("ticket_id", flat=True))


def counts(showtime: Showtime) -> dict:
    return {
        "in": CheckIn.objects.filter(showtime=showtime).count(),
        "sold": Ticket.objects.filter(showtime=showtime).count(),
    }


def scan(*, showtime: Showtime, code: str, door: Door) -> Outcome:
    """Check in the ticket `code` names at `showtime`, or say why not; audited either way."""
    outcome, ticket = _read(showtime=showtime, code=code)
    if ticket is not None:
        outcome = _admit(showtime=showtime, ticket=ticket, door=door, at=timezone.now())
    _audit(showtime, outcome, door)
    return outcome


def _read(*, showtime: Showtime, code: str) -> tuple[Outcome, Ticket | None]:
    """The ticket a code is for, if it may come in to `showtime`; else the refusal."""
    try:
        parsed = ticket_codes.decode(code)
    except ticket_codes.InvalidCode:
        return Outcome(INVALID, "Not a valid ticket"), None
    ticket = (
        Ticket.objects.select_related("seat", "ticket_type", "showtime__auditorium")
        .filter(pk=parsed.ticket_id, secret=parsed.secret)
        .first()
    )
    if ticket is None:
        return _void_or_invalid(ticket_id=parsed.ticket_id, secret=parsed.secret), None
    if ticket.showtime_id != showtime.pk:
        return Outcome(
            WRONG_SHOWTIME,
            f"Wrong showtime: this ticket is for {_when_and_where(ticket.showtime)}",
            seat=ticket.seat.label,
            ticket_id=ticket.pk,
        ), None
    return Outcome(ADMIT, "", seat=ticket.seat.label, ticket_id=ticket.pk), ticket


def _void_or_invalid(*, ticket_id: int, secret: str) -> Outcome:
    void = VoidTicket.objects.filter(secret=secret, ticket_id=ticket_id).first()
    if void is None:
        return Outcome(INVALID, "Not a valid ticket")
    return Outcome(VOID, f"Void: {void.reason}", seat=void.seat_label, ticket_id=void.ticket_id)


class _CodeVoided(Exception):
    """The ticket was refunded, reissued or passed on after the scan read its code."""


def _when_and_where(showtime: Showtime) -> str:
    local = timezone.localtime(showtime.starts_at)
    today = timezone.localdate()
    day = "" if local.date() == today else f" on {show_day(local)}"
    return f"{showtime.auditorium.name}{day} at {local:%H:%M}"


def _admit(
    *, showtime: Showtime, ticket: Ticket, door: Door, at: datetime, offline: bool = False
) -> Outcome:
    try:
        with transaction.atomic():
            # Read again under the ticket's lock, which passing it on or reissuing it takes too:
            # a code voided since the scan read it never admits anyone.
            if not Ticket.objects.select_for_update().filter(pk=ticket.pk, secret=ticket.secret):
                raise _CodeVoided
            CheckIn.objects.create(
                ticket=ticket,
                showtime=showtime,
                at=at,
                staff=door.staff,
                device=door.device[:40],
                door=door.door[:40],
                offline=offline,
            )
    except _CodeVoided:
        return _void_or_invalid(ticket_id=ticket.pk, secret=ticket.secret)
    except IntegrityError:
        return _already(ticket)
    kind = ticket.ticket_type.name if ticket.ticket_type else "Ticket"
    devices = DeviceLoan.objects.filter(booking_id=ticket.booking_id, returned_at=None)
    # Said with the booking's first ticket in, so the device is handed out once.
    first_in = CheckIn.objects.filter(ticket__booking_id=ticket.booking_id).count() == 1
    lend = [loan.get_kind_display().lower() for loan in devices] if first_in else []
    give = f" · give {', '.join(lend)}" if lend else ""
    return Outcome(
        ADMIT,
        f"Admit: {ticket.seat.label} {kind}{give}",
        seat=ticket.seat.label,
        ticket_id=ticket.pk,
    )


def _already(ticket: Ticket) -> Outcome:
    first = CheckIn.objects.select_related("staff").get(ticket=ticket)
    who = first.staff.get_username() if first.staff else "someone"
    where = f", {first.door}" if first.door else ""
    return Outcome(
        ALREADY,
        f"Already checked in at {timezone.localtime(first.at):%H:%M} by {who}{where}",
        seat=ticket.seat.label,
        ticket_id=ticket.pk,
    )


def undo(*, showtime: Showtime, ticket_id: int, door: Door) -> bool:
    """Take back a mistaken check-in; False if the ticket was not checked in here."""
    with transaction.atomic():
        check_in = (
            CheckIn.objects.select_for_update(of=("self",))
            .select_related("ticket__seat")
            .filter(showtime=showtime, ticket_id=ticket_id)
            .first()
        )
        if check_in is None:
            return False
        seat = check_in.ticket.seat.label
        check_in.delete()
        record(
            Kind.CHECK_IN_UNDONE,
            actor=door.staff,
            showtime_id=showtime.pk,
            seats=[seat],
            detail={"ticket": ticket_id, "device": door.device, "door": door.door},
        )
    return True


def sync(*, showtime: Showtime, scans: list[dict], door: Door) -> dict:
    """Store the scans a door made offline, in the order they were made, each once: the
    first scan of a ticket admits it (earlier than one already recorded, it takes its place);
    a later one is a conflict, reported and audited."""
    results, conflicts = [], []
    for item in sorted(scans, key=lambda scan: scan["scanned_at"]):
        if OfflineScan.objects.filter(scan_id=item["id"]).exists():
            results.append({"id": item["id"], "status": "duplicate"})
            continue
        scan_door = Door(staff=door.staff, device=item["device"], door=item["door"])
        outcome, conflict = _offline_scan(showtime=showtime, item=item, door=scan_door)
        try:
            with transaction.atomic():
                OfflineScan.objects.create(
                    scan_id=item["id"],
                    showtime=showtime,
                    code=item["code"][:200],
                    scanned_at=item["scanned_at"],
                    device=scan_door.device[:40],
                    door=scan_door.door[:40],
                    outcome=outcome.status,
                )
        except IntegrityError:  # the same upload, at the same moment, from a retry
            results.append({"id": item["id"], "status": "duplicate"})
            continue
        results.append({"id": item["id"], **outcome.as_data()})
        if conflict:
            conflicts.append(conflict)
    return {"results": results, "conflicts": conflicts, **counts(showtime)}


def _offline_scan(*, showtime: Showtime, item: dict, door: Door) -> tuple[Outcome, str]:
    outcome, ticket = _read(showtime=showtime, code=item["code"])
    if ticket is not None and (why := _wrong_time(ticket, showtime, item["scanned_at"])):
        outcome = Outcome(
            BAD_TIME,
            f"Scanned at a time that cannot be right for this ticket ({why}): not admitted",
            seat=ticket.seat.label,
            ticket_id=ticket.pk,
        )
        ticket = None
    if ticket is None:
        _audit(showtime, outcome, door, offline=True, scanned_at=item["scanned_at"])
        return outcome, ""
    outcome = _admit(
        showtime=showtime, ticket=ticket, door=door, at=item["scanned_at"], offline=True
    )
    if outcome.status != ALREADY:  # admitted, or its code was voided since it was read
        _audit(showtime, outcome, door, offline=True)
        return outcome, ""
    # Admitted twice: the first scan wins, whichever door made it.
    with transaction.atomic():
        first = (
            CheckIn.objects.select_for_update(of=("self",))
            .select_related("staff")
            .get(ticket=ticket)
        )
        earlier = item["scanned_at"] < first.at
        winner = (door.door, item["scanned_at"]) if earlier else (first.door, first.at)
        loser = (first.door, first.at) if earlier else (door.door, item["scanned_at"])
        if earlier:
            first.at, first.door, first.device = item["scanned_at"], door.door, door.device
            first.staff, first.offline = door.staff, True
            first.save(update_fields=["at", "door", "device", "staff", "offline"])
        message = (
            f"{ticket.seat.label} was admitted at {_door_time(*winner)} and scanned again at "
            f"{_door_time(*loser)}"
        )
        record(
            Kind.CHECK_IN_CONFLICT,
            actor=door.staff,
            showtime_id=showtime.pk,
            seats=[ticket.seat.label],
            detail={
                "ticket": ticket.pk,
                "first": {"door": winner[0], "at": winner[1].isoformat()},
                "again": {"door": loser[0], "at": loser[1].isoformat()},
                "device": door.device,
            },
        )
    return Outcome(ALREADY, message, seat=ticket.seat.label, ticket_id=ticket.pk), message


def _door_time(door: str, at: datetime) -> str:
    return f"{door or 'a door'} ({timezone.localtime(at):%H:%M:%S})"


def _wrong_time(ticket: Ticket, showtime: Showtime, at: datetime) -> str:
    """Why `at` cannot be when the ticket was scanned, or ""."""
    if at < ticket.sold_at:
        return "before it was sold"
    if at > showtime.ends_at + SCANS_AFTER_THE_SHOW:
        return "long after the show"
    return ""


def _audit(
    showtime: Showtime,
    outcome: Outcome,
    door: Door,
    *,
    offline: bool = False,
    scanned_at: datetime | None = None,
) -> None:
    record(
        Kind.CHECKED_IN if outcome.admitted else Kind.CHECK_IN_REFUSED,
        actor=door.staff,
        showtime_id=showtime.pk,
        seats=[outcome.seat] if outcome.seat else [],
        detail={
            "outcome": outcome.status,
            "message": outcome.message,
            "device": door.device,
            "door": door.door,
            **({"ticket": outcome.ticket_id} if outcome.ticket_id else {}),
            **({"offline": True} if offline else {}),
            **({"scanned_at": scanned_at.isoformat()} if scanned_at else {}),
        },
    )


def ticket_list(showtime: Showtime) -> dict:
    """What a door needs to work offline: the public key and every ticket's secret, seat, type
    and whether it is in already."""
    checked_in = set(CheckIn.objects.filter(showtime=showtime).values_list("ticket_id", flat=True))
    tickets = Ticket.objects.filter(showtime=showtime).select_related("seat", "ticket_type")
    void = VoidTicket.objects.filter(showtime=showtime)
    return {
        "showtime": showtime.pk,
        "public_key": ticket_codes.public_key_text(),
        "tickets": [
            {
                "id": ticket.pk,
                "secret": ticket.secret,
                "seat": ticket.seat.label,
                "type": ticket.ticket_type.name if ticket.ticket_type else "Ticket",
                "in": ticket.pk in checked_in,
            }
            for ticket in tickets
        ],
        "void": [
            {
                "id": item.ticket_id,
                "secret": item.secret,
                "seat": item.seat_label,
                "reason": item.reason,
            }
            for item in void
        ],
        **counts(showtime),
    }
