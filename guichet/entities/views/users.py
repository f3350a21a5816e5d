"""User management (seed 001): the entity's users, the persons waiting to be added, the rights
history, one user's page, and suspending, reactivating or removing a user (signed).

Every page is reached through ``access.administered_entities``: a member without
the administration right, or another entity's administrator, gets a 404 on an
entity's pages; the overview tells a non-administrator whom to contact.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from guichet.entities import access, services
from guichet.entities.models import GrantChange, PersonStatus, Right
from guichet.entities.views import add, edit
from guichet.entities.views.common import administered, entity_user, rights_context
from guichet.identity import signing
from guichet.identity.signing import SigningError

HISTORY_ON_OVERVIEW = 10
HISTORY_PAGE = 25

STATUS_ACTIONS = {
    "suspend": {
        "kind": "entity_user_suspend",
        "title": _("Suspend a user"),
        "lead": _(
            "While suspended, the user has no access to your entity's accounts and contracts, and their "
            "open sessions end at once. You can reactivate them later."
        ),
        "button": _("Suspend"),
        "done": _("The user is suspended."),
        "statuses": (PersonStatus.ACTIVE,),
    },
    "reactivate": {
        "kind": "entity_user_reactivate",
        "title": _("Reactivate a user"),
        "lead": _("The user gets back the rights they held before the suspension."),
        "button": _("Reactivate"),
        "done": _("The user is active again."),
        "statuses": (PersonStatus.SUSPENDED,),
    },
    "remove": {
        "kind": "entity_user_remove",
        "title": _("Remove a user"),
        "lead": _(
            "The user loses every right in your entity. This cannot be undone: to give them access "
            "again, the advisor must register them again."
        ),
        "button": _("Remove"),
        "done": _("The user is removed."),
        "statuses": (PersonStatus.ACTIVE, PersonStatus.SUSPENDED),
    },
}


def _summary(counts: dict[str, tuple[int, int]]) -> list[str]:
    """Short words for the list of users: "Consultation: 3 accounts, 2 contracts"…"""
    lines = []
    for right in (Right.CONSULTATION, Right.MANAGEMENT, Right.VALIDATION):
        if right in counts:
            accounts, contracts = counts[right]
            lines.append(
                _("%(right)s: %(accounts)d account(s), %(contracts)d contract(s)")
                % {"right": right.label, "accounts": accounts, "contracts": contracts}
            )
    if Right.ADMINISTRATION in counts:
        lines.append(str(Right.ADMINISTRATION.label))
    return lines


def _entity_overview(entity) -> dict:
    summaries = services.rights_summaries(entity)
    users = [
        (person, _summary(summaries.get(person.user_id, {}))) for person in services.entity_users(entity)
    ]
    history = GrantChange.objects.filter(entity=entity).select_related("user")[:HISTORY_ON_OVERVIEW]
    return {
        "entity": entity,
        "users": users,
        "registered": services.registered_persons(entity),
        "history": list(history),
    }


@login_required
@require_GET
def users(request: HttpRequest) -> HttpResponse:
    entities = list(access.administered_entities(request.user))
    if not entities:
        return render(request, "entities/no_access.html", status=403)
    return render(request, "entities/users.html", {"entities": [_entity_overview(e) for e in entities]})


@login_required
@require_GET
def history(request: HttpRequest, entity_id: int) -> HttpResponse:
    entity = administered(request, entity_id)
    changes = GrantChange.objects.filter(entity=entity).select_related("user")
    page = Paginator(changes, HISTORY_PAGE).get_page(request.GET.get("page"))
    return render(request, "entities/history.html", {"entity": entity, "page": page})


@login_required
@require_GET
def user_detail(request: HttpRequest, entity_id: int, person_id: int) -> HttpResponse:
    entity = administered(request, entity_id)
    person = entity_user(entity, person_id)
    rights = services.rights_of(entity=entity, user=person.user)
    context = {
        "entity": entity,
        "person": person,
        "is_self": person.user_id == request.user.pk,
        "only_administrator": services.administrators(entity) == {person.user_id},
        **rights_context(entity, rights),
    }
    return render(request, "entities/user_detail.html", context)


@login_required
@require_GET
def user_added(request: HttpRequest, entity_id: int, person_id: int) -> HttpResponse:
    entity = administered(request, entity_id)
    person = entity_user(entity, person_id)
    return render(request, "entities/added.html", {"entity": entity, "person": person})


def _status_action(action: str) -> dict:
    if action not in STATUS_ACTIONS:
        raise Http404
    return STATUS_ACTIONS[action]


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def status_confirm(request: HttpRequest, entity_id: int, person_id: int, action: str) -> HttpResponse:
    entity = administered(request, entity_id)
    person = entity_user(entity, person_id)
    spec = _status_action(action)
    error = None
    try:
        services.user_status_check(
            kind=spec["kind"], entity=entity, user=person.user, acting_user=request.user
        )
    except services.EntitiesError as refusal:
        error = refusal.message
    if request.method == "POST" and error is None:
        challenge = signing.signing_start(
            user=request.user,
            operation=services.status_operation(kind=spec["kind"], person=person),
            request=request,
            next_url=reverse("entities:status_complete", args=[entity.pk, person.pk, action]),
        )
        return redirect("identity:sign", challenge_id=challenge.pk)
    context = {"entity": entity, "person": person, "action": action, "spec": spec, "error": error}
    return render(request, "entities/status_confirm.html", context)


@login_required
@require_GET
def status_complete(request: HttpRequest, entity_id: int, person_id: int, action: str) -> HttpResponse:
    entity = administered(request, entity_id)
    person = entity_user(entity, person_id)
    spec = _status_action(action)
    try:
        services.user_status_change(
            kind=spec["kind"],
            entity=entity,
            user=person.user,
            acting_user=request.user,
            proof_id=request.GET.get("proof", ""),
            request=request,
        )
    except (services.EntitiesError, SigningError) as error:
        messages.error(request, error.message)
        return redirect("entities:status_confirm", entity.pk, person.pk, action)
    messages.success(request, spec["done"])
    if action == "remove" or not access.may(request.user, Right.ADMINISTRATION, entity):
        return redirect("entities:users")
    return redirect("entities:user", entity.pk, person.pk)


urlpatterns = [
    path("users/", users, name="users"),
    path("users/<int:entity_id>/history/", history, name="history"),
    *add.urlpatterns,
    path("users/<int:entity_id>/<int:person_id>/", user_detail, name="user"),
    path("users/<int:entity_id>/<int:person_id>/added/", user_added, name="user_added"),
    *edit.urlpatterns,
    path("users/<int:entity_id>/<int:person_id>/<slug:action>/", status_confirm, name="status_confirm"),
    path(
        "users/<int:entity_id>/<int:person_id>/<slug:action>/complete/",
        status_complete,
        name="status_complete",
    ),
]
