"""Display helpers of the transfer pages."""

from django import template

from guichet.banking.models import TransferStatus
from guichet.banking.transfers import reference_display

register = template.Library()
STATUS_LABELS = dict(TransferStatus.choices)


@register.filter
def iban_groups(value: str) -> str:
    """BE68 5390 0754 7034."""
    compact = "".join(str(value).split()).upper()
    return " ".join(compact[i : i + 4] for i in range(0, len(compact), 4))


@register.filter
def structured_reference(value: str) -> str:
    """RF18 5390 0754 7034 or +++010/8068/17183+++."""
    return reference_display(value)


@register.filter
def status_label(value: str) -> str:
    return str(STATUS_LABELS.get(value, value))
