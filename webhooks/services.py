"""What staff do to deliveries: send them again."""

from django.db import transaction
from django.utils import timezone

from audit.services import Kind, record
from webhooks.models import Delivery


def send_again(*, deliveries, actor) -> int:
    """Queue the deliveries to go out at the next pass, under their own ids, with a new retry
    window from now; each audited. Returns how many."""
    now = timezone.now()
    with transaction.atomic():
        chosen = list(
            Delivery.objects.select_related("endpoint", "event")
            .select_for_update(of=("self",))
            .filter(pk__in=deliveries)
        )
        for delivery in chosen:
            record(
                Kind.WEBHOOK_SENT_AGAIN,
                actor=actor,
                showtime_id=delivery.event.showtime_id,
                booking_ref=delivery.event.booking_ref,
                detail={
                    "delivery": str(delivery.uuid),
                    "type": delivery.type,
                    "endpoint": delivery.endpoint.url,
                    "was": delivery.status,
                },
            )
        Delivery.objects.filter(pk__in=[delivery.pk for delivery in chosen]).update(
            status=Delivery.Status.PENDING, queued_at=now, next_attempt_at=now
        )
    return len(chosen)
