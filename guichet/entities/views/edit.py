"""Changing a user's rights: the same matrix and profiles as “Add a user”, starting from the user's
current rights; reviewed, confirmed and signed. The services refuse self-widening and the loss
of the last administrator; the pages say so before anything is signed."""

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from guichet.entities import access, forms, services
from guichet.entities.models import Entity, Person, Right
from guichet.entities.views.add import PROFILES, profile_on
from guichet.entities.views.common import (
    administered,
    entity_user,
    rights_context,
    rights_dump,
    rights_load,
)
from guichet.entities.views.common import (
    posted as _posted,
)
from guichet.identity import signing

REVIEW, SIGNING = 1, 2


def _key(entity: Entity, person: Person) -> str:
    return f"entities.edit.{entity.pk}.{person.pk}"


def _state(request: HttpRequest, entity: Entity, person: Person, step: int) -> dict[str, Any] | None:
    state = request.session.get(_key(entity, person))
    return state if state and state.get("reached", 0) >= step else None


def _check(request: HttpRequest, entity: Entity, person: Person, rights: services.Rights) -> str | None:
    try:
        services.rights_change_check(entity=entity, user=person.user, rights=rights, acting_user=request.user)
    except services.EntitiesError as refusal:
        return refusal.message
    return None


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def edit_rights(request: HttpRequest, entity_id: int, person_id: int) -> HttpResponse:
    entity = administered(request, entity_id)
    person = entity_user(entity, person_id)
    accounts, contracts = services.entity_resources(entity)
    resources = {"accounts": accounts, "contracts": contracts, "require_one": False}
    pending = _state(request, entity, person, REVIEW)
    current = rights_load(pending) if pending else services.rights_of(entity=entity, user=person.user)
    profile = request.POST.get("profile", "")
    if request.method == "POST" and profile in PROFILES:
        rights = profile_on(profile, accounts, contracts, request.POST.get("administration") == "on")
        form = forms.RightsForm(rights=rights, **resources)
    else:
        form = forms.RightsForm(_posted(request), rights=current, **resources)
        if request.method == "POST" and form.is_valid():
            error = _check(request, entity, person, form.rights())
            if error is None:
                request.session[_key(entity, person)] = {**rights_dump(form.rights()), "reached": REVIEW}
                return redirect("entities:edit_review", entity.pk, person.pk)
            form.add_error(None, ValidationError(error))
    context = {
        "entity": entity,
        "person": person,
        "form": form,
        "is_self": person.user_id == request.user.pk,
        "profiles": [(p, services.PROFILE_LABELS[p]) for p in services.Profile],
        "back_url": reverse("entities:user", args=[entity.pk, person.pk]),
    }
    return render(request, "entities/rights.html", context)


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def edit_review(request: HttpRequest, entity_id: int, person_id: int) -> HttpResponse:
    entity = administered(request, entity_id)
    person = entity_user(entity, person_id)
    state = _state(request, entity, person, REVIEW)
    if state is None:
        return redirect("entities:edit_rights", entity.pk, person.pk)
    rights = rights_load(state)
    error = None
    if request.method == "POST":
        error = _check(request, entity, person, rights)
        if error is None:
            challenge = signing.signing_start(
                user=request.user,
                operation=services.rights_change_operation(entity=entity, person=person, rights=rights),
                request=request,
                next_url=reverse("entities:edit_complete", args=[entity.pk, person.pk]),
            )
            request.session[_key(entity, person)] = {**state, "reached": SIGNING}
            return redirect("identity:sign", challenge_id=challenge.pk)
    context = {"entity": entity, "person": person, "error": error, **rights_context(entity, rights)}
    return render(request, "entities/edit_review.html", context)


@login_required
@never_cache
@require_GET
def edit_complete(request: HttpRequest, entity_id: int, person_id: int) -> HttpResponse:
    entity = administered(request, entity_id)
    person = entity_user(entity, person_id)
    state = _state(request, entity, person, SIGNING)
    if state is None:
        return redirect("entities:edit_rights", entity.pk, person.pk)
    try:
        services.rights_change(
            entity=entity,
            user=person.user,
            rights=rights_load(state),
            acting_user=request.user,
            proof_id=request.GET.get("proof", ""),
            request=request,
        )
    except (services.EntitiesError, signing.SigningError) as error:
        messages.error(request, error.message)
        request.session[_key(entity, person)] = {**state, "reached": REVIEW}
        return redirect("entities:edit_review", entity.pk, person.pk)
    del request.session[_key(entity, person)]
    messages.success(request, _("The rights were changed. They apply at once."))
    if not access.may(request.user, Right.ADMINISTRATION, entity):
        return redirect("home")
    return redirect("entities:user", entity.pk, person.pk)


urlpatterns = [
    path("users/<int:entity_id>/<int:person_id>/rights/", edit_rights, name="edit_rights"),
    path("users/<int:entity_id>/<int:person_id>/rights/review/", edit_review, name="edit_review"),
    path("users/<int:entity_id>/<int:person_id>/rights/complete/", edit_complete, name="edit_complete"),
]
