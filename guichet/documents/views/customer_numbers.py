"""The "Customer numbers" page (seed 002): the customer numbers the user sees, whether they are its
primary contact or it is shared with them, and how often they hear of its new documents.

Beside it, for the account holding a customer number: its delivery (electronic or paper), "Stop
electronic delivery" (with a confirmation page), "Re-activate" while the last activation code is
valid, and the history of changes; and "Add an activation code" for another customer number. The
services (``documents.codes``) check again that the account holds the number: another customer's
number, or one only shared with the user, answers 404.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from guichet.documents import access, codes, preferences
from guichet.documents.codes import CodeError
from guichet.documents.forms.enrolment import ActivationCodeForm
from guichet.documents.forms.preferences import PreferencesForm
from guichet.documents.models import CustomerNumber


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def customer_numbers(request: HttpRequest) -> HttpResponse:
    numbers = list(
        access.customer_numbers(request.user)
        .select_related("issuer", "customer")
        .order_by("issuer__prefix", "number", "pk")
    )
    current = preferences.frequencies(user=request.user, customer_number_ids=[n.pk for n in numbers])
    form = PreferencesForm(request.POST or None, numbers=numbers, current=current)
    error = None
    if request.method == "POST" and form.is_valid():
        try:
            changed = preferences.preferences_set(user=request.user, choices=form.choices(), request=request)
        except preferences.PreferenceError as refusal:
            error = refusal.message
        else:
            if changed:
                messages.success(request, _("Your notification settings are saved."))
            else:
                messages.info(request, _("Nothing changed."))
            return redirect("documents:customer_numbers")
    context = {"form": form, "error": error, "any": bool(numbers)}
    return render(request, "documents/customer_numbers/list.html", context)


# --- Activation codes of an existing account ----------------------------------------------------


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def activation_code_add(request: HttpRequest) -> HttpResponse:
    form = ActivationCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            number = codes.activation_code_redeem(
                code=form.cleaned_data["code"], user=request.user, request=request
            )
        except CodeError as refusal:
            form.add_error("code", refusal.message)
        else:
            if number.electronic_delivery:
                done = _(
                    "Customer number %(code)s is in your account. Its documents now come electronically: "
                    "no more paper."
                )
                messages.success(request, done % {"code": number.code})
            else:
                later = _(
                    "Customer number %(code)s is already in your account, but this code no longer "
                    "re-activates its electronic delivery. Ask the issuer for a new activation code."
                )
                messages.warning(request, later % {"code": number.code})
            return redirect("documents:customer_numbers")
    return render(request, "documents/customer_numbers/add_code.html", {"form": form})


# --- Delivery of one customer number ------------------------------------------------------------


def _held(request: HttpRequest, customer_number_id: int) -> CustomerNumber:
    """One of the account's own customer numbers (not one shared with it), else 404."""
    number = (
        access.owned_customer_numbers(request.user)
        .select_related("issuer", "customer")
        .filter(pk=customer_number_id)
        .first()
    )
    if number is None:
        raise Http404
    return number


@login_required
@never_cache
@require_GET
def delivery(request: HttpRequest, customer_number_id: int) -> HttpResponse:
    number = _held(request, customer_number_id)
    context = {
        "number": number,
        "history": codes.delivery_history(number),
        "reactivation_allowed": codes.delivery_reactivation_allowed(number),
    }
    return render(request, "documents/customer_numbers/delivery.html", context)


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def delivery_stop(request: HttpRequest, customer_number_id: int) -> HttpResponse:
    number = _held(request, customer_number_id)
    if request.method == "POST":
        try:
            codes.delivery_opt_out(user=request.user, customer_number=number.pk, request=request)
        except CodeError:
            raise Http404 from None
        stopped = _(
            "Electronic delivery of %(code)s is stopped: its new documents are sent by post again. "
            "The documents already received stay here."
        )
        messages.success(request, stopped % {"code": number.code})
        return redirect("documents:delivery", customer_number_id=number.pk)
    return render(request, "documents/customer_numbers/delivery_stop.html", {"number": number})


@login_required
@require_POST
def delivery_reactivate(request: HttpRequest, customer_number_id: int) -> HttpResponse:
    number = _held(request, customer_number_id)
    try:
        codes.delivery_reactivate(user=request.user, customer_number=number.pk, request=request)
    except CodeError as refusal:
        if refusal.code == codes.CodeErrorCode.NOT_FOUND:
            raise Http404 from None
        messages.error(request, refusal.message)
    else:
        done = _("Electronic delivery of %(code)s is active again: no more paper.")
        messages.success(request, done % {"code": number.code})
    return redirect("documents:delivery", customer_number_id=number.pk)


urlpatterns = [
    path("customer-numbers/", customer_numbers, name="customer_numbers"),
    path("customer-numbers/add-code/", activation_code_add, name="activation_code_add"),
    path("customer-numbers/<int:customer_number_id>/delivery/", delivery, name="delivery"),
    path("customer-numbers/<int:customer_number_id>/delivery/stop/", delivery_stop, name="delivery_stop"),
    path(
        "customer-numbers/<int:customer_number_id>/delivery/reactivate/",
        delivery_reactivate,
        name="delivery_reactivate",
    ),
]
