"""The Security page (details, active sessions, recent logins), contact changes, and the session timeout.

Everything here concerns the logged-in user only: sessions and events are
always filtered by ``request.user``, so nobody can see or end another
user's. The inactivity timeout itself is Django's (``SESSION_COOKIE_AGE``
with ``SESSION_SAVE_EVERY_REQUEST``); the page script only warns before it
(``web/js/session-timeout.js``) and calls ``session_keepalive`` to stay.
"""

from typing import Any

from allauth.core import ratelimit
from allauth.usersessions.adapter import get_adapter as usersessions_adapter
from allauth.usersessions.models import UserSession
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from phonenumber_field.phonenumber import PhoneNumber

from guichet.audit.models import AuditEvent
from guichet.audit.services import record
from guichet.identity import codes, services, signing
from guichet.identity.codes import CodeCheck
from guichet.identity.forms.codes import CodeForm
from guichet.identity.forms.security import (
    PASSWORD_OPERATION,
    TOO_MANY,
    EmailChangeForm,
    MobileChangeForm,
    PasswordCheckedForm,
)
from guichet.identity.models import CodePurpose, OneTimeCode, User
from guichet.identity.phones import mask_phone

RECENT_EVENTS = 10
# The audit actions the page lists, with what the user reads for each.
ACTIVITY_LABELS = {
    "identity.login": gettext_lazy("Logged on"),
    "identity.login_failed": gettext_lazy("Failed logon attempt"),
    "identity.locked": gettext_lazy("Access locked after failed attempts"),
    "identity.password_changed": gettext_lazy("Password changed"),
}
EMAIL_PENDING = "guichet_email_change"
MOBILE_PENDING = "guichet_mobile_change"
# Once the code to the new address is right, the change waits for the user's signature.
EMAIL_SIGNING = "guichet_email_change_signing"
MOBILE_SIGNING = "guichet_mobile_change_signing"
RATE_LIMIT_ACTION = "guichet_contact_change"

# (marker in the User-Agent header, name shown), first match wins.
BROWSERS = [
    ("Edg/", "Edge"),
    ("OPR/", "Opera"),
    ("Firefox/", "Firefox"),
    ("Chrome/", "Chrome"),
    ("Safari/", "Safari"),
]
SYSTEMS = [
    ("Android", "Android"),
    ("iPhone", "iOS"),
    ("iPad", "iPadOS"),
    ("Windows", "Windows"),
    ("Mac OS X", "macOS"),
    ("CrOS", "ChromeOS"),
    ("Linux", "Linux"),
]


# --- Reads ---------------------------------------------------------------------------


def security_events_of(*, user: User) -> QuerySet[AuditEvent]:
    """The user's own recent logins, failures, locks and password changes, newest first.

    Events about the user (the target), so that failed attempts by someone
    else on this access are listed too; never another user's events.
    """
    return AuditEvent.objects.filter(
        target_type=User._meta.label_lower, target_id=str(user.pk), action__in=list(ACTIVITY_LABELS)
    ).order_by("-seq")[:RECENT_EVENTS]


def device_label(user_agent: str) -> str:
    """A short "browser on system" name for a User-Agent header."""
    browser = next((name for marker, name in BROWSERS if marker in user_agent), "")
    system = next((name for marker, name in SYSTEMS if marker in user_agent), "")
    if browser and system:
        return _("%(browser)s on %(system)s") % {"browser": browser, "system": system}
    return browser or system or _("Unknown device")


def _sessions(request: HttpRequest) -> list[dict[str, Any]]:
    current = request.session.session_key
    rows = [
        {
            "device": device_label(session.user_agent),
            "user_agent": session.user_agent,
            "ip": session.ip,
            "created_at": session.created_at,
            "last_seen_at": session.last_seen_at,
            "is_current": session.session_key == current,
        }
        for session in UserSession.objects.purge_and_list(request.user)
    ]
    return sorted(rows, key=lambda row: (not row["is_current"], -row["last_seen_at"].timestamp()))


# --- Writes --------------------------------------------------------------------------


def sessions_others_end(*, user: User, request: HttpRequest) -> int:
    """Ends every session of ``user`` but the current one; returns how many were ended."""
    current = request.session.session_key
    others = [
        session
        for session in UserSession.objects.purge_and_list(user)
        if session.user_id == user.pk and session.session_key != current
    ]
    with transaction.atomic():
        usersessions_adapter().end_sessions(others)
        record(
            action="identity.sessions_ended",
            actor=user,
            target=user,
            request=request,
            details={"count": len(others)},
        )
    return len(others)


# --- The Security page ---------------------------------------------------------------


@login_required
@require_GET
def security(request: HttpRequest) -> HttpResponse:
    user = request.user
    sessions = _sessions(request)
    events = [
        {"event": event, "label": ACTIVITY_LABELS[event.action]} for event in security_events_of(user=user)
    ]
    context = {
        "masked_phones": [mask_phone(number) for number in user.mobile_phones],
        "sessions": sessions,
        "other_session_count": sum(1 for row in sessions if not row["is_current"]),
        "events": events,
    }
    return render(request, "identity/security/index.html", context)


@login_required
@require_POST
def sessions_end_others(request: HttpRequest) -> HttpResponse:
    ended = sessions_others_end(user=request.user, request=request)
    if ended:
        text = ngettext(
            "%(count)d other session was ended.", "%(count)d other sessions were ended.", ended
        ) % {"count": ended}
    else:
        text = _("No other session was open.")
    messages.success(request, text)
    return redirect("identity:security")


# --- Session timeout -----------------------------------------------------------------


def session_timing(request: HttpRequest) -> dict[str, int]:
    """Context processor: the warning delay the page script reads (see base.html)."""
    return {"session_warning_seconds": settings.GUICHET_SESSION_WARNING_SECONDS}


@never_cache
@require_GET
def session_keepalive(request: HttpRequest) -> HttpResponse:
    """For "Stay logged in": any request refreshes the session (SESSION_SAVE_EVERY_REQUEST)."""
    if not request.user.is_authenticated:
        return HttpResponse(status=401)
    return HttpResponse(status=204)


@never_cache
@require_GET
def session_expired(request: HttpRequest) -> HttpResponse:
    """Where the page script goes at the end of the countdown; a session still alive
    (kept so by another tab) just goes on."""
    if request.user.is_authenticated:
        return redirect("home")
    minutes = max(settings.SESSION_COOKIE_AGE // 60, 1)
    return render(request, "identity/security/session_expired.html", {"session_minutes": minutes})


# --- Contact changes: password and new address, then the code sent to it ------------


def _limited_form(request: HttpRequest, form_class: type[PasswordCheckedForm]) -> PasswordCheckedForm:
    """The bound form, told whether the rate limit is already reached (then nothing is checked)."""
    allowed = ratelimit.consume(request, action=RATE_LIMIT_ACTION, key=str(request.user.pk), dry_run=True)
    return form_class(request.POST, user=request.user, rate_limited=not allowed)


def _attempt_allowed(request: HttpRequest, form: PasswordCheckedForm) -> bool:
    """Validates ``form``; a wrong password and a code sent both count against the limit."""
    valid = form.is_valid()
    if (valid or form.password_failed) and not ratelimit.consume(
        request, action=RATE_LIMIT_ACTION, key=str(request.user.pk)
    ):
        form.add_error(None, ValidationError(TOO_MANY, code="rate_limited"))
        return False
    return valid


def _tries_left(code_id: str) -> int:
    otc = OneTimeCode.objects.filter(pk=code_id).only("failed_attempts").first()
    return max(settings.GUICHET_CODE_MAX_ATTEMPTS - (otc.failed_attempts if otc else 0), 0)


def _signing_start(
    request: HttpRequest, *, signing_key: str, pending: dict[str, Any], operation: signing.Operation, page
) -> HttpResponse:
    """Keeps the verified change aside and sends the user to sign it (dynamic linking)."""
    request.session[signing_key] = {key: value for key, value in pending.items() if key != "code_id"}
    challenge = signing.signing_start(
        user=request.user, operation=operation, request=request, next_url=reverse(page["complete"])
    )
    return redirect("identity:sign", challenge_id=challenge.pk)


def _signed_complete(
    request: HttpRequest, *, signing_key: str, operation_of, apply, page: dict[str, Any]
) -> HttpResponse:
    """Back from the signing page with ``?proof=``: consumes the proof and applies the change at once."""
    pending = request.session.pop(signing_key, None)
    if not pending:
        return redirect(page["restart"])
    try:
        with transaction.atomic():
            signing.signing_proof_consume(
                proof_id=request.GET.get("proof", ""), user=request.user, operation=operation_of(pending)
            )
            apply(pending)
    except signing.SigningError as error:
        messages.error(request, error.message)
        return redirect(page["restart"])
    messages.success(request, page["done"])
    return redirect("identity:security")


def _code_confirm(
    request: HttpRequest, *, pending_key: str, purpose: CodePurpose, page: dict[str, Any], apply
) -> HttpResponse:
    """The shared code step: checks the code sent for the pending change, then ``apply(pending)``
    (which sends the user on to sign it)."""
    pending = request.session.get(pending_key)
    if not pending:
        return redirect(page["restart"])
    form = CodeForm(request.POST or None)
    needs_new_code = False
    if request.method == "POST" and form.is_valid():
        code_id = pending["code_id"]
        if OneTimeCode.objects.filter(pk=code_id, user=request.user).exists():
            check = codes.code_verify(
                code_id=code_id, code=form.cleaned_data["code"], purpose=purpose, request=request
            )
        else:
            check = CodeCheck.EXPIRED
        if check is CodeCheck.OK:
            del request.session[pending_key]
            return apply(pending)
        if check is CodeCheck.WRONG:
            left = _tries_left(code_id)
            form.add_error(
                "code",
                ngettext(
                    "The code is not correct. You have %(count)d try left.",
                    "The code is not correct. You have %(count)d tries left.",
                    left,
                )
                % {"count": left},
            )
        else:
            del request.session[pending_key]
            needs_new_code = True
            message = (
                _("This code has expired. Start again to receive a new one.")
                if check is CodeCheck.EXPIRED
                else _("Too many wrong codes. Start again to receive a new one.")
            )
            form.add_error("code", message)
    context = {"form": form, "needs_new_code": needs_new_code, **page}
    return render(request, "identity/security/code_confirm.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def contact_email(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return render(
            request, "identity/security/contact_email.html", {"form": EmailChangeForm(user=request.user)}
        )
    form = _limited_form(request, EmailChangeForm)
    if _attempt_allowed(request, form):
        email = form.cleaned_data["email"]
        otc = codes.code_send(
            user=request.user,
            purpose=CodePurpose.CHANGE_EMAIL,
            channel="email",
            destination=email,
            request=request,
        )
        request.session[EMAIL_PENDING] = {"email": email, "code_id": str(otc.pk)}
        return redirect("identity:contact_email_confirm")
    status = 429 if form.limit_reached else 200
    return render(request, "identity/security/contact_email.html", {"form": form}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def contact_email_confirm(request: HttpRequest) -> HttpResponse:
    pending = request.session.get(EMAIL_PENDING) or {}
    page = {
        "title": _("Confirm your new e-mail address"),
        "lead": _("We sent a 6-digit code to %(address)s. Enter it to confirm the change.")
        % {"address": pending.get("email", "")},
        "action": "identity:contact_email_confirm",
        "restart": "identity:contact_email",
        "complete": "identity:contact_email_complete",
    }
    return _code_confirm(
        request,
        pending_key=EMAIL_PENDING,
        purpose=CodePurpose.CHANGE_EMAIL,
        page=page,
        apply=lambda data: _signing_start(
            request, signing_key=EMAIL_SIGNING, pending=data, operation=email_operation(data), page=page
        ),
    )


def email_operation(pending: dict[str, Any]) -> signing.Operation:
    return signing.Operation(kind="email_change", target=pending["email"])


@login_required
@require_GET
def contact_email_complete(request: HttpRequest) -> HttpResponse:
    return _signed_complete(
        request,
        signing_key=EMAIL_SIGNING,
        operation_of=email_operation,
        apply=lambda data: services.email_change(user=request.user, email=data["email"], request=request),
        page={"restart": "identity:contact_email", "done": _("Your e-mail address was changed.")},
    )


@login_required
@require_http_methods(["GET", "POST"])
def contact_mobile(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return render(
            request, "identity/security/contact_mobile.html", {"form": MobileChangeForm(user=request.user)}
        )
    form = _limited_form(request, MobileChangeForm)
    if _attempt_allowed(request, form):
        number: PhoneNumber = form.cleaned_data["phone"]
        otc = codes.code_send(
            user=request.user,
            purpose=CodePurpose.CHANGE_PHONE,
            channel="sms",
            destination=number.as_e164,
            request=request,
        )
        request.session[MOBILE_PENDING] = {
            "phone": number.as_e164,
            "slot": form.cleaned_data["slot"],
            "code_id": str(otc.pk),
        }
        return redirect("identity:contact_mobile_confirm")
    status = 429 if form.limit_reached else 200
    return render(request, "identity/security/contact_mobile.html", {"form": form}, status=status)


@login_required
@require_http_methods(["GET", "POST"])
def contact_mobile_confirm(request: HttpRequest) -> HttpResponse:
    pending = request.session.get(MOBILE_PENDING) or {}
    page = {
        "title": _("Confirm your new mobile number"),
        "lead": _("We sent a 6-digit code by SMS to %(number)s. Enter it to confirm the change.")
        % {"number": pending.get("phone", "")},
        "action": "identity:contact_mobile_confirm",
        "restart": "identity:contact_mobile",
        "complete": "identity:contact_mobile_complete",
    }
    return _code_confirm(
        request,
        pending_key=MOBILE_PENDING,
        purpose=CodePurpose.CHANGE_PHONE,
        page=page,
        apply=lambda data: _signing_start(
            request, signing_key=MOBILE_SIGNING, pending=data, operation=mobile_operation(data), page=page
        ),
    )


def mobile_operation(pending: dict[str, Any]) -> signing.Operation:
    """The full new number (the user's own, just confirmed by a code) and the slot it
    goes in: a masked number would let another number with the same mask pass."""
    number = PhoneNumber.from_string(pending["phone"]).as_international
    # Untranslated, so that the digest does not change with the page's language.
    return signing.Operation(kind="mobile_change", target=f"{number} (#{int(pending.get('slot', 0)) + 1})")


@login_required
@require_GET
def contact_mobile_complete(request: HttpRequest) -> HttpResponse:
    return _signed_complete(
        request,
        signing_key=MOBILE_SIGNING,
        operation_of=mobile_operation,
        apply=lambda data: services.mobile_change(
            user=request.user,
            phone=PhoneNumber.from_string(data["phone"]),
            slot=data["slot"],
            request=request,
        ),
        page={"restart": "identity:contact_mobile", "done": _("Your mobile number was changed.")},
    )


# --- Password change: signed first, then allauth's form (forms.security.ChangePasswordForm) --


@login_required
@require_POST
def password_change_sign(request: HttpRequest) -> HttpResponse:
    """Starts the signature of a password change; the signing page returns to the form with the proof."""
    challenge = signing.signing_start(
        user=request.user,
        operation=PASSWORD_OPERATION,
        request=request,
        next_url=reverse("account_change_password"),
    )
    return redirect("identity:sign", challenge_id=challenge.pk)


urlpatterns = [
    path("", security, name="security"),
    path("sessions/end-others/", sessions_end_others, name="sessions_end_others"),
    path("session/keepalive/", session_keepalive, name="session_keepalive"),
    path("session/expired/", session_expired, name="session_expired"),
    path("email/", contact_email, name="contact_email"),
    path("email/confirm/", contact_email_confirm, name="contact_email_confirm"),
    path("mobile/", contact_mobile, name="contact_mobile"),
    path("mobile/confirm/", contact_mobile_confirm, name="contact_mobile_confirm"),
    path("email/complete/", contact_email_complete, name="contact_email_complete"),
    path("mobile/complete/", contact_mobile_complete, name="contact_mobile_complete"),
    path("password/sign/", password_change_sign, name="password_change_sign"),
]
