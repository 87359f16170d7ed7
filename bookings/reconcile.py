"""Reconciliation: our payments against the gateway's sessions, both ways.

What is safe is fixed the way the missing message would have fixed it: money the gateway took
while its webhook was lost settles the payment (confirming the booking, or refunding it); a page
that closed unpaid, or an attempt that never reached the gateway, is closed; a refund still owed
is sent again under its own key. What needs a person is listed: money the gateway holds that no
payment here matches, a payment we think paid that the gateway does not, refund totals that
disagree.
"""

from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Sum
from django.utils import timezone

from bookings import services
from bookings.models import Payment, Refund
from payments.gateway import SessionStatus, get_gateway


@dataclass
class Report:
    checked: int = 0
    fixed: list[str] = field(default_factory=list)
    attention: list[str] = field(default_factory=list)


def reconcile_payments(*, since: datetime, fix: bool = True) -> Report:
    """Compare every gateway session and every payment of ours since `since`; fix what is safe
    (unless `fix` is off: then say what would be fixed) and report the rest."""
    report = Report()
    sessions = get_gateway().list_sessions(created_after=since)
    by_session = Payment.objects.in_bulk([s.id for s in sessions], field_name="session_id")
    by_key = Payment.objects.in_bulk(
        [s.client_reference for s in sessions], field_name="idempotency_key"
    )
    seen = set()
    for session in sessions:
        report.checked += 1
        payment = by_session.get(session.id) or by_key.get(session.client_reference)
        if payment is None:
            taken = "; money was taken: refund it from the gateway" if session.charge else ""
            report.attention.append(
                f"{session.id}: the gateway has a {session.status} session for "
                f"{session.amount} {session.currency} that matches no payment here{taken}"
            )
            continue
        seen.add(payment.pk)
        _check_session(report, payment=payment, session=session, fix=fix)
    stale = timezone.now() - services.PAYMENT_SESSION_LIFETIME
    for payment in Payment.objects.filter(created_at__gte=since).exclude(pk__in=seen):
        report.checked += 1
        if payment.status in (Payment.Status.CREATED, Payment.Status.OPEN):
            if payment.created_at < stale and payment.session_id:
                # A provider that lists only the sessions that took money (Stripe) left it out:
                # ask about it by itself, as the sweeper does.
                what = f"booking {payment.booking.ref}: payment {payment.pk} was not listed"
                _fix(report, fix, what, payment)
            elif payment.created_at < stale:
                ref = payment.booking.ref
                what = f"booking {ref}: payment {payment.pk} never reached the gateway"
                if fix:
                    what = f"{what}: {services.close_unreached(payment=payment)}"
                report.fixed.append(what if fix else f"would close: {what}")
        elif payment.status == Payment.Status.SUCCEEDED:
            report.attention.append(
                f"payment {payment.pk} (booking {payment.booking.ref}) is paid here, but the "
                "gateway has no such session"
            )
    for refund in Refund.objects.filter(status=Refund.Status.REQUESTED):
        if not fix:
            report.fixed.append(f"would send refund {refund.pk} of {refund.amount}")
            continue
        sent = services.send_refund(refund=refund)
        if sent.status == Refund.Status.SUCCEEDED:
            report.fixed.append(f"refund {refund.pk} of {refund.amount} sent ({sent.reference})")
        else:
            report.attention.append(f"refund {refund.pk} of {refund.amount} is still owed")
    return report


def _check_session(report: Report, *, payment: Payment, session, fix: bool) -> None:
    booking = payment.booking.ref
    if payment.session_id is None and fix:
        Payment.objects.filter(pk=payment.pk, session_id__isnull=True).update(
            session_id=session.id, status=Payment.Status.OPEN
        )
        payment.refresh_from_db()
    unsettled = payment.status in (Payment.Status.CREATED, Payment.Status.OPEN)
    if session.status == SessionStatus.PAID and unsettled:
        _fix(report, fix, f"booking {booking}: paid at the gateway, not settled here", payment)
    elif session.status == SessionStatus.EXPIRED and unsettled:
        _fix(report, fix, f"booking {booking}: the gateway's page closed unpaid", payment)
    elif payment.status == Payment.Status.SUCCEEDED and session.status != SessionStatus.PAID:
        report.attention.append(
            f"booking {booking}: payment {payment.pk} is paid here, the gateway says "
            f"{session.status}"
        )
    elif payment.status == Payment.Status.SUCCEEDED:
        here = payment.refunds.filter(status=Refund.Status.SUCCEEDED).aggregate(t=Sum("amount"))
        owed = payment.refunds.filter(status=Refund.Status.REQUESTED).exists()
        if not owed and (here["t"] or 0) != session.refunded:
            report.attention.append(
                f"booking {booking}: refunded {here['t'] or 0} here, {session.refunded} at the "
                "gateway"
            )


def _fix(report: Report, fix: bool, what: str, payment: Payment) -> None:
    if not fix:
        report.fixed.append(f"would settle: {what}")
        return
    report.fixed.append(f"{what}: {services.sync_payment(payment=payment)}")
