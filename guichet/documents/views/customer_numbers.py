"""The "Customer numbers" page (seed 002): the customer numbers the user sees, whether they are its
primary contact or it is shared with them, and how often they hear of its new documents."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_http_methods

from guichet.documents import access, preferences
from guichet.documents.forms.preferences import PreferencesForm


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


urlpatterns = [path("customer-numbers/", customer_numbers, name="customer_numbers")]
