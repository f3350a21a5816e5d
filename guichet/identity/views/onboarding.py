"""First login (login stage "guichet_onboarding") and the user agreement (stage "guichet_agreement").

The user is not logged in yet: allauth lets only the current stage's views
in, and each onboarding view accepts only its own step
(``stage.state["step"]``), so no step can be skipped by typing a URL.
"""

from collections.abc import Callable
from functools import wraps

from allauth.account.internal.decorators import login_stage_required
from allauth.account.internal.stagekit import stash_login
from allauth.account.stages import LoginStage
from allauth.core import ratelimit
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import get_language, ngettext
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from guichet.audit.services import record
from guichet.identity import codes, lockout, services
from guichet.identity.adapter import LOCKED_MESSAGE
from guichet.identity.forms.codes import CodeForm, PhoneChoiceForm
from guichet.identity.forms.onboarding import AgreementForm, NewPasswordForm
from guichet.identity.models import CodePurpose, OneTimeCode
from guichet.identity.phones import mask_phone
from guichet.identity.stages import AgreementStage, OnboardingStage

STEP_URLS = {
    "phone": "identity:onboarding_phone",
    "code": "identity:onboarding_code",
    "password": "identity:onboarding_password",
}
STEP_NUMBERS = {"phone": 1, "code": 2, "password": 3, "agreement": 4}
STEP_COUNT = 4


def onboarding_step(step: str) -> Callable:
    """Lets in only the user whose onboarding is at ``step``; the others go to their own step."""

    def decorator(view: Callable) -> Callable:
        @login_stage_required(stage=OnboardingStage.key, redirect_urlname="account_login")
        @wraps(view)
        def wrapper(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            stage = request._login_stage
            current = stage.state.get("step", "phone")
            if current != step:
                return redirect(STEP_URLS.get(current, "account_login"))
            return view(request, stage, *args, **kwargs)

        return wrapper

    return decorator


def _context(step: str, **extra) -> dict:
    return {"step": STEP_NUMBERS[step], "step_count": STEP_COUNT, "step_name": step, **extra}


def _send_code(request: HttpRequest, stage: LoginStage, index: int) -> bool:
    """Sends a code to the user's ``index``-th number, unless the rate limit says no."""
    user = stage.login.user
    if not ratelimit.consume(request, action="guichet_code_send", key=str(user.pk)):
        return False
    number = user.mobile_phones[index]
    otc = codes.code_send(
        user=user,
        purpose=CodePurpose.ONBOARDING,
        channel="sms",
        destination=number.as_e164,
        request=request,
        template="identity_code",
    )
    stage.state.update(step="code", code_id=str(otc.pk), phone=index)
    stash_login(request, stage.login)
    return True


def _masked_phone(stage: LoginStage) -> str:
    numbers = stage.login.user.mobile_phones
    index = stage.state.get("phone", 0)
    return mask_phone(numbers[index]) if index < len(numbers) else ""


# --- Step 1: the mobile number ----------------------------------------------------------


@onboarding_step("phone")
def phone(request: HttpRequest, stage: LoginStage) -> HttpResponse:
    numbers = stage.login.user.mobile_phones
    form = PhoneChoiceForm(
        request.POST if request.method == "POST" else None, masked_numbers=[mask_phone(n) for n in numbers]
    )
    if request.method == "POST" and form.is_valid():
        if _send_code(request, stage, form.cleaned_data["phone"]):
            return redirect("identity:onboarding_code")
        form.add_error(None, _("Too many codes were sent. Please wait an hour and try again, or contact us."))
    return render(
        request, "identity/onboarding/phone.html", _context("phone", form=form, has_phone=bool(numbers))
    )


# --- Step 2: the code received by SMS -------------------------------------------------


def _tries_left(code_id: str | None) -> int:
    otc = OneTimeCode.objects.filter(pk=code_id).only("failed_attempts").first() if code_id else None
    failed = otc.failed_attempts if otc else 0
    return max(settings.GUICHET_CODE_MAX_ATTEMPTS - failed, 0)


@onboarding_step("code")
def code(request: HttpRequest, stage: LoginStage) -> HttpResponse:
    form = CodeForm(request.POST if request.method == "POST" else None)
    needs_new_code = False
    if request.method == "POST" and form.is_valid():
        check = codes.code_verify(
            code_id=stage.state.get("code_id"),
            code=form.cleaned_data["code"],
            purpose=CodePurpose.ONBOARDING,
            request=request,
        )
        if check is codes.CodeCheck.OK:
            stage.state.pop("code_id", None)
            stage.state["step"] = "password"
            stash_login(request, stage.login)
            return redirect("identity:onboarding_password")
        if check in (codes.CodeCheck.WRONG, codes.CodeCheck.EXHAUSTED):
            # One failure counter per account across password, codes and
            # second factors (PSD2 RTS art. 4).
            state = lockout.login_failure_record(identifier=stage.login.user.user_id, request=request)
            if state.locked:
                messages.error(request, LOCKED_MESSAGE)
                return stage.abort()
        if check is codes.CodeCheck.WRONG:
            left = _tries_left(stage.state.get("code_id"))
            message = ngettext(
                "The code is not correct. You have %(count)d more try.",
                "The code is not correct. You have %(count)d more tries.",
                left,
            ) % {"count": left}
        elif check is codes.CodeCheck.EXPIRED:
            needs_new_code = True
            message = _("This code has expired. Ask for a new code below.")
        else:
            needs_new_code = True
            message = _("Too many wrong codes: this code no longer works. Ask for a new code below.")
        form.add_error("code", message)
    resends_left = max(settings.GUICHET_CODE_MAX_RESENDS - stage.state.get("resends", 0), 0)
    return render(
        request,
        "identity/onboarding/code.html",
        _context(
            "code",
            form=form,
            masked_phone=_masked_phone(stage),
            minutes=settings.GUICHET_CODE_VALIDITY_SECONDS // 60,
            resends_left=resends_left,
            needs_new_code=needs_new_code,
        ),
    )


@require_POST
@onboarding_step("code")
def resend(request: HttpRequest, stage: LoginStage) -> HttpResponse:
    resends = stage.state.get("resends", 0)
    if resends >= settings.GUICHET_CODE_MAX_RESENDS or not _send_code(
        request, stage, stage.state.get("phone", 0)
    ):
        messages.error(
            request,
            _("No more codes can be sent for now. Please try again later, or contact us."),
        )
        return redirect("identity:onboarding_code")
    stage.state["resends"] = resends + 1
    stash_login(request, stage.login)
    messages.success(
        request,
        _("A new code was sent to %(phone)s. Only the latest code works.") % {"phone": _masked_phone(stage)},
    )
    return redirect("identity:onboarding_code")


# --- Step 3: the new password and its hint --------------------------------------------


@onboarding_step("password")
def password(request: HttpRequest, stage: LoginStage) -> HttpResponse:
    user = stage.login.user
    form = NewPasswordForm(request.POST if request.method == "POST" else None, user=user)
    if request.method == "POST" and form.is_valid():
        try:
            services.password_set(
                user=user,
                password=form.cleaned_data["password1"],
                hint=form.cleaned_data["hint"],
                request=request,
                reason="onboarding",
            )
        except ValidationError as error:
            form.add_error("password1", error)
        else:
            user.refresh_from_db()  # the new password hash, for the session opened next
            return stage.exit()
    return render(request, "identity/onboarding/password.html", _context("password", form=form))


# --- Step 4 (and at any login after a new version): the user agreement ----------------


def _in_onboarding(stage: LoginStage) -> bool:
    return bool(stage.login.state.get("stages", {}).get(OnboardingStage.key, {}).get("data", {}).get("step"))


@login_stage_required(stage=AgreementStage.key, redirect_urlname="account_login")
def agreement(request: HttpRequest) -> HttpResponse:
    stage = request._login_stage
    user = stage.login.user
    pending = services.agreement_pending(user=user, language=get_language())
    if pending is None:
        return stage.exit()
    form = AgreementForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        if "decline" in request.POST:
            record(action="identity.agreement_declined", actor=user, target=user, request=request)
            messages.info(
                request,
                _("You declined the user agreement: you need to accept it to use your customer space."),
            )
            return stage.abort()
        if form.is_valid():
            if form.cleaned_data["version"] != pending.version:
                form.add_error(None, _("The user agreement has just changed. Please read the new version."))
            else:
                services.agreement_accept(user=user, agreement=pending, request=request)
                return stage.exit()
    form.initial["version"] = pending.version
    return render(
        request,
        "identity/onboarding/agreement.html",
        {
            "form": form,
            "agreement": pending,
            "in_onboarding": _in_onboarding(stage),
            **_context("agreement"),
        },
    )


urlpatterns = [
    path("phone/", phone, name="onboarding_phone"),
    path("code/", code, name="onboarding_code"),
    path("code/resend/", resend, name="onboarding_resend"),
    path("password/", password, name="onboarding_password"),
    path("agreement/", agreement, name="agreement"),
]
