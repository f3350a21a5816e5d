"""Re-enrolment pages, from the link an advisor had sent (identity/reenrol.py).

link → mobile number (masked) → SMS code → current password → new passkey or
authenticator app → done. The token moves from the URL to the session at once
(out of the address bar and the Referer) and is checked again at every step,
so a link used meanwhile, expired or voided stops the journey wherever it is.
Each view accepts only its own step.
"""

from typing import Any

from allauth.core import ratelimit
from allauth.mfa.totp.internal import auth as totp_auth
from allauth.mfa.webauthn.internal import auth as webauthn_auth
from django.conf import settings
from django.contrib.auth import logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from guichet.identity import codes, lockout, reenrol
from guichet.identity.codes import CodeCheck
from guichet.identity.forms.authenticators import AppAddForm, PasskeyAddForm, PasswordConfirmForm
from guichet.identity.forms.codes import CodeForm, PhoneChoiceForm
from guichet.identity.models import CodePurpose, OneTimeCode, User
from guichet.identity.phones import mask_phone
from guichet.identity.views.authenticators import app_setup_context

SESSION_KEY = "guichet_reenrol"
DONE_KEY = "guichet_reenrol_done"
PURPOSE = CodePurpose.REENROLMENT


def _link_invalid(request: HttpRequest, *, status: int) -> HttpResponse:
    context = {"hours": reenrol.LINK_MAX_AGE_SECONDS // 3600}
    return render(request, "identity/reenrol/link_invalid.html", context, status=status)


def _invalid(request: HttpRequest) -> HttpResponse:
    request.session.pop(SESSION_KEY, None)
    return _link_invalid(request, status=410)


def _state(request: HttpRequest, *steps: str) -> tuple[dict[str, Any] | None, User | None]:
    state = request.session.get(SESSION_KEY)
    if not state or state.get("step") not in steps:
        return None, None
    return state, reenrol.token_user(state["token"])


def _save(request: HttpRequest, state: dict[str, Any]) -> None:
    request.session[SESSION_KEY] = state


def _continue(request: HttpRequest) -> HttpResponse:
    """Where a request for another step goes: the current step, or the start."""
    state = request.session.get(SESSION_KEY)
    if not state:
        return _link_invalid(request, status=410)
    return redirect(f"identity:reenrol_{state['step']}")


@require_GET
def link(request: HttpRequest, token: str) -> HttpResponse:
    if not ratelimit.consume(request, action="reset_password_from_key"):
        return _link_invalid(request, status=429)
    user = reenrol.token_user(token)
    if user is None:
        return _invalid(request)
    if request.user.is_authenticated:
        logout(request)
    request.session[SESSION_KEY] = {"token": token, "step": "phone", "code_id": None, "phone": 0}
    request.session.pop(DONE_KEY, None)
    reenrol.reenrolment_step_record(user=user, step="link_opened", request=request)
    return redirect("identity:reenrol_phone")


@require_http_methods(["GET", "POST"])
def phone(request: HttpRequest) -> HttpResponse:
    state, user = _state(request, "phone", "code")
    if state is None:
        return _continue(request)
    if user is None:
        return _invalid(request)
    form = PhoneChoiceForm(request.POST or None, masked_numbers=[mask_phone(n) for n in user.mobile_phones])
    if request.method == "POST" and form.is_valid():
        if not ratelimit.consume(request, action="guichet_code_send", key=f"user:{user.pk}"):
            form.add_error(None, _("Too many codes were sent. Please try again later, or contact us."))
        else:
            index = form.cleaned_data["phone"]
            otc = codes.code_send(
                user=user,
                purpose=PURPOSE,
                channel="sms",
                destination=user.mobile_phones[index].as_e164,
                request=request,
            )
            state.update(step="code", code_id=str(otc.pk), phone=index)
            _save(request, state)
            return redirect("identity:reenrol_code")
    return render(request, "identity/reenrol/phone.html", {"form": form})


@require_http_methods(["GET", "POST"])
def code(request: HttpRequest) -> HttpResponse:
    state, user = _state(request, "code")
    if state is None:
        return _continue(request)
    if user is None:
        return _invalid(request)
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        check = codes.code_verify(
            code_id=state["code_id"], code=form.cleaned_data["code"], purpose=PURPOSE, request=request
        )
        if check is CodeCheck.OK:
            state.update(step="password", code_id=None)
            _save(request, state)
            reenrol.reenrolment_step_record(user=user, step="phone_checked", request=request)
            return redirect("identity:reenrol_password")
        if check in (CodeCheck.WRONG, CodeCheck.EXHAUSTED):  # the one failure counter
            lockout.login_failure_record(identifier=user.user_id, request=request)
        form.add_error("code", _code_message(check, state["code_id"]))
    context = {"form": form, "masked_phone": mask_phone(user.mobile_phones[state["phone"]])}
    return render(request, "identity/reenrol/code.html", context)


def _code_message(check: CodeCheck, code_id: str) -> str:
    if check is CodeCheck.EXPIRED:
        return _("This code has expired. Ask for a new code below.")
    if check is CodeCheck.EXHAUSTED:
        return _("Too many wrong codes. Ask for a new code below.")
    otc = OneTimeCode.objects.filter(pk=code_id).only("failed_attempts").first()
    left = max(settings.GUICHET_CODE_MAX_ATTEMPTS - (otc.failed_attempts if otc else 0), 0)
    return ngettext(
        "This code is not correct. You have %(count)d try left.",
        "This code is not correct. You have %(count)d tries left.",
        left,
    ) % {"count": left}


@require_http_methods(["GET", "POST"])
def password(request: HttpRequest) -> HttpResponse:
    state, user = _state(request, "password")
    if state is None:
        return _continue(request)
    if user is None:
        return _invalid(request)
    form = PasswordConfirmForm(request.POST or None, user=user)
    if request.method == "POST" and form.is_valid():
        if user.is_locked:
            locked = _("Your access is locked. Reset your logon credentials first, then open the link again.")
            form.add_error(None, locked)
        else:
            state["step"] = "enrol"
            _save(request, state)
            reenrol.reenrolment_step_record(user=user, step="password_checked", request=request)
            return redirect("identity:reenrol_enrol")
    return render(request, "identity/reenrol/password.html", {"form": form})


@require_GET
def enrol(request: HttpRequest) -> HttpResponse:
    state, user = _state(request, "enrol")
    if state is None:
        return _continue(request)
    if user is None:
        return _invalid(request)
    return render(request, "identity/reenrol/enrol.html")


def _done(request: HttpRequest) -> HttpResponse:
    request.session.pop(SESSION_KEY, None)
    totp_auth.clear_totp_secret(request)
    request.session[DONE_KEY] = True
    return redirect("identity:reenrol_done")


@require_http_methods(["GET", "POST"])
def enrol_app(request: HttpRequest) -> HttpResponse:
    state, user = _state(request, "enrol")
    if state is None:
        return _continue(request)
    if user is None:
        return _invalid(request)
    secret = totp_auth.get_totp_secret(regenerate=request.method != "POST")
    form = AppAddForm(request.POST or None, user=user, secret=secret, password_required=False)
    if request.method == "POST" and form.is_valid():
        added = reenrol.reenrolment_complete(
            user=user, token=state["token"], new={"type": "totp", "secret": secret}, request=request
        )
        if added is None:
            return _invalid(request)
        added.wrap()._mark_code_used(form.cleaned_data["code"].strip())
        return _done(request)
    context = {"form": form, **app_setup_context(user, secret)}
    return render(request, "identity/reenrol/enrol_app.html", context)


@require_http_methods(["GET", "POST"])
def enrol_passkey(request: HttpRequest) -> HttpResponse:
    state, user = _state(request, "enrol")
    if state is None:
        return _continue(request)
    if user is None:
        return _invalid(request)
    form = PasskeyAddForm(request.POST or None, user=user, password_required=False)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        new = {"type": "webauthn", "name": data["name"], "credential": data["credential"]}
        if reenrol.reenrolment_complete(user=user, token=state["token"], new=new, request=request) is None:
            return _invalid(request)
        return _done(request)
    options = webauthn_auth.begin_registration(user, passwordless=False)
    return render(request, "identity/reenrol/enrol_passkey.html", {"form": form, "options": options})


@require_GET
def done(request: HttpRequest) -> HttpResponse:
    if not request.session.get(DONE_KEY):
        return redirect("account_login")
    return render(request, "identity/reenrol/done.html")


urlpatterns = [
    path("link/<str:token>/", never_cache(link), name="reenrol_link"),
    path("phone/", never_cache(phone), name="reenrol_phone"),
    path("code/", never_cache(code), name="reenrol_code"),
    path("password/", never_cache(password), name="reenrol_password"),
    path("enrol/", never_cache(enrol), name="reenrol_enrol"),
    path("enrol/app/", never_cache(enrol_app), name="reenrol_enrol_app"),
    path("enrol/passkey/", never_cache(enrol_passkey), name="reenrol_enrol_passkey"),
    path("done/", never_cache(done), name="reenrol_done"),
]
