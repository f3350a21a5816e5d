"""Recovery views: "Forgot your User ID?" and "Reset logon credentials?" (seed 000).

Both flows: details → mobile number (masked) → SMS code → e-mail. The state
lives in the session under one key (one flow at a time); each view accepts
only its own step, so no step can be skipped by typing a URL.

No enumeration: for details that match no account the phone step shows
decoy numbers, nothing is sent, and the code step refuses every code the
way it refuses a wrong one (same messages, same count of tries, same
expiry). Every page, status and redirect is the same either way.
"""

import time
from dataclasses import dataclass

from allauth.core import ratelimit
from django.conf import settings
from django.contrib.auth import logout
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from guichet.audit.services import record
from guichet.identity import codes, recovery, services
from guichet.identity.codes import CodeCheck
from guichet.identity.forms.codes import CodeForm, PhoneChoiceForm
from guichet.identity.forms.onboarding import NewPasswordForm
from guichet.identity.forms.recovery import CredentialsResetRequestForm, UserIdRequestForm
from guichet.identity.models import CodePurpose, User
from guichet.identity.phones import decoy_phones, mask_phone
from guichet.identity.timing import steady_post

SESSION_KEY = "guichet_recovery"  # the flow in progress
DONE_KEY = "guichet_recovery_done"  # the flow just finished (its "sent" page)
LINK_KEY = "guichet_reset_link"  # the account whose link was opened (the token stays out of URLs)
COMPLETE_KEY = "guichet_reset_complete"

CODE_MESSAGES = {
    CodeCheck.EXPIRED: _("This code has expired. Ask for a new code below."),
    CodeCheck.EXHAUSTED: _("Too many wrong codes. Ask for a new code below."),
}


@dataclass(frozen=True)
class Flow:
    name: str
    purpose: CodePurpose
    title: str

    def urlname(self, step: str) -> str:
        return f"{self.name}_{step}" if step else self.name

    def url(self, step: str) -> str:
        return f"identity:{self.urlname(step)}"

    # For the templates, which share the steps of both flows.
    @property
    def start_path(self) -> str:
        return reverse(self.url(""))

    @property
    def phone_path(self) -> str:
        return reverse(self.url("phone"))

    @property
    def code_path(self) -> str:
        return reverse(self.url("code"))

    @property
    def resend_path(self) -> str:
        return reverse(self.url("resend"))


USER_ID = Flow("forgot_user_id", CodePurpose.FORGOT_USER_ID, _("Forgot your user ID?"))
RESET = Flow("reset_credentials", CodePurpose.RESET_CREDENTIALS, _("Reset your logon credentials"))


# --- Flow state ------------------------------------------------------------------


def _flow_start(request: HttpRequest, flow: Flow, *, key: str, users: list[User], limit_key: str) -> None:
    numbers = recovery.phones_of(users)
    masked = [mask_phone(number) for number, _user in numbers] or decoy_phones(key)
    request.session[SESSION_KEY] = {
        "flow": flow.name,
        "key": key,
        "limit_key": limit_key,
        "user_pks": [user.pk for user in users] if numbers else [],
        "phones": masked,
        "step": "phone",
        "phone": 0,
        "code_id": None,
        "expires": 0,
        "wrong": 0,
        "sends": 0,
    }
    request.session.pop(DONE_KEY, None)
    record(
        action="identity.recovery_requested",
        actor=None,
        target=users[0] if users else None,
        request=request,
        details={"flow": flow.name, "matched": bool(users)},
    )


def _state(request: HttpRequest, flow: Flow, *steps: str) -> dict | None:
    state = request.session.get(SESSION_KEY)
    if not state or state.get("flow") != flow.name or state.get("step") not in steps:
        return None
    return state


def _save(request: HttpRequest, state: dict) -> None:
    request.session[SESSION_KEY] = state  # reassigned so the session is marked modified


def _too_many(request: HttpRequest, flow: Flow) -> HttpResponse:
    return render(request, "identity/recovery/too_many.html", {"flow": flow}, status=429)


def _resends_left(state: dict) -> bool:
    return state["sends"] <= settings.GUICHET_CODE_MAX_RESENDS


def _send_allowed(request: HttpRequest, state: dict) -> bool:
    """Counted the same way for unknown accounts, which never send anything."""
    key = state.get("limit_key", state["key"])
    return _resends_left(state) and ratelimit.consume(request, action="guichet_code_send", key=key)


def _code_send(request: HttpRequest, flow: Flow, state: dict) -> None:
    """Sends a code to the chosen number on file; for an unknown account only the state changes."""
    users = list(User.objects.filter(pk__in=state["user_pks"]).order_by("pk"))
    numbers = recovery.phones_of(users)
    code_id = None
    if state["phone"] < len(numbers):
        number, owner = numbers[state["phone"]]
        code_id = str(
            codes.code_send(
                user=owner, purpose=flow.purpose, channel="sms", destination=number.as_e164, request=request
            ).pk
        )
    state.update(
        step="code",
        code_id=code_id,
        expires=time.time() + settings.GUICHET_CODE_VALIDITY_SECONDS,
        wrong=0,
        sends=state["sends"] + 1,
    )
    _save(request, state)


def _code_check(request: HttpRequest, flow: Flow, state: dict, code: str) -> CodeCheck:
    """The same answers, in the same order, with or without an account behind the flow."""
    if state["wrong"] >= settings.GUICHET_CODE_MAX_ATTEMPTS:
        return CodeCheck.EXHAUSTED
    if time.time() >= state["expires"]:
        return CodeCheck.EXPIRED
    result = codes.code_verify(code_id=state["code_id"], code=code, purpose=flow.purpose, request=request)
    if result == CodeCheck.WRONG:
        state["wrong"] += 1
        _save(request, state)
        if state["wrong"] >= settings.GUICHET_CODE_MAX_ATTEMPTS:
            return CodeCheck.EXHAUSTED
    return result


# --- Steps shared by both flows --------------------------------------------------


def _phone_step(request: HttpRequest, flow: Flow) -> HttpResponse:
    state = _state(request, flow, "phone", "code")
    if state is None:
        return redirect(flow.url(""))
    form = PhoneChoiceForm(request.POST or None, masked_numbers=state["phones"])
    if request.method == "POST" and form.is_valid():
        if not _send_allowed(request, state):
            return _too_many(request, flow)
        state["phone"] = form.cleaned_data["phone"]
        _code_send(request, flow, state)
        return redirect(flow.url("code"))
    return render(request, "identity/recovery/phone.html", {"flow": flow, "form": form, "step": 2})


def _code_step(request: HttpRequest, flow: Flow) -> HttpResponse:
    state = _state(request, flow, "code")
    if state is None:
        return redirect(flow.url("phone"))
    form = CodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        result = _code_check(request, flow, state, form.cleaned_data["code"])
        if result == CodeCheck.OK:
            return _finish(request, flow, state)
        form.add_error("code", _code_message(result, state))
    context = {
        "flow": flow,
        "form": form,
        "step": 3,
        "masked_phone": state["phones"][state["phone"]],
        "minutes": settings.GUICHET_CODE_VALIDITY_SECONDS // 60,
        "resends_left": _resends_left(state),
    }
    return render(request, "identity/recovery/code.html", context)


def _code_message(result: CodeCheck, state: dict) -> str:
    if result in CODE_MESSAGES:
        return CODE_MESSAGES[result]
    left = settings.GUICHET_CODE_MAX_ATTEMPTS - state["wrong"]
    return ngettext(
        "This code is not correct. You have %(count)d try left.",
        "This code is not correct. You have %(count)d tries left.",
        left,
    ) % {"count": left}


def _resend(request: HttpRequest, flow: Flow) -> HttpResponse:
    state = _state(request, flow, "code")
    if state is None:
        return redirect(flow.url("phone"))
    if not _send_allowed(request, state):
        return _too_many(request, flow)
    _code_send(request, flow, state)
    return redirect(flow.url("code"))


def _finish(request: HttpRequest, flow: Flow, state: dict) -> HttpResponse:
    users = list(User.objects.filter(pk__in=state["user_pks"]).order_by("pk"))
    if flow is USER_ID:
        recovery.user_id_reminder_send(users=users, request=request)
    else:
        recovery.reset_link_send(user=users[0], request=request)
    request.session.pop(SESSION_KEY, None)
    request.session[DONE_KEY] = flow.name
    return redirect(flow.url("done"))


def _done(request: HttpRequest, flow: Flow) -> HttpResponse:
    if request.session.get(DONE_KEY) != flow.name:
        return redirect(flow.url(""))
    return render(request, f"identity/recovery/{flow.name}_done.html", {"flow": flow})


# --- Forgot your User ID? ----------------------------------------------------------


@require_http_methods(["GET", "POST"])
@steady_post
def forgot_user_id(request: HttpRequest) -> HttpResponse:
    form = UserIdRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        key = recovery.identifier_normalise(form.cleaned_data["email"])
        users = recovery.accounts_for_email(email=form.cleaned_data["email"])
        limit = recovery.limit_key(identifier=key, users=users)
        if not ratelimit.consume(request, action="guichet_recovery", key=limit):
            return _too_many(request, USER_ID)
        _flow_start(request, USER_ID, key=key, users=users, limit_key=limit)
        return redirect(USER_ID.url("phone"))
    return render(
        request, "identity/recovery/forgot_user_id.html", {"flow": USER_ID, "form": form, "step": 1}
    )


# --- Reset logon credentials? ------------------------------------------------------


@require_http_methods(["GET", "POST"])
@steady_post
def reset_credentials(request: HttpRequest) -> HttpResponse:
    form = CredentialsResetRequestForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        user_id = recovery.identifier_normalise(form.cleaned_data["user_id"])
        email = recovery.identifier_normalise(form.cleaned_data["email"])
        limit = recovery.limit_key(
            identifier=user_id, users=recovery.accounts_for_user_id(user_id=form.cleaned_data["user_id"])
        )
        if not ratelimit.consume(request, action="guichet_recovery", key=limit):
            return _too_many(request, RESET)
        user = recovery.account_for_credentials(
            user_id=form.cleaned_data["user_id"], email=form.cleaned_data["email"]
        )
        # Decoys depend on both fields: each wrong e-mail shows other numbers,
        # so the page cannot tell which address is the one on file.
        _flow_start(request, RESET, key=f"{user_id}\n{email}", users=[user] if user else [], limit_key=limit)
        return redirect(RESET.url("phone"))
    return render(
        request, "identity/recovery/reset_credentials.html", {"flow": RESET, "form": form, "step": 1}
    )


@require_GET
def reset_credentials_link(request: HttpRequest, uidb36: str, token: str) -> HttpResponse:
    """Checks the e-mailed link, then moves the token into the session (out of URLs and Referer)."""
    if not ratelimit.consume(request, action="reset_password_from_key"):
        return _too_many(request, RESET)
    user = recovery.reset_link_user(uidb36=uidb36, token=token)
    if user is None:
        return render(request, "identity/recovery/link_invalid.html", {"flow": RESET})
    if request.user.is_authenticated:
        logout(request)
    request.session[LINK_KEY] = {"uidb36": uidb36, "token": token}
    return redirect("identity:reset_credentials_password")


@require_http_methods(["GET", "POST"])
def reset_credentials_password(request: HttpRequest) -> HttpResponse:
    link = request.session.get(LINK_KEY) or {}
    user = recovery.reset_link_user(uidb36=link.get("uidb36", ""), token=link.get("token", ""))
    if user is None:
        request.session.pop(LINK_KEY, None)
        return render(request, "identity/recovery/link_invalid.html", {"flow": RESET})
    form = NewPasswordForm(request.POST or None, user=user)
    if request.method == "POST" and form.is_valid():
        try:
            services.password_set(
                user=user,
                password=form.cleaned_data["password1"],
                hint=form.cleaned_data["hint"],
                request=request,
                reason="reset",
            )
        except ValidationError as error:
            form.add_error("password1", error)
        else:
            request.session.pop(LINK_KEY, None)
            request.session[COMPLETE_KEY] = True
            return redirect("identity:reset_credentials_complete")
    return render(request, "identity/recovery/password.html", {"flow": RESET, "form": form})


@require_GET
def reset_credentials_complete(request: HttpRequest) -> HttpResponse:
    if not request.session.get(COMPLETE_KEY):
        return redirect(RESET.url(""))
    return render(request, "identity/recovery/reset_credentials_complete.html", {"flow": RESET})


def _step_views(flow: Flow, prefix: str) -> list:
    def phone(request: HttpRequest) -> HttpResponse:
        return _phone_step(request, flow)

    def code(request: HttpRequest) -> HttpResponse:
        return _code_step(request, flow)

    def resend(request: HttpRequest) -> HttpResponse:
        return _resend(request, flow)

    def done(request: HttpRequest) -> HttpResponse:
        return _done(request, flow)

    return [
        path(
            f"{prefix}/phone/",
            require_http_methods(["GET", "POST"])(steady_post(phone)),
            name=flow.urlname("phone"),
        ),
        path(
            f"{prefix}/code/",
            require_http_methods(["GET", "POST"])(steady_post(code)),
            name=flow.urlname("code"),
        ),
        path(f"{prefix}/code/new/", require_POST(steady_post(resend)), name=flow.urlname("resend")),
        path(f"{prefix}/sent/", require_GET(done), name=flow.urlname("done")),
    ]


urlpatterns = [
    path("user-id/", forgot_user_id, name="forgot_user_id"),
    *_step_views(USER_ID, "user-id"),
    path("credentials/", reset_credentials, name="reset_credentials"),
    *_step_views(RESET, "credentials"),
    path("credentials/link/<str:uidb36>/<str:token>/", reset_credentials_link, name="reset_credentials_link"),
    path("credentials/password/", reset_credentials_password, name="reset_credentials_password"),
    path("credentials/complete/", reset_credentials_complete, name="reset_credentials_complete"),
]
