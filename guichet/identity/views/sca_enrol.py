"""Enrolment of a passkey or an authenticator app during the login (stages.ScaEnrolStage).

Only the pending login at this stage gets in (``login_stage_required``): the
user is not logged in yet, and nothing else can be reached until a method is
enrolled. allauth's own MFA views are not used: their flows require a logged
in user and add recovery codes; we call its TOTP and WebAuthn internals.
"""

import base64
from typing import Any

from allauth.account.internal.decorators import login_stage_required
from allauth.account.internal.stagekit import stash_login
from allauth.account.stages import LoginStage
from allauth.core import ratelimit
from allauth.mfa.adapter import get_adapter as mfa_adapter
from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal import auth as totp_auth
from allauth.mfa.webauthn.internal import auth as webauthn_auth
from django.contrib import messages
from django.db import transaction
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from guichet.audit.services import record
from guichet.identity import codes, lockout
from guichet.identity.adapter import LOCKED_MESSAGE
from guichet.identity.forms.codes import CodeForm
from guichet.identity.forms.sca import AppEnrolForm, PasskeyEnrolForm
from guichet.identity.models import CodePurpose, User
from guichet.identity.phones import mask_phone
from guichet.identity.stages import OnboardingStage, ScaEnrolStage

stage_required = login_stage_required(stage=ScaEnrolStage.key, redirect_urlname="account_login")


# --- Writes ----------------------------------------------------------------------------


def sca_enrolled_record(*, user: User, authenticator: Authenticator, request: HttpRequest) -> None:
    from guichet.identity.reenrol import mfa_changed_notify

    mfa_changed_notify(user=user, change="added", authenticator=authenticator)
    record(
        action="identity.sca_enrolled",
        actor=user,
        target=user,
        request=request,
        details={"type": authenticator.type, "purpose": "login"},
    )


def sca_enrol_app(*, user: User, secret: str, code: str, request: HttpRequest) -> Authenticator:
    """Saves the app whose ``code`` for ``secret`` was just checked; that code cannot log in again."""
    with transaction.atomic():
        authenticator = totp_auth.TOTP.activate(user, secret).instance
        authenticator.wrap()._mark_code_used(code)
        sca_enrolled_record(user=user, authenticator=authenticator, request=request)
    return authenticator


def sca_enrol_passkey(*, user: User, name: str, credential: dict, request: HttpRequest) -> Authenticator:
    """Saves a passkey whose registration ceremony was just verified."""
    with transaction.atomic():
        authenticator = webauthn_auth.WebAuthn.add(user, name, credential).instance
        sca_enrolled_record(user=user, authenticator=authenticator, request=request)
    return authenticator


# --- Views -----------------------------------------------------------------------------


def _context(stage: LoginStage, **extra: Any) -> dict[str, Any]:
    """The step indicator, when the enrolment is part of the first login's onboarding."""
    onboarding = stage.login.state.get("stages", {}).get(OnboardingStage.key, {}).get("data", {})
    in_onboarding = bool(onboarding.get("step"))
    return {"in_onboarding": in_onboarding, "step_name": "sca_enrol", "sca_enrol": True, **extra}


def _sms_checked(stage: LoginStage) -> bool:
    """Whether a code sent to a registered mobile was verified during this login.

    The first login's onboarding does it (its step moves past "code"); any
    other login that arrives here (a user newly required to use strong
    authentication, a user who left the enrolment unfinished) has only the
    password behind it, which must not be enough to bind a new authenticator.
    """
    onboarding = stage.login.state.get("stages", {}).get(OnboardingStage.key, {}).get("data", {})
    return onboarding.get("step") == "password" or bool(stage.state.get("sms_ok"))


def sms_gate(view):
    """Sends the user to the SMS check first when this login has not had one."""

    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not _sms_checked(request._login_stage):
            return redirect("identity:sca_enrol_sms")
        return view(request, *args, **kwargs)

    return wrapper


@stage_required
@require_http_methods(["GET", "POST"])
def sms(request: HttpRequest) -> HttpResponse:
    """A code to the main registered mobile number before enrolling (see ``_sms_checked``)."""
    stage = request._login_stage
    user = stage.login.user
    if _sms_checked(stage):
        return redirect("identity:sca_enrol")
    if not user.mobile_phones:
        messages.error(request, _("No mobile number is registered for your access: please contact us."))
        return stage.abort()
    form = CodeForm(request.POST if request.method == "POST" and "code" in request.POST else None)
    if request.method == "POST" and "send" in request.POST:
        if ratelimit.consume(request, action="guichet_code_send", key=f"user:{user.pk}"):
            otc = codes.code_send(
                user=user,
                purpose=CodePurpose.ONBOARDING,
                channel="sms",
                destination=user.mobile_phones[0].as_e164,
                request=request,
            )
            stage.state["code_id"] = str(otc.pk)
            stash_login(request, stage.login)
        else:
            messages.error(request, _("Too many codes were sent. Please wait a while before asking again."))
    elif form.is_bound and form.is_valid():
        check = codes.code_verify(
            code_id=stage.state.get("code_id"),
            code=form.cleaned_data["code"],
            purpose=CodePurpose.ONBOARDING,
            request=request,
        )
        if check is codes.CodeCheck.OK:
            stage.state["sms_ok"] = True
            stash_login(request, stage.login)
            return redirect("identity:sca_enrol")
        state = lockout.login_failure_record(identifier=user.user_id, request=request)
        if state.locked:
            messages.error(request, LOCKED_MESSAGE)
            return stage.abort()
        form.add_error(
            "code", _("This code is not correct or no longer valid. Ask for a new code if needed.")
        )
    context = _context(
        stage,
        form=form,
        code_sent=bool(stage.state.get("code_id")),
        masked_phone=mask_phone(user.mobile_phones[0]),
    )
    return render(request, "identity/sca/sms.html", context)


@stage_required
@sms_gate
@require_http_methods(["GET"])
def choose(request: HttpRequest) -> HttpResponse:
    stage = request._login_stage
    return render(request, "identity/sca/choose.html", _context(stage))


def app_setup_context(user: User, secret: str) -> dict[str, str]:
    """The QR code (SVG as a data: URI, allowed by the CSP) and the secret in groups of 4."""
    adapter = mfa_adapter()
    svg = adapter.build_totp_svg(adapter.build_totp_url(user, secret))
    return {
        "qr_data_uri": "data:image/svg+xml;base64," + base64.b64encode(svg.encode()).decode(),
        "secret_groups": " ".join(secret[i : i + 4] for i in range(0, len(secret), 4)),
    }


@stage_required
@sms_gate
@require_http_methods(["GET", "POST"])
def app(request: HttpRequest) -> HttpResponse:
    stage = request._login_stage
    user = stage.login.user
    # A new secret at each display; a post checks the one shown.
    secret = totp_auth.get_totp_secret(regenerate=request.method != "POST")
    form = AppEnrolForm(request.POST or None, user=user, secret=secret)
    if request.method == "POST" and form.is_valid():
        sca_enrol_app(user=user, secret=secret, code=form.cleaned_data["code"], request=request)
        totp_auth.clear_totp_secret(request)
        messages.success(request, _("Your authenticator app is set up. You will use it at every login."))
        return stage.exit()
    context = _context(stage, form=form, **app_setup_context(user, secret))
    return render(request, "identity/sca/app.html", context)


@stage_required
@sms_gate
@require_http_methods(["GET", "POST"])
def passkey(request: HttpRequest) -> HttpResponse:
    stage = request._login_stage
    user = stage.login.user
    form = PasskeyEnrolForm(request.POST or None, user=user)
    if request.method == "POST" and form.is_valid():
        sca_enrol_passkey(
            user=user,
            name=form.cleaned_data["name"],
            credential=form.cleaned_data["credential"],
            request=request,
        )
        messages.success(request, _("Your passkey is set up. You will use it at every login."))
        return stage.exit()
    options = webauthn_auth.begin_registration(user, passwordless=False)
    return render(request, "identity/sca/passkey.html", _context(stage, form=form, options=options))


urlpatterns = [
    path("enrol/", choose, name="sca_enrol"),
    path("enrol/sms/", sms, name="sca_enrol_sms"),
    path("enrol/app/", app, name="sca_enrol_app"),
    path("enrol/passkey/", passkey, name="sca_enrol_passkey"),
]
