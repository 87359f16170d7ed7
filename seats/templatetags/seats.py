from django import template

from seats import render

register = template.Library()


@register.simple_tag(takes_context=True)
def seat_cells(context, row):
    """The cells of one seat row (label, seats) of the context's map, with the page's selected
    and conflicting seats marked."""
    return render.map_row_html(
        context["seat_map"],
        row,
        selected=context.get("selected") or (),
        conflicts=context.get("conflicts") or (),
    )


@register.simple_tag(takes_context=True)
def seat_list_items(context, views):
    """The seats of one row as list-mode checkboxes, the page's selected seats ticked."""
    return render.list_row_html(views, selected=context.get("selected") or ())


@register.filter
def seat_name(view):
    return render.seat_name(view)
