"""Consultation: accounts with balances, an account's transactions (filters, keyset pagination,
CSV export) and contracts. Everything through ``banking.selectors`` (so ``entities.access``);
another entity's ID, or one without the consultation right, answers 404."""

import dataclasses
from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import formats, timezone
from django.views.decorators.http import require_GET

from guichet.banking import consultation, selectors
from guichet.banking.forms.consultation import TransactionFilterForm
from guichet.entities.models import BankAccount, Entity


@dataclasses.dataclass(frozen=True)
class AccountRow:
    """One line of the accounts page, formatted once here: a user may see hundreds of accounts,
    and template lookups, filters and ``{% url %}`` per row cost more than the query."""

    entity: Entity
    label: str
    url: str
    iban: str
    balance: str
    currency: str
    balance_at: str


def _account_rows(items: list[BankAccount]) -> list[AccountRow]:
    # accounts/<id>/ sits right under accounts/ (see urlpatterns below): one reverse for all rows.
    prefix = reverse("banking:accounts")
    return [
        AccountRow(
            entity=item.entity,
            label=item.label,
            url=f"{prefix}{item.pk}/",
            iban=item.iban_display,
            balance=formats.number_format(item.balance, 2, use_l10n=True, force_grouping=True),
            currency=item.currency,
            balance_at=formats.date_format(timezone.localtime(item.balance_at), "SHORT_DATETIME_FORMAT"),
        )
        for item in items
    ]


ACCOUNTS_PAGE_SIZE = 50


@login_required
@require_GET
def accounts(request: HttpRequest) -> HttpResponse:
    """Pages of 50 accounts with a search on the label or the IBAN: a treasurer with hundreds of
    accounts finds one by typing, and every page costs the same two queries."""
    search = request.GET.get("q", "").strip()[:70]
    accounts = selectors.accounts_search(selectors.accounts_visible(user=request.user), search)
    page = Paginator(accounts, ACCOUNTS_PAGE_SIZE).get_page(request.GET.get("page"))
    rows = _account_rows(list(page.object_list))
    context = {
        "groups": selectors.by_entity(rows),
        "page": page,
        "search": search,
        "query": urlencode({"q": search}) if search else "",
    }
    return render(request, "banking/accounts/list.html", context)


def _account(request: HttpRequest, account_id: int) -> BankAccount:
    try:
        return selectors.account_get(user=request.user, account_id=account_id)
    except selectors.NotFound:
        raise Http404 from None


@login_required
@require_GET
def account(request: HttpRequest, account_id: int) -> HttpResponse:
    account = _account(request, account_id)
    form = TransactionFilterForm(request.GET)
    page = None
    if form.is_valid():
        qs = selectors.transactions_filtered(account=account, filters=form.filters())
        page = selectors.transactions_page(
            qs,
            after=selectors.Cursor.parse(request.GET.get("after")),
            before=selectors.Cursor.parse(request.GET.get("before")),
        )
    elif request.htmx:
        # The errors belong next to the fields: a full page load shows them there.
        response = HttpResponse(status=204)
        response["HX-Redirect"] = request.get_full_path()
        return response
    context = {
        "account": account,
        "form": form,
        "page": page,
        "filtered": any(request.GET.get(name) for name in form.fields),
    }
    template = "banking/accounts/_transactions.html" if request.htmx else "banking/accounts/detail.html"
    return render(request, template, context)


@login_required
@require_GET
def account_export(request: HttpRequest, account_id: int) -> HttpResponse:
    form = TransactionFilterForm(request.GET)
    if not form.is_valid():
        _account(request, account_id)  # 404 first: no hint about another entity's account
        return redirect(f"{reverse('banking:account', args=[account_id])}?{request.GET.urlencode()}")
    try:
        account, lines = consultation.transactions_export(
            user=request.user, account_id=account_id, filters=form.filters(), request=request
        )
    except selectors.NotFound:
        raise Http404 from None
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{consultation.export_filename(account)}"'
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_GET
def contracts(request: HttpRequest) -> HttpResponse:
    rows = list(selectors.contracts_visible(user=request.user))
    return render(request, "banking/contracts/list.html", {"groups": selectors.by_entity(rows)})


@login_required
@require_GET
def contract(request: HttpRequest, contract_id: int) -> HttpResponse:
    try:
        item = selectors.contract_get(user=request.user, contract_id=contract_id)
    except selectors.NotFound:
        raise Http404 from None
    return render(request, "banking/contracts/detail.html", {"contract": item})


urlpatterns: list = [
    path("accounts/", accounts, name="accounts"),
    path("accounts/<int:account_id>/", account, name="account"),
    path("accounts/<int:account_id>/transactions.csv", account_export, name="account_export"),
    path("contracts/", contracts, name="contracts"),
    path("contracts/<int:contract_id>/", contract, name="contract"),
]
