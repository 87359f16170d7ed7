"""The door page and the endpoints it calls, all staff only.

The page works as a plain form (type or scan into the focused field, Enter); `static/js/
checkin.js` adds the camera, instant answers, and the offline mode with its upload (`sync`).
"""

from datetime import datetime, timedelta
from functools import wraps
from pathlib import Path

from django.conf import settings
from django.contrib.auth.views import redirect_to_login
from django.http import HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import get_object_or_404, render
from django.urls import reverse
from django.utils import timezone
from django.views.decorators.http import require_GET, require_POST

from bookings import services as bookings
from bookings.models import DeviceLoan
from checkin import services
from checkin.services import Door
from cinema.models import Showtime
from infra.domain import DomainError
from infra.inputs import load_json, whole_number

CODE_MAX = 300
NAME_MAX = 40
SYNC_MAX_BYTES = 512 * 1024
SERVICE_WORKER = Path(settings.BASE_DIR) / "static" / "js" / "checkin-sw.js"

# An answer's HTTP status: a refusal is a clear 4xx, never a 500.
STATUSES = {
    services.ADMIT: 200,
    services.ALREADY: 409,
    services.WRONG_SHOWTIME: 409,
    services.VOID: 409,
    services.INVALID: 400,
}


def _door_staff_only(view):
    """Staff of the Door role only (`checkin.use_door`): a visitor is sent to sign in (the page)
    or told to (the endpoints); anyone else signed in is refused."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        page = request.method == "GET" and "application/json" not in request.headers.get(
            "Accept", ""
        )
        if not request.user.is_authenticated:
            if page:
                return redirect_to_login(request.get_full_path())
            return JsonResponse({"error": "Sign in as staff to check tickets."}, status=401)
        if not request.user.has_perm("checkin.use_door"):
            message = "The door is for cinema staff of the Door role only."
            if page:
                return HttpResponse(message, status=403, content_type="text/plain; charset=utf-8")
            return JsonResponse({"error": message}, status=403)
        return view(request, *args, **kwargs)

    return wrapper


def _showtime(showtime_id: int) -> Showtime:
    return get_object_or_404(Showtime.objects.select_related("movie", "auditorium"), pk=showtime_id)


def _door(request, data) -> Door:
    return Door(
        staff=request.user,
        device=str(data.get("device", ""))[:NAME_MAX],
        door=str(data.get("door", ""))[:NAME_MAX],
    )


@require_GET
@_door_staff_only
def index(request):
    """Today's showtimes (and those that started in the last hours), to open a door for."""
    now = timezone.localtime()
    start = now.replace(hour=0, minute=0, second=0, microsecond=0)
    showtimes = (
        Showtime.objects.filter(starts_at__gte=start, starts_at__lt=start + timedelta(days=2))
        .select_related("movie", "auditorium")
        .order_by("starts_at")
    )
    return render(request, "checkin/index.html", {"showtimes": showtimes})


@require_GET
@_door_staff_only
def door(request, showtime_id: int):
    showtime = _showtime(showtime_id)
    return render(
        request,
        "checkin/door.html",
        {
            "showtime": showtime,
            "counts": services.counts(showtime),
            "outcome": None,
            "devices": services.device_loans(showtime),
        },
    )


@require_POST
@_door_staff_only
def return_device(request, showtime_id: int):
    """Staff take a lent device back at the end (field `loan`); the page again, or a 404."""
    showtime = _showtime(showtime_id)
    loan_id = whole_number(request.POST.get("loan", ""), digits=12)
    loan = DeviceLoan.objects.filter(pk=loan_id, showtime=showtime).first() if loan_id else None
    if loan is None:
        return HttpResponse(
            "That device is not lent for this showtime.",
            status=404,
            content_type="text/plain; charset=utf-8",
        )
    bookings.return_device(loan=loan, actor=request.user)
    response = HttpResponseRedirect(f"{reverse('checkin:door', args=[showtime.pk])}#devices")
    response.status_code = 303
    return response


@require_POST
@_door_staff_only
def scan(request, showtime_id: int):
    """One scan (field `code`): JSON for the page's script, the page itself for a plain form."""
    showtime = _showtime(showtime_id)
    code = request.POST.get("code", "")
    if len(code) > CODE_MAX:
        outcome = services.Outcome(services.INVALID, "Not a valid ticket")
    else:
        outcome = services.scan(showtime=showtime, code=code, door=_door(request, request.POST))
    counts = services.counts(showtime)
    status = STATUSES[outcome.status]
    if "application/json" in request.headers.get("Accept", ""):
        return JsonResponse({**outcome.as_data(), **counts}, status=status)
    context = {
        "showtime": showtime,
        "counts": counts,
        "outcome": outcome,
        "devices": services.device_loans(showtime),
    }
    return render(request, "checkin/door.html", context, status=status)


@require_GET
@_door_staff_only
def ticket_list(request, showtime_id: int):
    """Everything the page keeps for working offline."""
    response = JsonResponse(services.ticket_list(_showtime(showtime_id)))
    response["Cache-Control"] = "no-store"
    return response


@require_GET
@_door_staff_only
def counts(request, showtime_id: int):
    return JsonResponse(services.counts(_showtime(showtime_id)))


@require_POST
@_door_staff_only
def undo(request, showtime_id: int):
    ticket = whole_number(request.POST.get("ticket", ""))
    if ticket is None:
        return JsonResponse({"error": "Say which ticket's check-in to undo."}, status=400)
    showtime = _showtime(showtime_id)
    if not services.undo(showtime=showtime, ticket_id=ticket, door=_door(request, request.POST)):
        return JsonResponse({"error": "That ticket is not checked in here."}, status=404)
    return JsonResponse({"undone": ticket, **services.counts(showtime)})


class BadUpload(DomainError):
    code = "bad_upload"


SEND_JSON = 'Send JSON: {"scans": [{"id", "code", "scanned_at", "door"}]}.'


def _scans(body: bytes) -> list[dict]:
    """The uploaded scans, checked: a bad one refuses the whole upload, so nothing half-lands."""
    if len(body) > SYNC_MAX_BYTES:
        raise BadUpload("Upload at most 500 scans at a time.")
    try:
        scans = load_json(body or b"null")["scans"]
    except (ValueError, TypeError, KeyError):
        raise BadUpload(SEND_JSON) from None
    if not isinstance(scans, list) or len(scans) > services.MAX_SYNC_SCANS:
        raise BadUpload("Upload at most 500 scans at a time.")
    latest = timezone.now() + timedelta(minutes=5)
    checked = []
    for item in scans:
        if not isinstance(item, dict):
            raise BadUpload("Each scan is an object.")
        scan_id, code = item.get("id"), item.get("code")
        if not isinstance(scan_id, str) or not 8 <= len(scan_id) <= 64:
            raise BadUpload("Each scan needs the id its device gave it.")
        if not isinstance(code, str) or len(code) > CODE_MAX:
            raise BadUpload(f"Scan {scan_id[:64]} has no code.")
        try:
            scanned_at = datetime.fromisoformat(str(item.get("scanned_at")))
        except ValueError:
            raise BadUpload(f"Scan {scan_id[:64]} has no time.") from None
        if scanned_at.tzinfo is None or scanned_at > latest:
            raise BadUpload(f"Scan {scan_id[:64]} has a time that cannot be right.")
        checked.append(
            {
                "id": scan_id,
                "code": code,
                "scanned_at": scanned_at,
                "device": str(item.get("device", ""))[:NAME_MAX],
                "door": str(item.get("door", ""))[:NAME_MAX],
            }
        )
    return checked


@require_POST
@_door_staff_only
def sync(request, showtime_id: int):
    """A door back online uploads what it scanned offline; sending it again changes nothing."""
    showtime = _showtime(showtime_id)
    try:
        if request.content_type != "application/json":
            # A form's body has been read for its CSRF token and cannot be read again.
            raise BadUpload(SEND_JSON)
        scans = _scans(request.body)
    except BadUpload as error:
        return JsonResponse({"error": str(error)}, status=400)
    return JsonResponse(services.sync(showtime=showtime, scans=scans, door=_door(request, {})))


@require_GET
def service_worker(request):
    """The service worker that keeps the door page available offline; served from /checkin/
    so its scope covers every door page."""
    response = HttpResponse(SERVICE_WORKER.read_text(), content_type="text/javascript")
    response["Cache-Control"] = "no-cache"
    return response
