"""``{% authenticators_section %}``: the "Strong authentication" section of the Security page."""

from typing import Any

from django import template

from guichet.identity.views.authenticators import section_context

register = template.Library()


@register.inclusion_tag("identity/security/_authenticators.html", takes_context=True)
def authenticators_section(context: template.Context) -> dict[str, Any]:
    request = context["request"]
    return {"request": request, **section_context(request.user)}
