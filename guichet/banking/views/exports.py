"""The pain.001 files sent to the bank: the list and the download.

A file is listed and downloadable for a user with the consultation or the validation right on every
debtor account in it (``banking.export.export_files_visible``); any other file answers 404. Each
download is audited by the service.
"""

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.views.decorators.http import require_GET

from guichet.banking import export

PAGE_SIZE = 25


@login_required
@require_GET
def export_list(request: HttpRequest) -> HttpResponse:
    files = export.export_files_visible(user=request.user)
    page = Paginator(files, PAGE_SIZE).get_page(request.GET.get("page"))
    return render(request, "banking/exports/list.html", {"page": page})


@login_required
@require_GET
def export_download(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        export_file, xml = export.export_file_download(user=request.user, export_file_id=pk, request=request)
    except export.ExportError:
        raise Http404 from None
    response = HttpResponse(xml, content_type="application/xml")
    response["Content-Disposition"] = f'attachment; filename="{export.outbox_name(export_file)}"'
    response["Cache-Control"] = "no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response


urlpatterns = [
    path("exports/", export_list, name="exports"),
    path("exports/<int:pk>/download/", export_download, name="export_download"),
]
