"""“Add a user” (seed 001): choose a registered person, check their data and e-mail, grant rights
(copy, custom or profile), review, confirm and sign. Plain form posts; the choices wait in
the session, keyed by entity, and each step opens only once the steps before it are done.
"""

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from guichet.entities import forms, services
from guichet.entities.models import Entity, Person, PersonStatus
from guichet.entities.views.common import administered, rights_context, rights_dump, rights_load
from guichet.entities.views.common import posted as _posted
from guichet.identity import signing
from guichet.identity.exceptions import IdentityError

# The steps, in order; ``reached`` in the session is the furthest step the administrator may open.
PERSON, DETAILS, METHOD, CHOOSE, MATRIX, REVIEW, SIGNING = range(7)
DIRECT_PROFILES = (services.Profile.DIRECTOR, services.Profile.ACCOUNTANT)
PROFILES = {str(profile) for profile in services.Profile}
PROFILE_HELP = {
    services.Profile.DIRECTOR: _("All consultation, management and validation rights, in one click."),
    services.Profile.ACCOUNTANT: _("Consultation only, on every account and contract."),
    services.Profile.PREPARER: _(
        "Consultation and management pre-ticked, without validation: untick what you do not want."
    ),
    services.Profile.VALIDATOR: _(
        "Consultation, management and validation pre-ticked: untick what you do not want."
    ),
}


def _key(entity: Entity) -> str:
    return f"entities.add.{entity.pk}"


def _state(request: HttpRequest, entity: Entity, step: int) -> dict[str, Any] | None:
    """The wizard's state if ``step`` may be opened, else None (no skipping by URL)."""
    state = request.session.get(_key(entity))
    if not state or state.get("reached", PERSON) < step:
        return None
    return state


def _save(request: HttpRequest, entity: Entity, state: dict[str, Any]) -> None:
    request.session[_key(entity)] = state


def _restart(entity: Entity) -> HttpResponse:
    return redirect("entities:add", entity.pk)


def _person(entity: Entity, state: dict[str, Any]) -> Person | None:
    return Person.objects.filter(
        entity=entity, pk=state.get("person"), status=PersonStatus.REGISTERED
    ).first()


def _page(
    request: HttpRequest, template: str, entity: Entity, step: int, status: int = 200, **context: Any
) -> HttpResponse:
    context = {"entity": entity, "step": step, **context}
    return render(request, f"entities/add/{template}", context, status=status)


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def add_person(request: HttpRequest, entity_id: int) -> HttpResponse:
    entity = administered(request, entity_id)
    persons = services.registered_persons(entity)
    form = forms.PersonChoiceForm(_posted(request), persons=persons)
    if request.method == "POST" and form.is_valid():
        _save(request, entity, {"reached": DETAILS, "person": form.cleaned_data["person"]})
        return redirect("entities:add_details", entity.pk)
    return _page(request, "person.html", entity, 1, form=form, persons=persons)


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def add_details(request: HttpRequest, entity_id: int) -> HttpResponse:
    entity = administered(request, entity_id)
    state = _state(request, entity, DETAILS)
    person = _person(entity, state) if state else None
    if person is None:
        return _restart(entity)
    form = forms.EmailForm(_posted(request), initial={"email": state.get("email") or person.email})
    if request.method == "POST" and form.is_valid():
        _save(request, entity, {"reached": METHOD, "person": person.pk, "email": form.cleaned_data["email"]})
        return redirect("entities:add_method", entity.pk)
    return _page(request, "details.html", entity, 2, form=form, person=person)


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def add_method(request: HttpRequest, entity_id: int) -> HttpResponse:
    entity = administered(request, entity_id)
    state = _state(request, entity, METHOD)
    if state is None or _person(entity, state) is None:
        return _restart(entity)
    choice = request.POST.get("method", "")
    if request.method == "POST" and choice in ("copy", "custom", *PROFILES):
        base = {"person": state["person"], "email": state["email"], "method": choice}
        if choice in ("copy", "custom"):
            _save(request, entity, {**base, "reached": CHOOSE})
            return redirect("entities:add_copy" if choice == "copy" else "entities:add_resources", entity.pk)
        rights = services.profile_rights(entity=entity, profile=choice)
        reached = REVIEW if choice in DIRECT_PROFILES else MATRIX
        _save(request, entity, {**base, **rights_dump(rights), "reached": reached})
        return redirect("entities:add_review" if reached == REVIEW else "entities:add_rights", entity.pk)
    profiles = [(p, services.PROFILE_LABELS[p], PROFILE_HELP[p]) for p in services.Profile]
    error = request.method == "POST"
    return _page(
        request, "method.html", entity, 3, profiles=profiles, error=error, status=400 if error else 200
    )


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def add_copy(request: HttpRequest, entity_id: int) -> HttpResponse:
    entity = administered(request, entity_id)
    state = _state(request, entity, CHOOSE)
    if state is None or state.get("method") != "copy" or _person(entity, state) is None:
        return _restart(entity)
    users = services.entity_users(entity)
    form = forms.SourceUserForm(_posted(request), users=users)
    if request.method == "POST" and form.is_valid():
        source = next(p for p in users if p.pk == form.cleaned_data["source"])
        copied = services.rights_of(entity=entity, user=source.user)
        rights = services.Rights(copied.resources, False)  # the administration right is never copied
        state.update(rights_dump(rights), reached=REVIEW, source=source.full_name)
        _save(request, entity, state)
        return redirect("entities:add_review", entity.pk)
    return _page(request, "copy.html", entity, 3, form=form)


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def add_resources(request: HttpRequest, entity_id: int) -> HttpResponse:
    entity = administered(request, entity_id)
    state = _state(request, entity, CHOOSE)
    if state is None or state.get("method") != "custom" or _person(entity, state) is None:
        return _restart(entity)
    accounts, contracts = services.entity_resources(entity)
    initial = {
        "accounts": [pk for kind, pk in state.get("resources", []) if kind == services.ACCOUNT],
        "contracts": [pk for kind, pk in state.get("resources", []) if kind == services.CONTRACT],
    }
    form = forms.ResourcesForm(_posted(request), accounts=accounts, contracts=contracts, initial=initial)
    if request.method == "POST" and form.is_valid():
        state.update(resources=form.resources(), reached=MATRIX)
        _save(request, entity, state)
        return redirect("entities:add_rights", entity.pk)
    return _page(request, "resources.html", entity, 3, form=form)


def _matrix_resources(entity: Entity, state: dict[str, Any]) -> tuple[list, list]:
    """Custom rights: the accounts and contracts chosen; otherwise all of the entity's."""
    accounts, contracts = services.entity_resources(entity)
    if state.get("method") != "custom":
        return accounts, contracts
    chosen = {(kind, pk) for kind, pk in state.get("resources", [])}
    return (
        [a for a in accounts if (services.ACCOUNT, a.pk) in chosen],
        [c for c in contracts if (services.CONTRACT, c.pk) in chosen],
    )


def profile_on(profile: str, accounts: list, contracts: list, administration: bool) -> services.Rights:
    """A profile's rights, on the resources shown only."""
    rights = services.PROFILE_RIGHTS[services.Profile(profile)]
    keys = {(services.ACCOUNT, a.pk, str(r)) for a in accounts for r in rights}
    keys |= {(services.CONTRACT, c.pk, str(r)) for c in contracts for r in rights}
    return services.Rights(frozenset(keys), administration)


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def add_rights(request: HttpRequest, entity_id: int) -> HttpResponse:
    entity = administered(request, entity_id)
    state = _state(request, entity, MATRIX)
    if state is None or _person(entity, state) is None:
        return _restart(entity)
    accounts, contracts = _matrix_resources(entity, state)
    resources = {"accounts": accounts, "contracts": contracts}
    profile = request.POST.get("profile", "")
    if request.method == "POST" and profile in PROFILES:
        rights = profile_on(profile, accounts, contracts, request.POST.get("administration") == "on")
        form = forms.RightsForm(rights=rights, **resources)
    else:
        form = forms.RightsForm(_posted(request), rights=rights_load(state), **resources)
        if request.method == "POST" and form.is_valid():
            state.update(rights_dump(form.rights()), reached=REVIEW)
            _save(request, entity, state)
            return redirect("entities:add_review", entity.pk)
    return render(
        request,
        "entities/rights.html",
        {
            "entity": entity,
            "form": form,
            "step": 3,
            "adding": True,
            "profiles": [(p, services.PROFILE_LABELS[p]) for p in services.Profile],
            "back_url": reverse("entities:add_method", args=[entity.pk]),
        },
    )


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def add_review(request: HttpRequest, entity_id: int) -> HttpResponse:
    entity = administered(request, entity_id)
    state = _state(request, entity, REVIEW)
    person = _person(entity, state) if state else None
    if person is None:
        return _restart(entity)
    rights = rights_load(state)
    error = None
    if request.method == "POST":
        try:
            services.user_add_check(
                entity=entity, person=person, email=state["email"], rights=rights, acting_user=request.user
            )
        except services.EntitiesError as refusal:
            error = refusal.message
        else:
            challenge = signing.signing_start(
                user=request.user,
                operation=services.user_add_operation(
                    entity=entity, person=person, email=state["email"], rights=rights
                ),
                request=request,
                next_url=reverse("entities:add_complete", args=[entity.pk]),
            )
            state["reached"] = SIGNING
            _save(request, entity, state)
            return redirect("identity:sign", challenge_id=challenge.pk)
    context = {"person": person, "state": state, "error": error, **rights_context(entity, rights)}
    return _page(request, "review.html", entity, 4, **context)


@login_required
@never_cache
@require_GET
def add_complete(request: HttpRequest, entity_id: int) -> HttpResponse:
    """Back from signing with ``?proof=``: the service applies exactly what was signed, or nothing."""
    entity = administered(request, entity_id)
    state = _state(request, entity, SIGNING)
    if state is None:
        return _restart(entity)
    person = Person.objects.filter(entity=entity, pk=state.get("person")).first()
    if person is None:
        return _restart(entity)
    try:
        services.user_add(
            entity=entity,
            person=person,
            email=state["email"],
            rights=rights_load(state),
            acting_user=request.user,
            proof_id=request.GET.get("proof", ""),
            request=request,
        )
    except (services.EntitiesError, signing.SigningError, IdentityError) as error:
        messages.error(request, error.message)
        state["reached"] = REVIEW
        _save(request, entity, state)
        return redirect("entities:add_review", entity.pk)
    del request.session[_key(entity)]
    return redirect("entities:user_added", entity.pk, person.pk)


urlpatterns = [
    path("users/<int:entity_id>/add/", add_person, name="add"),
    path("users/<int:entity_id>/add/details/", add_details, name="add_details"),
    path("users/<int:entity_id>/add/method/", add_method, name="add_method"),
    path("users/<int:entity_id>/add/copy/", add_copy, name="add_copy"),
    path("users/<int:entity_id>/add/resources/", add_resources, name="add_resources"),
    path("users/<int:entity_id>/add/rights/", add_rights, name="add_rights"),
    path("users/<int:entity_id>/add/review/", add_review, name="add_review"),
    path("users/<int:entity_id>/add/complete/", add_complete, name="add_complete"),
]
