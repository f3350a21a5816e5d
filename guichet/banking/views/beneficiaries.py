"""Beneficiaries of the entities on whose accounts the user holds the management right: list,
add, delete. The service (``banking.beneficiaries``) checks the right again and validates."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods

from guichet.banking import selectors
from guichet.banking.beneficiaries import BeneficiaryError, beneficiary_add, beneficiary_delete
from guichet.banking.forms.beneficiaries import BeneficiaryForm
from guichet.banking.models import Beneficiary


def _managed(request: HttpRequest) -> list:
    entities = list(selectors.managed_entities(user=request.user))
    if not entities:
        raise Http404
    return entities


@login_required
@require_GET
def beneficiaries(request: HttpRequest) -> HttpResponse:
    entities = _managed(request)
    rows = list(selectors.beneficiaries_visible(user=request.user))
    groups = {entity.pk: (entity, []) for entity in entities}
    for row in rows:
        groups[row.entity_id][1].append(row)
    return render(request, "banking/beneficiaries/list.html", {"groups": list(groups.values())})


@login_required
@require_http_methods(["GET", "POST"])
def beneficiary_new(request: HttpRequest) -> HttpResponse:
    entities = selectors.managed_entities(user=request.user)
    if not entities.exists():
        raise Http404
    form = BeneficiaryForm(request.POST or None, entities=entities)
    if request.method == "POST" and form.is_valid():
        try:
            beneficiary = beneficiary_add(
                acting_user=request.user,
                entity=form.cleaned_data["entity"],
                name=form.cleaned_data["name"],
                iban=form.cleaned_data["iban"],
                bic=form.cleaned_data["bic"],
                request=request,
            )
        except BeneficiaryError as error:
            form.add_error(error.field, error.message)
        else:
            messages.success(request, _("The beneficiary %(name)s was added.") % {"name": beneficiary.name})
            return redirect("banking:beneficiaries")
    return render(request, "banking/beneficiaries/add.html", {"form": form})


def _beneficiary(request: HttpRequest, beneficiary_id: int) -> Beneficiary:
    try:
        return selectors.beneficiary_get(user=request.user, beneficiary_id=beneficiary_id)
    except selectors.NotFound:
        raise Http404 from None


@login_required
@require_http_methods(["GET", "POST"])
def beneficiary_remove(request: HttpRequest, beneficiary_id: int) -> HttpResponse:
    beneficiary = _beneficiary(request, beneficiary_id)
    if request.method == "POST":
        try:
            beneficiary_delete(acting_user=request.user, beneficiary=beneficiary, request=request)
        except BeneficiaryError:
            raise Http404 from None
        messages.success(request, _("The beneficiary %(name)s was deleted.") % {"name": beneficiary.name})
        return redirect("banking:beneficiaries")
    return render(request, "banking/beneficiaries/delete.html", {"beneficiary": beneficiary})


urlpatterns: list = [
    path("beneficiaries/", beneficiaries, name="beneficiaries"),
    path("beneficiaries/add/", beneficiary_new, name="beneficiary_add"),
    path("beneficiaries/<int:beneficiary_id>/delete/", beneficiary_remove, name="beneficiary_delete"),
]
