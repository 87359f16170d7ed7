"""A price list's version goes up whenever what it charges changes, so a price card cached in
any web process (cinema.pricing.price_card) is never used after the change commits.

Saves and deletes through the ORM (admin, seed_demo, tests) all pass here; a bulk
`QuerySet.update()` of prices does not, and must call `bump_versions` itself.
"""

from django.db.models.signals import post_delete, post_save

from cinema.models import PriceList, SeatSupplement, TicketPrice, TicketType, new_version


def bump_versions(*, price_list_ids) -> None:
    PriceList.objects.filter(pk__in=set(price_list_ids)).update(version=new_version())


def _line_changed(sender, instance, **kwargs) -> None:
    bump_versions(price_list_ids=[instance.price_list_id])


def _ticket_type_changed(sender, instance, **kwargs) -> None:
    # A type's name, rule or age rating is on every card that sells it.
    lists = TicketPrice.objects.filter(ticket_type_id=instance.pk).values_list("price_list_id")
    bump_versions(price_list_ids=[pk for (pk,) in lists])


def connect() -> None:
    for model in (TicketPrice, SeatSupplement):
        post_save.connect(_line_changed, sender=model, dispatch_uid=f"price-{model.__name__}")
        post_delete.connect(_line_changed, sender=model, dispatch_uid=f"price-del-{model.__name__}")
    post_save.connect(_ticket_type_changed, sender=TicketType, dispatch_uid="price-type")
