"""The intake endpoint for the institution's billing systems (``/api/v1/intake/documents/``).

Machines only: ``Authorization: Bearer gik_…`` (``intake_auth``); a browser
session, even a staff one, is refused. ``POST`` one UBL document
(``Content-Type: application/xml``; its name from ``Content-Disposition:
attachment; filename=…``) or a multipart batch of files: UBL (``.xml``), PDFs
(``.pdf``: beside the UBL of the same stem, or named by a manifest line) and
CSV manifests (``.csv``). The same service as ``manage.py import_documents``
(``intake.documents_import``), inline; only the client's issuers are accepted.
Answers 200 when nothing was refused, 422 otherwise, with one item per file or
manifest line. Each call is audited with the client (never the key).
"""

import re
from pathlib import PurePosixPath
from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import path
from django.utils.translation import gettext_lazy as _
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.parsers import BaseParser, MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from guichet.audit.services import record
from guichet.documents import intake, intake_auth, ubl

_FILENAME = re.compile(r'filename\*?=(?:UTF-8\'\')?"?([^";]+)"?', re.IGNORECASE)


class RequestTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = _("The request is too large.")
    default_code = "too_large"


def max_request_bytes() -> int:
    return getattr(settings, "GUICHET_INTAKE_MAX_REQUEST_BYTES", 100 * 1024 * 1024)


class UblParser(BaseParser):
    """A UBL document as the request body: answered as bytes, read up to the size limit."""

    media_type = "application/xml"

    def parse(self, stream: Any, media_type: str | None = None, parser_context: Any = None) -> bytes:
        limit = max_request_bytes()
        content = stream.read(limit + 1) if stream is not None else b""
        if len(content) > limit:
            raise RequestTooLarge()
        return content


class TextXmlParser(UblParser):
    media_type = "text/xml"


class IntakeKeyScheme(OpenApiAuthenticationExtension):
    target_class = "guichet.documents.intake_auth.IntakeKeyAuthentication"
    name = "intakeKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        scheme = build_bearer_security_scheme_object(header_name="Authorization", token_prefix="Bearer")  # noqa: S106
        scheme["description"] = "An intake client's key, gik_…, created by an operator."
        return scheme


class ItemSerializer(serializers.Serializer):
    file = serializers.CharField(help_text="The file name, or manifest:line.")
    outcome = serializers.ChoiceField(choices=[outcome.value for outcome in intake.Outcome])
    reason = serializers.CharField(allow_blank=True)
    document = serializers.IntegerField(allow_null=True, help_text="The stored document's ID.")


class ImportResultSerializer(serializers.Serializer):
    imported = serializers.IntegerField()
    already = serializers.IntegerField()
    refused = serializers.IntegerField()
    items = ItemSerializer(many=True)


_MULTIPART_SCHEMA = {
    "type": "object",
    "properties": {
        "files": {
            "type": "array",
            "items": {"type": "string", "format": "binary"},
            "description": "UBL (.xml), PDF (.pdf) and CSV manifest (.csv) files, under any field name.",
        }
    },
}


def _base_name(name: str) -> str:
    return PurePosixPath((name or "").replace("\\", "/")).name


def _uploaded_units(files: list[Any]) -> list[intake.Unit]:
    """The units of a multipart batch: UBL files with the PDF of the same stem, manifest lines with
    the PDF they name, a refusal for anything else (and for files above the size limit)."""
    limit = ubl.max_file_bytes()
    units: list[intake.Unit] = []
    pdfs: dict[str, bytes] = {}
    others = []
    for upload in files:
        name = _base_name(upload.name) or "file"
        suffix = PurePosixPath(name).suffix.lower()
        if upload.size > limit:
            units.append(
                intake.Item(
                    name,
                    intake.Outcome.REFUSED,
                    ubl.UblError(ubl.UblErrorCode.TOO_LARGE, f"{upload.size} bytes, at most {limit}").message,
                )
            )
        elif suffix in intake.PDF_SUFFIXES:
            pdfs[name] = upload.read()
        else:
            others.append((name, suffix, upload))
    for name, suffix, upload in others:
        if suffix in intake.UBL_SUFFIXES:
            stem = PurePosixPath(name).stem
            pdf = pdfs.get(f"{stem}.pdf", pdfs.get(f"{stem}.PDF"))
            units.append(intake.UblContent(name, upload.read(), pdf))
        elif suffix in intake.MANIFEST_SUFFIXES:
            try:
                text = upload.read().decode("utf-8-sig")
            except UnicodeDecodeError:
                units.append(intake.Item(name, intake.Outcome.REFUSED, str(_("The manifest is not UTF-8."))))
            else:
                units.extend(_manifest(name, text, pdfs))
        else:
            units.append(
                intake.Item(
                    name,
                    intake.Outcome.REFUSED,
                    str(_("Not a UBL file (.xml), a PDF or a CSV manifest (.csv).")),
                )
            )
    return units


def _manifest(name: str, text: str, pdfs: dict[str, bytes]) -> list[intake.Unit]:
    def line(where: str, row: dict[str, str]) -> intake.Unit:
        wanted = _base_name(row.get("pdf", "").strip())
        return intake.ManifestLine(where, row, pdf=pdfs.get(wanted), pdf_found=wanted in pdfs)

    return list(intake.manifest_units(name, text.splitlines(keepends=True), line))


class IntakeDocuments(APIView):
    """Import invoices and credit notes from a billing system (machine clients only)."""

    authentication_classes = [intake_auth.IntakeKeyAuthentication]
    permission_classes = [intake_auth.IsIntakeClient]
    parser_classes = [UblParser, TextXmlParser, MultiPartParser]

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        try:
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > max_request_bytes():
            raise RequestTooLarge()

    @extend_schema(
        request={"application/xml": OpenApiTypes.BINARY, "multipart/form-data": _MULTIPART_SCHEMA},
        responses={
            200: ImportResultSerializer,
            422: OpenApiResponse(ImportResultSerializer, description="Some files were refused (see items)."),
            400: OpenApiResponse(description="Nothing to import, or a malformed request."),
            401: OpenApiResponse(description="No key, or an unknown or deactivated key."),
            403: OpenApiResponse(description="A browser session instead of an intake key."),
            413: OpenApiResponse(description="The request is too large."),
        },
    )
    def post(self, request: Request) -> Response:
        client = request.auth
        units = self._units(request)
        if not units:
            raise exceptions.ParseError(_("Send a UBL document, or files in a multipart request."))
        items: list[intake.Item] = []
        totals = intake.documents_import(
            units=units, on_item=items.append, client=client, request=request._request
        )
        with transaction.atomic():
            intake_auth.intake_client_touch(client=client)
            record(
                action="documents.intake_call",
                target=client,
                request=request._request,
                details={
                    "files": totals.total,
                    "imported": totals.imported,
                    "already": totals.already,
                    "refused": totals.refused,
                },
            )
        body = {
            "imported": totals.imported,
            "already": totals.already,
            "refused": totals.refused,
            "items": [
                {
                    "file": item.file,
                    "outcome": str(item.outcome),
                    "reason": item.reason,
                    "document": item.document,
                }
                for item in items
            ],
        }
        return Response(
            body, status=status.HTTP_422_UNPROCESSABLE_ENTITY if totals.refused else status.HTTP_200_OK
        )

    def _units(self, request: Request) -> list[intake.Unit]:
        data = request.data
        if isinstance(data, bytes):
            if not data:
                return []
            match = _FILENAME.search(request.headers.get("Content-Disposition", ""))
            name = _base_name(match[1]) if match else "document.xml"
            return [intake.UblContent(name or "document.xml", data)]
        return _uploaded_units([upload for key in request.FILES for upload in request.FILES.getlist(key)])


urlpatterns = [path("documents/", IntakeDocuments.as_view(), name="documents")]
