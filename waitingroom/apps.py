import contextlib

from django.apps import AppConfig
from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_logged_in
from django.db.models.signals import post_delete, post_save


class WaitingRoomConfig(AppConfig):
    name = "waitingroom"
    verbose_name = "Waiting room"

    def ready(self):
        from cinema.models import Showtime

        post_save.connect(_scheduled, sender=Showtime, dispatch_uid="waitingroom.scheduled")
        # The queue's edge (waitingroom.edge) knows a member from signing in, so their first visit
        # to a queue is answered there; and forgets them when their account or an address changes
        # (a new password, deactivation, an address confirmed or removed).
        from allauth.account.models import EmailAddress

        user_logged_in.connect(_signed_in, dispatch_uid="waitingroom.signed_in")
        for signal in (post_save, post_delete):
            signal.connect(
                _account_changed,
                sender=get_user_model(),
                dispatch_uid=f"waitingroom.account.{id(signal)}",
            )
            signal.connect(
                _address_changed,
                sender=EmailAddress,
                dispatch_uid=f"waitingroom.address.{id(signal)}",
            )


def _scheduled(sender, instance, created: bool, raw: bool = False, **kwargs) -> None:
    """cinema schedules showtimes without knowing of waiting rooms: a high-demand film's new
    showtime gets its room on here."""
    if created and not raw:
        from waitingroom.services import open_for_high_demand

        open_for_high_demand(showtime=instance)


def _account_changed(sender, instance, **kwargs) -> None:
    from waitingroom.remembered import forget_member

    forget_member(instance.pk)


def _address_changed(sender, instance, **kwargs) -> None:
    from waitingroom.remembered import forget_member

    forget_member(instance.user_id)


def _signed_in(sender, user, **kwargs) -> None:
    from django.conf import settings
    from redis.exceptions import RedisError

    from waitingroom.remembered import remember_member
    from waitingroom.services import NoPlace, member_for

    # Only the edge reads what is remembered (member_for is a query).
    if settings.QUEUE_AT_THE_EDGE and not isinstance(member_for(user), NoPlace):
        # Signing in must not fail for it: the view's first visit then remembers the member.
        with contextlib.suppress(RedisError):
            remember_member(user)
