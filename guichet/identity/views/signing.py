"""The signing page: shows exactly what is signed, then the user signs it with a passkey,
an authenticator app or (without either) an SMS code (identity.signing).

Plain form posts throughout; the passkey button needs JavaScript
(``identity/sign-webauthn.js``), the codes do not. On success the user goes
back to the page that asked for the signature, with ``?proof=<id>``.
"""

from typing import Any
from urllib.parse import urlencode

from django import forms
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from guichet.identity import signing
from guichet.identity.models import SignedProof, SigningChallenge, SigningMethod
from guichet.identity.phones import mask_phone


class SignForm(forms.Form):
    """One attempt: ``method`` says which; ``code`` for TOTP and SMS, ``credential`` for a passkey."""

    method = forms.ChoiceField(choices=SigningMethod.choices, widget=forms.HiddenInput)
    code = forms.CharField(
        label=gettext_lazy("6-digit code"),
        required=False,
        max_length=12,
        widget=forms.TextInput(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "pattern": "[0-9 ]*"}
        ),
    )
    credential = forms.CharField(required=False, widget=forms.HiddenInput)

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean()
        if self.data.get("action") == "sms_send":
            return cleaned  # asking for a code: nothing to check yet
        method = cleaned.get("method")
        if method in (SigningMethod.TOTP, SigningMethod.SMS) and not cleaned.get("code", "").strip():
            self.add_error("code", ValidationError(_("Enter the 6-digit code."), code="required"))
        if method == SigningMethod.WEBAUTHN and not cleaned.get("credential"):
            raise ValidationError(_("The passkey did not answer. Try again."), code="no_credential")
        return cleaned


def proof_url(challenge: SigningChallenge, proof: SignedProof) -> str:
    """The page that asked for the signature, told which proof to consume."""
    next_url = challenge.next_url or reverse("identity:security")
    separator = "&" if "?" in next_url else "?"
    return f"{next_url}{separator}{urlencode({'proof': str(proof.pk)})}"


# Operations of the Security page go back there; the others (rights, transfers) go back to the page
# that asked for the signature, which without a proof shows the operation again, unchanged.
SECURITY_KINDS = {
    "password_change",
    "email_change",
    "mobile_change",
    "authenticator_add",
    "authenticator_remove",
    "authenticator_rename",
}


def cancel_url(challenge: SigningChallenge) -> str:
    if challenge.kind in SECURITY_KINDS or not challenge.next_url:
        return reverse("identity:security")
    return challenge.next_url


def _wrong_message(error: signing.SigningError) -> str:
    left = error.attempts_left or 0
    if left == 1:
        return _(
            "The code or the passkey signature is not correct. Last try: one more failure locks your access."
        )
    return ngettext(
        "The code or the passkey signature is not correct. You have %(count)d try left.",
        "The code or the passkey signature is not correct. You have %(count)d tries left.",
        left,
    ) % {"count": left}


def _closed_reason(challenge: SigningChallenge) -> str:
    if challenge.used_at is not None:
        return signing.SigningError(signing.SigningErrorCode.USED).message
    if timezone.now() >= challenge.expires_at:
        return signing.SigningError(signing.SigningErrorCode.EXPIRED).message
    return ""


def _page(
    request: HttpRequest, challenge: SigningChallenge, form: SignForm, *, closed: str = "", status: int = 200
) -> HttpResponse:
    operation = signing.challenge_operation(challenge)
    methods = signing.signing_methods(request.user)
    code_method = next((m for m in methods if m in (SigningMethod.TOTP, SigningMethod.SMS)), "")
    context = {
        "challenge": challenge,
        "rows": operation.describe(),
        "methods": methods,
        "code_method": code_method,
        "form": form,
        "closed": closed,
        "cancel_url": cancel_url(challenge),
        "minutes": settings.GUICHET_SIGNING_VALIDITY_SECONDS // 60,
        "sms_sent": challenge.code_sent_at is not None,
        "masked_phone": mask_phone(request.user.mobile_phones[0]) if request.user.mobile_phones else "",
        "webauthn_options": (
            signing.signing_webauthn_options(challenge, request)
            if SigningMethod.WEBAUTHN in methods and not closed
            else None
        ),
    }
    return render(request, "identity/signing/sign.html", context, status=status)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def sign(request: HttpRequest, challenge_id: Any) -> HttpResponse:
    challenge = signing.challenge_of(challenge_id=challenge_id, user=request.user)
    if challenge is None:
        raise Http404
    closed = _closed_reason(challenge)
    if request.method != "POST" or closed:
        return _page(request, challenge, SignForm(initial={"method": ""}), closed=closed)
    if request.POST.get("action") == "sms_send":
        return _sms_send(request, challenge)
    form = SignForm(request.POST)
    if not form.is_valid():
        return _page(request, challenge, form)
    try:
        proof = signing.signing_verify(
            challenge_id=challenge.pk,
            user=request.user,
            operation=signing.challenge_operation(challenge),
            method=form.cleaned_data["method"],
            code=form.cleaned_data.get("code"),
            webauthn_response=form.cleaned_data.get("credential"),
            request=request,
        )
    except signing.SigningError as error:
        if error.final:
            challenge.refresh_from_db()
            return _page(request, challenge, SignForm(), closed=error.message)
        message = _wrong_message(error) if error.code == signing.SigningErrorCode.WRONG else error.message
        form.add_error("code" if form.cleaned_data["method"] != SigningMethod.WEBAUTHN else None, message)
        return _page(request, challenge, form)
    return redirect(proof_url(challenge, proof))


def _sms_send(request: HttpRequest, challenge: SigningChallenge) -> HttpResponse:
    form = SignForm(initial={"method": SigningMethod.SMS})
    try:
        phone = signing.signing_sms_send(challenge=challenge, request=request)
    except signing.SigningError as error:
        form = SignForm({"method": SigningMethod.SMS, "action": "sms_send"})
        form.is_valid()
        form.add_error(None, error.message)
        return _page(request, challenge, form, status=429 if error.code == "rate_limited" else 200)
    messages.success(
        request, _("We sent a 6-digit code by SMS to %(number)s.") % {"number": mask_phone(phone)}
    )
    return redirect("identity:sign", challenge_id=challenge.pk)


urlpatterns = [
    path("<uuid:challenge_id>/", sign, name="sign"),
]
