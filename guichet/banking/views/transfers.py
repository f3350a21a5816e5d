"""Credit transfers and batches: the list, the detail with its history, preparing, editing,
cancelling, and validating (review, then signature with strong authentication).

Views stay thin: objects come from the selectors of ``banking.transfers`` (another entity's order
answers 404), the services decide and check the rights again. Every form works without JavaScript.
"""

from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from guichet.banking import transfers
from guichet.banking.forms import transfers as forms
from guichet.banking.models import Batch, Transfer, TransferStatus
from guichet.banking.transfers import TransferError, TransferErrorCode
from guichet.entities import access
from guichet.entities.models import Right
from guichet.identity import signing

PAGE_SIZE = 25
WAITING = "waiting"
TRANSFER_FIELDS = {"debtor_account", "execution_date", *forms.PaymentFields.base_fields, "beneficiary"}


def _transfer(request: HttpRequest, pk: int) -> Transfer:
    try:
        return transfers.transfer_get(user=request.user, transfer_id=pk)
    except TransferError:
        raise Http404 from None


def _batch(request: HttpRequest, pk: int) -> Batch:
    try:
        return transfers.batch_get(user=request.user, batch_id=pk)
    except TransferError:
        raise Http404 from None


def _refusal(error: TransferError) -> None:
    """Another entity's order, or one that vanished, does not exist for the user."""
    if error.code == TransferErrorCode.NOT_FOUND:
        raise Http404 from error


def _require_managed_accounts(request: HttpRequest) -> None:
    if not forms.managed_accounts(request.user).exists():
        raise PermissionDenied


# --- List ---------------------------------------------------------------------------------------


@login_required
@require_GET
def transfer_list(request: HttpRequest) -> HttpResponse:
    status = request.GET.get("status", "")
    status = status if status in TransferStatus.values else ""
    waiting = request.GET.get("show") == WAITING
    rows = transfers.CountedOrders(user=request.user, status=status, waiting=waiting)
    page = Paginator(rows, PAGE_SIZE).get_page(request.GET.get("page"))
    query = {key: value for key, value in (("status", status), ("show", WAITING if waiting else "")) if value}
    return render(
        request,
        "banking/transfers/list.html",
        {
            "page": page,
            "status": status,
            "waiting": waiting,
            "statuses": TransferStatus.choices,
            "query": "&".join(f"{key}={value}" for key, value in query.items()),
            "may_prepare": forms.managed_accounts(request.user).exists(),
        },
    )


# --- Single transfers ------------------------------------------------------------------------


def _detail_context(request: HttpRequest, subject: Transfer | Batch) -> dict[str, Any]:
    user = request.user
    own = user.pk in (subject.prepared_by_id, subject.last_edited_by_id)
    return {
        "may_manage": transfers.may_manage(user, subject),
        "may_validate": transfers.may_validate(user, subject),
        "four_eyes": own
        and subject.status == TransferStatus.PREPARED
        and not subject.entity.allow_self_validation,
        "validations": transfers.validations_of(subject),
    }


@login_required
@require_GET
def transfer_detail(request: HttpRequest, pk: int) -> HttpResponse:
    transfer = _transfer(request, pk)
    context = {"transfer": transfer, **_detail_context(request, transfer)}
    return render(request, "banking/transfers/detail.html", context)


def _transfer_form_page(
    request: HttpRequest, form: forms.TransferForm, transfer: Transfer | None = None
) -> HttpResponse:
    return render(request, "banking/transfers/form.html", {"form": form, "transfer": transfer})


def _add_error(form: Any, error: TransferError, fields: set[str]) -> None:
    form.add_error(error.field if error.field in fields else None, error.message)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def transfer_new(request: HttpRequest) -> HttpResponse:
    _require_managed_accounts(request)
    form = forms.TransferForm(request.POST or None, user=request.user)
    if request.method == "POST" and form.is_valid():
        try:
            transfer = transfers.transfer_prepare(
                acting_user=request.user,
                debtor_account=form.cleaned_data["debtor_account"],
                execution_date=form.cleaned_data["execution_date"],
                payment=form.payment(),
                request=request,
            )
        except TransferError as error:
            _add_error(form, error, TRANSFER_FIELDS)
        else:
            messages.success(request, _("The transfer was prepared. It now waits for validation."))
            return redirect("banking:transfer_detail", pk=transfer.pk)
    return _transfer_form_page(request, form)


def _transfer_initial(transfer: Transfer) -> dict[str, Any]:
    return {
        "debtor_account": transfer.debtor_account_id,
        "beneficiary_name": transfer.beneficiary_name,
        "beneficiary_iban": transfer.beneficiary_iban,
        "beneficiary_bic": transfer.beneficiary_bic,
        "amount": transfer.amount,
        "execution_date": transfer.execution_date,
        "remittance_information": transfer.remittance_information,
        "structured_reference": transfers.reference_display(transfer.structured_reference),
    }


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def transfer_edit(request: HttpRequest, pk: int) -> HttpResponse:
    transfer = _transfer(request, pk)
    if not transfers.may_manage(request.user, transfer):
        messages.error(request, transfers.MESSAGES[_manage_refusal(transfer)])
        return redirect("banking:transfer_detail", pk=transfer.pk)
    form = forms.TransferForm(request.POST or None, user=request.user, initial=_transfer_initial(transfer))
    if request.method == "POST" and form.is_valid():
        try:
            transfers.transfer_edit(
                transfer=transfer,
                acting_user=request.user,
                debtor_account=form.cleaned_data["debtor_account"],
                execution_date=form.cleaned_data["execution_date"],
                payment=form.payment(),
                request=request,
            )
        except TransferError as error:
            _refusal(error)
            _add_error(form, error, TRANSFER_FIELDS)
        else:
            messages.success(request, _("The transfer was changed. It must be validated again."))
            return redirect("banking:transfer_detail", pk=transfer.pk)
    return _transfer_form_page(request, form, transfer)


def _manage_refusal(subject: Transfer | Batch) -> TransferErrorCode:
    if subject.status not in transfers.EDITABLE:
        return TransferErrorCode.WRONG_STATUS
    return TransferErrorCode.NO_MANAGEMENT_RIGHT


def _cancel(request: HttpRequest, subject: Transfer | Batch, *, cancel, detail: str) -> HttpResponse:
    if request.method == "POST":
        try:
            cancel(request.user, subject)
        except TransferError as error:
            _refusal(error)
            messages.error(request, error.message)
        else:
            messages.success(request, _("The order was cancelled."))
        return redirect(detail, pk=subject.pk)
    if not transfers.may_manage(request.user, subject):
        messages.error(request, transfers.MESSAGES[_manage_refusal(subject)])
        return redirect(detail, pk=subject.pk)
    return render(request, "banking/transfers/cancel.html", {"subject": subject, "detail": detail})


@login_required
@require_http_methods(["GET", "POST"])
def transfer_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    return _cancel(
        request,
        _transfer(request, pk),
        cancel=lambda user, t: transfers.transfer_cancel(transfer=t, acting_user=user, request=request),
        detail="banking:transfer_detail",
    )


# --- Validation: review, signature, completion -------------------------------------------------------


def _validate_refusal(request: HttpRequest, subject: Transfer | Batch) -> TransferErrorCode | None:
    """Why the user may not validate now (the service checks it all again), or None."""
    if subject.status != TransferStatus.PREPARED:
        return TransferErrorCode.WRONG_STATUS
    if not access.may(request.user, Right.VALIDATION, subject.debtor_account):
        return TransferErrorCode.NO_VALIDATION_RIGHT
    if not transfers.may_validate(request.user, subject):
        return TransferErrorCode.FOUR_EYES
    return None


def _review(
    request: HttpRequest, subject: Transfer | Batch, *, operation: signing.Operation, names: dict[str, str]
) -> HttpResponse:
    """GET: what will be signed. POST: starts the signature of exactly that version."""
    refusal = _validate_refusal(request, subject)
    if refusal is not None:
        messages.error(request, transfers.MESSAGES[refusal])
        return redirect(names["detail"], pk=subject.pk)
    if request.method == "POST":
        if request.POST.get("version") != str(subject.version):
            messages.error(request, transfers.MESSAGES[TransferErrorCode.TAMPERED])
            return redirect(names["validate"], pk=subject.pk)
        complete = reverse(names["complete"], kwargs={"pk": subject.pk})
        challenge = signing.signing_start(
            user=request.user,
            operation=operation,
            request=request,
            next_url=f"{complete}?version={subject.version}",
        )
        return redirect("identity:sign", challenge_id=challenge.pk)
    context = {"subject": subject, "rows": operation.describe(), "detail": names["detail"]}
    return render(request, "banking/transfers/validate.html", context)


def _complete(request: HttpRequest, subject: Transfer | Batch, *, validate, detail: str) -> HttpResponse:
    """Back from the signing page with ``?proof=``: the service validates the version reviewed."""
    try:
        version = int(request.GET.get("version", ""))
    except ValueError:
        version = -1
    try:
        validate(request.user, subject, version, request.GET.get("proof", ""))
    except TransferError as error:
        _refusal(error)
        messages.error(request, error.message)
    else:
        messages.success(request, _("Validated. The order will be sent to the bank."))
    return redirect(detail, pk=subject.pk)


TRANSFER_NAMES = {
    "detail": "banking:transfer_detail",
    "validate": "banking:transfer_validate",
    "complete": "banking:transfer_validate_complete",
}
BATCH_NAMES = {
    "detail": "banking:batch_detail",
    "validate": "banking:batch_validate",
    "complete": "banking:batch_validate_complete",
}


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def transfer_validate(request: HttpRequest, pk: int) -> HttpResponse:
    transfer = _transfer(request, pk)
    operation = transfers.transfer_operation(transfer)
    return _review(request, transfer, operation=operation, names=TRANSFER_NAMES)


@login_required
@require_GET
def transfer_validate_complete(request: HttpRequest, pk: int) -> HttpResponse:
    return _complete(
        request,
        _transfer(request, pk),
        validate=lambda user, t, version, proof: transfers.transfer_validate(
            transfer=t, acting_user=user, version=version, proof_id=proof, request=request
        ),
        detail="banking:transfer_detail",
    )


# --- Batches ------------------------------------------------------------------------------------------


@login_required
@require_GET
def batch_detail(request: HttpRequest, pk: int) -> HttpResponse:
    batch = _batch(request, pk)
    context = {"batch": batch, "lines": transfers.batch_lines(batch), **_detail_context(request, batch)}
    return render(request, "banking/transfers/batch_detail.html", context)


def _batch_form_page(request: HttpRequest, form: Any, lines: Any, batch: Batch | None = None) -> HttpResponse:
    title = gettext_lazy("Change the batch") if batch else gettext_lazy("Prepare a batch of transfers")
    context = {
        "form": form,
        "lines": lines,
        "batch": batch,
        "title": title,
        "max_lines": transfers.MAX_BATCH_LINES,
    }
    return render(request, "banking/transfers/batch_form.html", context)


def _batch_submit(
    request: HttpRequest, batch: Batch | None, initial: dict[str, Any], rows: list
) -> HttpResponse:
    """The batch form, for a new batch or an edit: "add rows" re-shows it, "save" calls the service."""
    form = forms.BatchForm(request.POST or None, user=request.user, initial=initial)
    if request.method != "POST":
        return _batch_form_page(request, form, forms.batch_lines_formset(initial=rows), batch)
    if "add_rows" in request.POST:
        form = forms.BatchForm(user=request.user, initial=request.POST.dict())
        return _batch_form_page(request, form, forms.batch_lines_more(request.POST), batch)
    lines = forms.batch_lines_formset(data=request.POST)
    if form.is_valid() and lines.is_valid():
        payments = forms.batch_payments(lines)
        try:
            if batch is None:
                saved = transfers.batch_prepare(
                    acting_user=request.user, payments=payments, request=request, **form.cleaned_data
                )
            else:
                saved = transfers.batch_edit(
                    batch=batch,
                    acting_user=request.user,
                    payments=payments,
                    request=request,
                    **form.cleaned_data,
                )
        except TransferError as error:
            _refusal(error)
            form.add_error(error.field if error.field in form.fields else None, error.message)
        else:
            messages.success(request, _("The batch was saved. It now waits for validation."))
            return redirect("banking:batch_detail", pk=saved.pk)
    return _batch_form_page(request, form, lines, batch)


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def batch_new(request: HttpRequest) -> HttpResponse:
    _require_managed_accounts(request)
    return _batch_submit(request, None, {}, [])


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def batch_edit(request: HttpRequest, pk: int) -> HttpResponse:
    batch = _batch(request, pk)
    if not transfers.may_manage(request.user, batch):
        messages.error(request, transfers.MESSAGES[_manage_refusal(batch)])
        return redirect("banking:batch_detail", pk=batch.pk)
    initial = {
        "label": batch.label,
        "debtor_account": batch.debtor_account_id,
        "execution_date": batch.execution_date,
    }
    rows = [_transfer_initial(line) for line in transfers.batch_lines(batch)]
    return _batch_submit(request, batch, initial, rows)


@login_required
@require_http_methods(["GET", "POST"])
def batch_cancel(request: HttpRequest, pk: int) -> HttpResponse:
    return _cancel(
        request,
        _batch(request, pk),
        cancel=lambda user, b: transfers.batch_cancel(batch=b, acting_user=user, request=request),
        detail="banking:batch_detail",
    )


@never_cache
@login_required
@require_http_methods(["GET", "POST"])
def batch_validate(request: HttpRequest, pk: int) -> HttpResponse:
    batch = _batch(request, pk)
    return _review(request, batch, operation=transfers.batch_operation(batch), names=BATCH_NAMES)


@login_required
@require_GET
def batch_validate_complete(request: HttpRequest, pk: int) -> HttpResponse:
    return _complete(
        request,
        _batch(request, pk),
        validate=lambda user, b, version, proof: transfers.batch_validate(
            batch=b, acting_user=user, version=version, proof_id=proof, request=request
        ),
        detail="banking:batch_detail",
    )


urlpatterns: list = [
    path("transfers/", transfer_list, name="transfers"),
    path("transfers/new/", transfer_new, name="transfer_new"),
    path("transfers/<int:pk>/", transfer_detail, name="transfer_detail"),
    path("transfers/<int:pk>/edit/", transfer_edit, name="transfer_edit"),
    path("transfers/<int:pk>/cancel/", transfer_cancel, name="transfer_cancel"),
    path("transfers/<int:pk>/validate/", transfer_validate, name="transfer_validate"),
    path(
        "transfers/<int:pk>/validate/complete/", transfer_validate_complete, name="transfer_validate_complete"
    ),
    path("transfers/batches/new/", batch_new, name="batch_new"),
    path("transfers/batches/<int:pk>/", batch_detail, name="batch_detail"),
    path("transfers/batches/<int:pk>/edit/", batch_edit, name="batch_edit"),
    path("transfers/batches/<int:pk>/cancel/", batch_cancel, name="batch_cancel"),
    path("transfers/batches/<int:pk>/validate/", batch_validate, name="batch_validate"),
    path(
        "transfers/batches/<int:pk>/validate/complete/",
        batch_validate_complete,
        name="batch_validate_complete",
    ),
]
