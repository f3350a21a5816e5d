"""The documents page (filters, sort by any column, keyset pages, CSV, ZIP of a selection) and a
document's page (details, PDF, original, duplicates). Everything through ``documents.selectors`` and
``documents.downloads`` (so ``documents.access``): another customer's document answers 404 and
nothing is written."""

import dataclasses
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils import formats, timezone, translation
from django.utils.http import content_disposition_header, url_has_allowed_host_and_scheme
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST

from guichet.documents import downloads, selectors
from guichet.documents.forms.filters import DocumentFilterForm
from guichet.documents.models import Document, DocumentKind

PAGING = ("after", "before")


@dataclasses.dataclass(frozen=True)
class Column:
    key: str
    label: str
    url: str
    aria_sort: str  # "ascending", "descending" or "" (not sorted on this column)
    hint: str
    numeric: bool = False


_COLUMN_LABELS = {
    "number": _("Document number"),
    "kind": _("Type"),
    "date": _("Issue date"),
    "due": _("Due date"),
    "customer": _("Customer number"),
    "amount": _("Amount incl. VAT"),
}


@dataclasses.dataclass(frozen=True)
class Row:
    """One line of the list, formatted once here (50 rows, several cells each)."""

    pk: int
    url: str
    number: str
    kind: str
    issue_date: str
    due_date: str
    customer_number: str
    amount: str
    unread: bool
    select_label: str


def _query(request: HttpRequest, **changes: Any) -> str:
    """The current query string with ``changes`` (None removes a parameter), page cursors dropped
    unless given."""
    params = request.GET.copy()
    for name in PAGING:
        params.pop(name, None)
    for name, value in changes.items():
        if value is None:
            params.pop(name, None)
        else:
            params[name] = str(value)
    if params.get("sort") == str(selectors.Sort()):
        params.pop("sort")
    encoded = params.urlencode()
    return f"?{encoded}" if encoded else ""


def _columns(request: HttpRequest, sort: selectors.Sort, list_url: str) -> list[Column]:
    columns = []
    for key, label in _COLUMN_LABELS.items():
        target = sort.on(key)
        aria_sort = ""
        if key == sort.key:
            aria_sort = "descending" if sort.descending else "ascending"
        hint = _("sort in descending order") if target.descending else _("sort in ascending order")
        columns.append(
            Column(
                key=key,
                label=str(label),
                url=list_url + _query(request, sort=target),
                aria_sort=aria_sort,
                hint=str(hint),
                numeric=key == "amount",
            )
        )
    return columns


def _rows(items: list[Document], list_url: str) -> list[Row]:
    kinds = {value: str(label) for value, label in DocumentKind.choices}
    select = gettext("Select document %(number)s")
    return [
        Row(
            pk=item.pk,
            url=f"{list_url}{item.pk}/",
            number=item.number,
            kind=kinds[item.kind],
            issue_date=formats.date_format(item.issue_date, "SHORT_DATE_FORMAT"),
            due_date=formats.date_format(item.due_date, "SHORT_DATE_FORMAT") if item.due_date else "",
            customer_number=f"{item.customer_number.issuer.prefix} {item.customer_number.number}",
            amount=formats.number_format(item.amount_incl_vat, 2, use_l10n=True, force_grouping=True),
            unread=not item.is_read,
            select_label=select % {"number": item.number},
        )
        for item in items
    ]


@never_cache  # amounts of the customer's invoices: never kept by a shared cache or the browser
@login_required
@require_GET
def document_list(request: HttpRequest) -> HttpResponse:
    numbers = selectors.customer_numbers_visible(user=request.user)
    list_url = reverse("documents:list")
    form = DocumentFilterForm(request.GET, customer_numbers=numbers, list_url=list_url)
    sort = selectors.Sort.parse(request.GET.get("sort"))
    page = None
    if form.is_valid():
        page = selectors.documents_page(
            user=request.user,
            customer_numbers=numbers,
            filters=form.filters(),
            sort=sort,
            after=request.GET.get("after"),
            before=request.GET.get("before"),
        )
    elif request.htmx:
        # The errors belong next to the fields: a full page load shows them there.
        response = HttpResponse(status=204)
        response["HX-Redirect"] = request.get_full_path()
        return response
    context = {
        "form": form,
        "page": page,
        "rows": _rows(page.items, list_url) if page else [],
        "sort": sort,
        "columns": _columns(request, sort, list_url),
        "list_url": list_url,
        "has_numbers": bool(numbers),
        "filtered": any(request.GET.get(name) for name in form.fields),
        "export_query": _query(request),
        "previous_url": list_url + _query(request, before=page.previous) if page and page.previous else "",
        "next_url": list_url + _query(request, after=page.next) if page and page.next else "",
        "current_query": request.GET.urlencode(),
        "zip_limit": downloads.ZIP_LIMIT,
    }
    template = "documents/list/_results.html" if request.htmx else "documents/list/page.html"
    return render(request, template, context)


@login_required
@require_GET
def document_export(request: HttpRequest) -> HttpResponse:
    numbers = selectors.customer_numbers_visible(user=request.user)
    form = DocumentFilterForm(request.GET, customer_numbers=numbers)
    if not form.is_valid():
        return redirect(reverse("documents:list") + _query(request))
    lines = downloads.documents_export(
        user=request.user,
        customer_numbers=numbers,
        filters=form.filters(),
        sort=selectors.Sort.parse(request.GET.get("sort")),
        request=request,
    )
    response = StreamingHttpResponse(lines, content_type="text/csv; charset=utf-8")
    filename = f"documents-{timezone.localdate().isoformat()}.csv"
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


@login_required
@require_POST
def document_zip(request: HttpRequest) -> HttpResponse:
    try:
        archive = downloads.documents_zip(
            user=request.user, document_ids=request.POST.getlist("document"), request=request
        )
    except downloads.ZipRefused as refused:
        messages.error(request, refused.message)
        return redirect(_back_to_list(request))
    filename = f"documents-{timezone.localdate().isoformat()}.zip"
    response = FileResponse(archive, as_attachment=True, filename=filename, content_type="application/zip")
    response["Cache-Control"] = "no-store"
    return response


def _back_to_list(request: HttpRequest) -> str:
    """The list as the user left it (its query string travels with the selection)."""
    list_url = reverse("documents:list")
    query = request.POST.get("query", "")
    target = f"{list_url}?{query}" if query else list_url
    if not url_has_allowed_host_and_scheme(target, allowed_hosts={request.get_host()}) or "\n" in target:
        return list_url
    return target


def _document(request: HttpRequest, document_id: int) -> Document:
    try:
        return downloads.document_get(user=request.user, document_id=document_id)
    except downloads.NotFound:
        raise Http404 from None


@never_cache
@login_required
@require_GET
def document_detail(request: HttpRequest, document_id: int) -> HttpResponse:
    document = _document(request, document_id)
    downloads.document_mark_read(user=request.user, document=document)
    context = {"document": document, "duplicates": downloads.duplicates_of(document)}
    return render(request, "documents/detail/page.html", context)


def _pdf_response(request: HttpRequest, document_id: int, *, inline: bool) -> HttpResponse:
    try:
        document, content = downloads.document_pdf_get(
            user=request.user, document_id=document_id, inline=inline, request=request
        )
    except downloads.NotFound:
        raise Http404 from None
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = content_disposition_header(
        as_attachment=not inline, filename=downloads.pdf_filename(document)
    )
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_GET
def document_pdf(request: HttpRequest, document_id: int) -> HttpResponse:
    return _pdf_response(request, document_id, inline=True)


@login_required
@require_GET
def document_pdf_download(request: HttpRequest, document_id: int) -> HttpResponse:
    return _pdf_response(request, document_id, inline=False)


@login_required
@require_GET
def document_original(request: HttpRequest, document_id: int) -> HttpResponse:
    try:
        document, handle = downloads.document_original_get(
            user=request.user, document_id=document_id, request=request
        )
    except downloads.NotFound:
        raise Http404 from None
    response = FileResponse(handle, as_attachment=True, filename=document.original_name or "original")
    response["Cache-Control"] = "private, no-store"
    return response


@login_required
@require_POST
def duplicate_request(request: HttpRequest, document_id: int) -> HttpResponse:
    try:
        downloads.duplicate_request(
            user=request.user, document_id=document_id, language=translation.get_language(), request=request
        )
    except downloads.NotFound:
        raise Http404 from None
    messages.success(request, _("Your duplicate is ready: download it from the list of duplicates below."))
    return redirect(reverse("documents:detail", args=[document_id]) + "#duplicates")


@login_required
@require_GET
def duplicate_download(request: HttpRequest, document_id: int, duplicate_id: int) -> HttpResponse:
    try:
        duplicate, handle = downloads.duplicate_get(
            user=request.user, document_id=document_id, duplicate_id=duplicate_id, request=request
        )
    except downloads.NotFound:
        raise Http404 from None
    suffix = f"-duplicate-{timezone.localdate(duplicate.requested_at).isoformat()}"
    filename = downloads.pdf_filename(duplicate.document, suffix)
    response = FileResponse(handle, as_attachment=True, filename=filename, content_type="application/pdf")
    response["Cache-Control"] = "private, no-store"
    return response


urlpatterns: list = [
    path("", document_list, name="list"),
    path("export.csv", document_export, name="export"),
    path("download/", document_zip, name="zip"),
    path("<int:document_id>/", document_detail, name="detail"),
    path("<int:document_id>/pdf/", document_pdf, name="pdf"),
    path("<int:document_id>/pdf/download/", document_pdf_download, name="pdf_download"),
    path("<int:document_id>/original/", document_original, name="original"),
    path("<int:document_id>/duplicates/", duplicate_request, name="duplicate_request"),
    path("<int:document_id>/duplicates/<int:duplicate_id>/", duplicate_download, name="duplicate"),
]
