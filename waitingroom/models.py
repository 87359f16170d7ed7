from django.db import models

from cinema.models import Showtime


class WaitingRoom(models.Model):
    """A showtime's waiting room: whether its shoppers queue, and the pace they are let in at.
    A showtime without one has its room off, at these defaults (`of`); the row is made the first
    time staff change the room, or when a high-demand film's showtime is scheduled."""

    showtime = models.OneToOneField(
        Showtime, on_delete=models.CASCADE, primary_key=True, related_name="room"
    )
    on = models.BooleanField(
        default=False,
        help_text="Shoppers queue fairly and are let in at a pace the site can serve (for an "
        "on-sale rush). A new showtime of a high-demand film starts with it on.",
    )
    paused = models.BooleanField(
        default=False, help_text="Let nobody new in for now (the queue keeps its order)."
    )
    max_active = models.PositiveIntegerField(
        default=150, help_text="Shoppers choosing seats at once, at most."
    )
    admit_per_minute = models.PositiveIntegerField(
        default=600, help_text="New shoppers let in per minute, at most."
    )
    window_minutes = models.PositiveSmallIntegerField(
        default=10, help_text="How long a shopper let in has to hold seats."
    )

    def __str__(self) -> str:
        return f"Waiting room of {self.showtime}"

    @classmethod
    def of(cls, showtime: Showtime) -> "WaitingRoom":
        """The showtime's room (read once per showtime object: `select_related("room")` reads
        it with the showtime); one never set up is off, at the defaults, and not saved."""
        try:
            return showtime.room
        except cls.DoesNotExist:
            return cls(showtime=showtime)
