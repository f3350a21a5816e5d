"""The "Strong authentication" part of the Security page: the user's passkeys and
authenticator app, adding, renaming and removing them, and recent events.

Everything concerns the logged-in user only: an authenticator is fetched
through ``authenticator_of`` (another user's id answers 404). Adding, renaming
and removing are signed first with the signing service (identity.signing): the
signing page comes back here with ``?proof=``, and the proof is consumed in the
transaction that makes the change. Adding signs what will be added (the app, or
the passkey's name), then the enrolment runs within the proof's validity.
Removing the last one is thus confirmed by a fresh strong authentication (the
signature with it), and refused where the policy requires strong authentication
(``sca.sca_required``). allauth's own MFA views are not used: their flows add
recovery codes and their own e-mails; we call its TOTP and WebAuthn internals.
"""

import base64
from typing import Any
from urllib.parse import urlencode

from allauth.mfa.adapter import get_adapter as mfa_adapter
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal import auth as totp_auth
from allauth.mfa.webauthn.internal import auth as webauthn_auth
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from guichet.audit.models import AuditEvent
from guichet.audit.services import record
from guichet.identity import signing
from guichet.identity.forms.authenticators import AppAddForm, PasskeyAddForm, PasskeyNameForm, RenameForm
from guichet.identity.models import User
from guichet.identity.reenrol import TYPE_LABELS, authenticator_name, mfa_changed_notify
from guichet.identity.sca import authenticators_of, sca_required

RECENT_EVENTS = 10
EVENT_PREFIXES = ("identity.sca_", "identity.mfa_", "identity.reenrol_")
EVENT_ACTIONS = ("identity.signed", "identity.signing_failed")  # operations confirmed (identity.signing)
EVENT_LABELS = {
    "identity.mfa_added": gettext_lazy("Authenticator added"),
    "identity.mfa_removed": gettext_lazy("Authenticator removed"),
    "identity.mfa_renamed": gettext_lazy("Passkey renamed"),
    "identity.mfa_enrolled": gettext_lazy("Authenticator enrolled"),
    "identity.sca_enrolled": gettext_lazy("Authenticator enrolled"),
    "identity.mfa_succeeded": gettext_lazy("Strong authentication succeeded"),
    "identity.sca_succeeded": gettext_lazy("Strong authentication succeeded"),
    "identity.mfa_failed": gettext_lazy("Strong authentication failed"),
    "identity.sca_failed": gettext_lazy("Strong authentication failed"),
    "identity.signed": gettext_lazy("Operation confirmed"),
    "identity.signing_failed": gettext_lazy("Operation confirmation failed"),
    "identity.reenrol_started": gettext_lazy("New enrolment started by an advisor"),
    "identity.reenrol_step": gettext_lazy("New enrolment: step passed"),
    "identity.reenrol_completed": gettext_lazy("New enrolment completed"),
}
OTHER_EVENT = gettext_lazy("Strong authentication event")


# --- Reads -----------------------------------------------------------------------------


def authenticator_of(*, user: User, pk: int) -> Authenticator:
    """One of the user's own strong authenticators, or 404."""
    authenticator = authenticators_of(user).filter(pk=pk).first()
    if authenticator is None:
        raise Http404
    return authenticator


def sca_events_of(*, user: User) -> QuerySet[AuditEvent]:
    """The user's recent strong-authentication events, newest first."""
    prefixes = Q(action__in=EVENT_ACTIONS)
    for prefix in EVENT_PREFIXES:
        prefixes |= Q(action__startswith=prefix)
    return AuditEvent.objects.filter(
        prefixes, target_type=User._meta.label_lower, target_id=str(user.pk)
    ).order_by("-seq")[:RECENT_EVENTS]


def authenticator_rows(user: User) -> list[dict[str, Any]]:
    return [
        {
            "pk": authenticator.pk,
            "name": authenticator_name(authenticator),
            "type": TYPE_LABELS[authenticator.type],
            "is_passkey": authenticator.type == Authenticator.Type.WEBAUTHN,
            "created_at": authenticator.created_at,
            "last_used_at": authenticator.last_used_at,
        }
        for authenticator in authenticators_of(user)
    ]


def section_context(user: User) -> dict[str, Any]:
    """What the Security page's section shows (templatetags/sca.py)."""
    rows = authenticator_rows(user)
    return {
        "authenticators": rows,
        "can_add_app": not authenticators_of(user).filter(type=Authenticator.Type.TOTP).exists(),
        "sca_required": sca_required(user),
        "sca_events": [
            {"event": event, "label": EVENT_LABELS.get(event.action, OTHER_EVENT)}
            for event in sca_events_of(user=user)
        ],
    }


def app_setup_context(user: User, secret: str) -> dict[str, Any]:
    """The QR code (an SVG image as a data: URI) and the secret in groups of 4, for the app to read."""
    adapter = mfa_adapter()
    url = adapter.build_totp_url(user, secret)
    svg = adapter.build_totp_svg(url)
    return {
        "qr_data_uri": "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode(),
        "secret_groups": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
    }


# --- Operations signed ------------------------------------------------------------------


def add_operation(name: str, kind: str = Authenticator.Type.WEBAUTHN) -> signing.Operation:
    """Adding ``name`` of type ``kind``: the type's code is signed too (untranslated,
    so a passkey named like an app cannot stand for one, whatever the language)."""
    return signing.Operation(kind="authenticator_add", target=f"{name} [{kind}]")


def app_add_operation() -> signing.Operation:
    return add_operation("TOTP", Authenticator.Type.TOTP)


def remove_operation(authenticator: Authenticator) -> signing.Operation:
    """Bound to this authenticator (its id and type), not only to its name."""
    return signing.Operation(
        kind="authenticator_remove",
        target=f"{authenticator_name(authenticator)} [{authenticator.type} #{authenticator.pk}]",
    )


def rename_operation(authenticator: Authenticator, name: str) -> signing.Operation:
    old = authenticator_name(authenticator)
    return signing.Operation(kind="authenticator_rename", target=f"#{authenticator.pk}: {old!r} → {name!r}")


# --- Writes (each consumes the user's proof for its operation in its own transaction) ----


def authenticator_app_add(
    *, user: User, secret: str, code: str, proof_id: str, request: HttpRequest
) -> Authenticator:
    """Saves the app whose ``code`` for ``secret`` was just checked; that code cannot be used again."""
    with transaction.atomic():
        signing.signing_proof_consume(proof_id=proof_id, user=user, operation=app_add_operation())
        authenticator = totp_auth.TOTP.activate(user, secret).instance
        authenticator.wrap()._mark_code_used(code)  # no reuse of the enrolment code
        record(
            action="identity.mfa_added", actor=user, target=user, request=request, details={"type": "totp"}
        )
        mfa_changed_notify(user=user, change="added", authenticator=authenticator)
    return authenticator


def authenticator_passkey_add(
    *, user: User, name: str, credential: dict, proof_id: str, request: HttpRequest
) -> Authenticator:
    """Saves a passkey whose registration ceremony was just verified."""
    with transaction.atomic():
        signing.signing_proof_consume(proof_id=proof_id, user=user, operation=add_operation(name))
        authenticator = webauthn_auth.WebAuthn.add(user, name, credential).instance
        record(
            action="identity.mfa_added",
            actor=user,
            target=user,
            request=request,
            details={"type": "webauthn"},
        )
        mfa_changed_notify(user=user, change="added", authenticator=authenticator)
    return authenticator


def authenticator_rename(
    *, user: User, authenticator: Authenticator, name: str, proof_id: str, request: HttpRequest
) -> None:
    with transaction.atomic():
        signing.signing_proof_consume(
            proof_id=proof_id, user=user, operation=rename_operation(authenticator, name)
        )
        wrapper = authenticator.wrap()
        wrapper.name = name
        authenticator.save(update_fields=["data"])
        record(
            action="identity.mfa_renamed",
            actor=user,
            target=user,
            request=request,
            details={"type": authenticator.type},
        )


def authenticator_remove(
    *, user: User, authenticator: Authenticator, proof_id: str, request: HttpRequest
) -> None:
    """Removes one authenticator. The policy (never the last one where strong
    authentication is required) is checked again here under a lock on the user,
    so that two removals at once cannot both pass it."""
    with transaction.atomic():
        User.objects.select_for_update().filter(pk=user.pk).first()
        if sca_required(user) and authenticators_of(user).count() <= 1:
            raise PermissionDenied(_("Add another passkey or authenticator app before removing this one."))
        signing.signing_proof_consume(proof_id=proof_id, user=user, operation=remove_operation(authenticator))
        authenticator.delete()
        # allauth's recovery codes make no sense without another authenticator.
        if not authenticators_of(user).exists():
            Authenticator.objects.filter(user=user, type=Authenticator.Type.RECOVERY_CODES).delete()
        record(
            action="identity.mfa_removed",
            actor=user,
            target=user,
            request=request,
            details={"type": authenticator.type},
        )
        mfa_changed_notify(user=user, change="removed", authenticator=authenticator)


# --- Views -----------------------------------------------------------------------------


def _sign(request: HttpRequest, operation: signing.Operation, next_url: str) -> HttpResponse:
    """Sends the user to sign ``operation``; the signing page comes back to ``next_url`` with ``?proof=``."""
    challenge = signing.signing_start(
        user=request.user, operation=operation, request=request, next_url=next_url
    )
    return redirect("identity:sign", challenge_id=challenge.pk)


def _proof_id(request: HttpRequest) -> str:
    return request.POST.get("proof") or request.GET.get("proof", "")


def _proof_error(request: HttpRequest, proof_id: str, operation: signing.Operation) -> str:
    """Why ``proof_id`` cannot confirm ``operation`` (now), or ""."""
    try:
        signing.signing_proof_check(proof_id=proof_id, user=request.user, operation=operation)
    except signing.SigningError as error:
        return error.message
    return ""


def _with_query(url: str, **params: str) -> str:
    return f"{url}?{urlencode(params)}"


@login_required
@require_http_methods(["GET", "POST"])
def app_add(request: HttpRequest) -> HttpResponse:
    user = request.user
    if authenticators_of(user).filter(type=Authenticator.Type.TOTP).exists():
        messages.info(
            request, _("You already have an authenticator app. Remove it first to use another one.")
        )
        return redirect("identity:security")
    operation = app_add_operation()
    if request.method == "POST" and request.POST.get("action") == "sign":
        return _sign(request, operation, reverse("identity:authenticator_app_add"))
    proof_id = _proof_id(request)
    proof_error = _proof_error(request, proof_id, operation) if proof_id else ""
    if not proof_id or proof_error:
        context = {"signed": False, "proof_error": proof_error}
        return render(request, "identity/authenticators/app_add.html", context)
    secret = totp_auth.get_totp_secret(regenerate=request.method != "POST")
    form = AppAddForm(request.POST or None, user=user, secret=secret)
    if request.method == "POST" and form.is_valid():
        try:
            authenticator_app_add(
                user=user,
                secret=secret,
                code=form.cleaned_data["code"].strip(),
                proof_id=proof_id,
                request=request,
            )
        except signing.SigningError as error:
            messages.error(request, error.message)
            return redirect("identity:authenticator_app_add")
        totp_auth.clear_totp_secret(request)
        messages.success(request, _("Your authenticator app is added."))
        return redirect("identity:security")
    context = {"signed": True, "form": form, "proof_id": proof_id, **app_setup_context(user, secret)}
    return render(request, "identity/authenticators/app_add.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def passkey_add(request: HttpRequest) -> HttpResponse:
    """Step 1: the name, signed; step 2 (back with ``?proof=``): the registration ceremony."""
    user = request.user
    page = "identity/authenticators/passkey_add.html"
    if request.method == "POST" and request.POST.get("action") == "sign":
        name_form = PasskeyNameForm(request.POST)
        if name_form.is_valid():
            name = name_form.cleaned_data["name"]
            next_url = _with_query(reverse("identity:authenticator_passkey_add"), name=name)
            return _sign(request, add_operation(name), next_url)
        return render(request, page, {"signed": False, "name_form": name_form})
    proof_id = _proof_id(request)
    name = request.POST.get("name") or request.GET.get("name", "")
    proof_error = _proof_error(request, proof_id, add_operation(name)) if proof_id else ""
    if not proof_id or proof_error:
        name_form = PasskeyNameForm(initial={"name": name})
        return render(request, page, {"signed": False, "name_form": name_form, "proof_error": proof_error})
    form = PasskeyAddForm(request.POST or None, user=user)
    if request.method == "POST" and form.is_valid():
        try:
            authenticator_passkey_add(
                user=user,
                name=form.cleaned_data["name"],
                credential=form.cleaned_data["credential"],
                proof_id=proof_id,
                request=request,
            )
        except signing.SigningError as error:
            messages.error(request, error.message)
            return redirect("identity:authenticator_passkey_add")
        messages.success(request, _("Your passkey is added."))
        return redirect("identity:security")
    options = webauthn_auth.begin_registration(user, passwordless=False)
    context = {"signed": True, "form": form, "options": options, "name": name, "proof_id": proof_id}
    return render(request, page, context)


@login_required
@require_http_methods(["GET", "POST"])
def rename(request: HttpRequest, pk: int) -> HttpResponse:
    authenticator = authenticator_of(user=request.user, pk=pk)
    if authenticator.type != Authenticator.Type.WEBAUTHN:
        raise Http404
    proof_id = request.GET.get("proof", "")
    if request.method == "GET" and proof_id:  # back from the signing page: rename at once
        signed = RenameForm({"name": request.GET.get("name", "")})
        if not signed.is_valid():
            return redirect("identity:authenticator_rename", pk=pk)
        try:
            authenticator_rename(
                user=request.user,
                authenticator=authenticator,
                name=signed.cleaned_data["name"],
                proof_id=proof_id,
                request=request,
            )
        except signing.SigningError as error:
            messages.error(request, error.message)
            return redirect("identity:authenticator_rename", pk=pk)
        messages.success(request, _("The passkey is renamed."))
        return redirect("identity:security")
    form = RenameForm(request.POST or None, initial={"name": authenticator_name(authenticator)})
    if request.method == "POST" and form.is_valid():
        name = form.cleaned_data["name"]
        next_url = _with_query(reverse("identity:authenticator_rename", args=[pk]), name=name)
        return _sign(request, rename_operation(authenticator, name), next_url)
    context = {"form": form, "authenticator_name": authenticator_name(authenticator)}
    return render(request, "identity/authenticators/rename.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def remove(request: HttpRequest, pk: int) -> HttpResponse:
    """Confirm, sign, then back with ``?proof=``: removed at once."""
    user = request.user
    authenticator = authenticator_of(user=user, pk=pk)
    is_last = authenticators_of(user).count() == 1
    proof_id = request.GET.get("proof", "")
    context: dict[str, Any] = {
        "authenticator_name": authenticator_name(authenticator),
        "authenticator_type": TYPE_LABELS[authenticator.type],
        "authenticator_pk": authenticator.pk,
        "is_last": is_last,
    }
    if is_last and sca_required(user):
        status = 403 if request.method == "POST" or proof_id else 200
        return render(
            request, "identity/authenticators/remove.html", {**context, "refused": True}, status=status
        )
    if request.method == "POST":
        return _sign(
            request, remove_operation(authenticator), reverse("identity:authenticator_remove", args=[pk])
        )
    if proof_id:
        try:
            authenticator_remove(user=user, authenticator=authenticator, proof_id=proof_id, request=request)
        except signing.SigningError as error:
            messages.error(request, error.message)
            return redirect("identity:authenticator_remove", pk=pk)
        messages.success(request, _("The authenticator is removed."))
        return redirect("identity:security")
    return render(request, "identity/authenticators/remove.html", context)


urlpatterns = [
    path("app/add/", never_cache(app_add), name="authenticator_app_add"),
    path("passkey/add/", never_cache(passkey_add), name="authenticator_passkey_add"),
    path("<int:pk>/rename/", never_cache(rename), name="authenticator_rename"),
    path("<int:pk>/remove/", never_cache(remove), name="authenticator_remove"),
]
