"""Display helpers of the consultation pages."""

from django import template

register = template.Library()


@register.filter
def iban(value: str) -> str:
    """An IBAN in groups of 4 characters, as printed on bank documents (BE68 5390 0754 7034)."""
    compact = "".join(str(value).split()).upper()
    return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))
