from django import template

from seats.render import row_html

register = template.Library()


@register.simple_tag(takes_context=True)
def seat_cells(context, views):
    """The cells of one seat row, with the page's selected and conflicting seats marked."""
    return row_html(
        views, selected=context.get("selected") or (), conflicts=context.get("conflicts") or ()
    )
