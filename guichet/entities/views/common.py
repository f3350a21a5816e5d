"""What the delegated-administration views share: the administered entity (404 otherwise),
the entity's users, the rights kept in the session between steps, and the rights table."""

import dataclasses
from typing import Any

from django.http import HttpRequest
from django.shortcuts import get_object_or_404

from guichet.entities import access, services
from guichet.entities.models import RESOURCE_RIGHTS, Entity, Person, PersonStatus


def administered(request: HttpRequest, entity_id: int) -> Entity:
    """The entity if the user administers it; another entity (or none) answers 404."""
    return get_object_or_404(access.administered_entities(request.user), pk=entity_id)


def entity_user(entity: Entity, person_id: int) -> Person:
    """One of the entity's users (active or suspended); anything else answers 404."""
    return get_object_or_404(
        Person.objects.select_related("user"),
        pk=person_id,
        entity=entity,
        status__in=[PersonStatus.ACTIVE, PersonStatus.SUSPENDED],
    )


def rights_dump(rights: services.Rights) -> dict[str, Any]:
    """JSON-friendly form of ``rights`` for the session."""
    return {
        "rights": sorted([kind, pk, str(right)] for kind, pk, right in rights.resources),
        "administration": rights.administration,
    }


def rights_load(data: dict[str, Any]) -> services.Rights:
    return services.Rights(
        frozenset((str(kind), int(pk), str(right)) for kind, pk, right in data.get("rights", [])),
        bool(data.get("administration")),
    )


@dataclasses.dataclass(frozen=True)
class RightsRow:
    resource: str
    kind: str
    ticks: tuple[bool, ...]


def rights_rows(entity: Entity, rights: services.Rights) -> list[RightsRow]:
    """One row per account and contract with at least one right, in the entity's order."""
    accounts, contracts = services.entity_resources(entity)
    rows = []
    for kind, items in ((services.ACCOUNT, accounts), (services.CONTRACT, contracts)):
        for item in items:
            ticks = tuple((kind, item.pk, right) in rights.resources for right in RESOURCE_RIGHTS)
            if any(ticks):
                rows.append(RightsRow(str(item), kind, ticks))
    return rows


def rights_context(entity: Entity, rights: services.Rights) -> dict[str, Any]:
    return {
        "rights_rows": rights_rows(entity, rights),
        "administration": rights.administration,
        "right_labels": [right.label for right in RESOURCE_RIGHTS],
    }


def posted(request: HttpRequest) -> Any:
    """The form data of a POST (even an empty one, so that the form reports what is missing)."""
    return request.POST if request.method == "POST" else None
