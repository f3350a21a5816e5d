"""The sandbox provider's card page: the "payment provider" a customer is redirected to for a card.

It stands for a real provider's hosted page, so it is its own small site (its own layout, branded
"Sandbox payment provider — test mode"), reached with the session id in its URL. It accepts only the
test card numbers (``sandbox.cards``); the number and the security code are used to pick the test
card and then dropped: never stored, logged, or written back into the page (a form with an error
shows the number field empty again). Completing or cancelling returns the customer to the session's
return URL with ``session=<id>``, and queues a signed notification.
"""

import datetime

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone, translation
from django.utils.translation import gettext_lazy as _
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_http_methods

from guichet.paylater.sandbox import provider
from guichet.paylater.sandbox.cards import TEST_CARDS, TestCard, card_for_number, digits_only, luhn_valid
from guichet.paylater.schedules import card_valid_through


class NoEchoInput(forms.TextInput):
    """A text input that never writes its value back into the page (card number, security code)."""

    def format_value(self, value: object) -> None:
        return None


class CardForm(forms.Form):
    number = forms.CharField(
        label=_("Card number"),
        max_length=23,
        widget=NoEchoInput(
            attrs={"autocomplete": "cc-number", "inputmode": "numeric", "spellcheck": "false"}
        ),
    )
    expiry = forms.CharField(
        label=_("Expiry date (MM/YY)"),
        help_text=_("As printed on the card, for example 12/30."),
        max_length=7,
        widget=forms.TextInput(attrs={"autocomplete": "cc-exp", "inputmode": "numeric"}),
    )
    cvc = forms.CharField(
        label=_("Security code"),
        help_text=_("The 3 digits on the back of the card (4 digits on the front for American Express)."),
        max_length=4,
        widget=NoEchoInput(attrs={"autocomplete": "cc-csc", "inputmode": "numeric"}),
    )

    def __init__(self, *args: object, today: datetime.date, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)
        self.today = today
        self.card: TestCard | None = None
        self.expiry_month = self.expiry_year = 0

    def clean_number(self) -> str:
        digits = digits_only(self.cleaned_data["number"])
        if not luhn_valid(digits):
            raise forms.ValidationError(_("This card number is not valid: check the digits."), code="luhn")
        self.card = card_for_number(digits)
        if self.card is None:
            raise forms.ValidationError(
                _("This test page accepts only the test card numbers listed on it."), code="not_test_card"
            )
        return ""  # the number itself is not kept, even in the form

    def clean_expiry(self) -> str:
        value = self.cleaned_data["expiry"].replace(" ", "")
        month, _sep, year = value.partition("/")
        if not (month.isdigit() and year.isdigit() and len(year) in (2, 4) and 1 <= int(month) <= 12):
            raise forms.ValidationError(
                _("Enter the expiry date as MM/YY, for example 12/30."), code="format"
            )
        self.expiry_month = int(month)
        self.expiry_year = int(year) + (2000 if len(year) == 2 else 0)
        valid_through = card_valid_through(expiry_month=self.expiry_month, expiry_year=self.expiry_year)
        if valid_through < self.today:
            raise forms.ValidationError(_("This card has expired."), code="expired")
        return value

    def clean(self) -> dict:
        cleaned = super().clean()
        cvc = (self.data.get("cvc") or "").strip()
        length = 4 if self.card is not None and self.card.brand == "amex" else 3
        if "cvc" in cleaned and not (cvc.isdigit() and len(cvc) == length):
            self.add_error(
                "cvc",
                forms.ValidationError(
                    _("Enter the %(count)d-digit security code.") % {"count": length}, code="cvc"
                ),
            )
        cleaned["cvc"] = ""
        return cleaned


def _closed(request: HttpRequest, session: provider.SandboxSession | None, state: str) -> HttpResponse:
    """A page for a session that cannot take a card (unknown, finished or expired)."""
    context = {
        "state": state,
        "return_url": provider.session_return_url(session) if session is not None else "",
    }
    return render(request, "paylater_sandbox/closed.html", context, status=404 if session is None else 410)


@sensitive_post_parameters("number", "cvc")
@require_http_methods(["GET", "POST"])
def card_page(request: HttpRequest, session_id: str) -> HttpResponse:
    session = provider.session_get(session_id)
    if session is None:
        return _closed(request, None, "unknown")
    with translation.override(session.language):
        if session.status == provider.SessionState.COMPLETED:
            return _closed(request, session, "completed")
        if session.status == provider.SessionState.CANCELLED:
            return _closed(request, session, "cancelled")
        if provider.session_expired(session):
            return _closed(request, session, "expired")
        form = CardForm(today=timezone.localdate(), data=request.POST if request.method == "POST" else None)
        if request.method == "POST" and request.POST.get("action") == "cancel":
            provider.session_cancel(session=session)
            return redirect(provider.session_return_url(session))
        if request.method == "POST" and form.is_valid():
            provider.session_card_enter(
                session=session, card=form.card, expiry_month=form.expiry_month, expiry_year=form.expiry_year
            )
            return redirect(provider.session_return_url(session))
        context = {"form": form, "session": session, "test_cards": TEST_CARDS}
        return render(request, "paylater_sandbox/card.html", context)
