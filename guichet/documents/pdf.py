"""PDFs of documents: the stored one, or one Guichet renders from the document's data (WeasyPrint,
from ``documents/pdf/document.html``) when the issuer sent none; and the stamp of a duplicate.

A rendered PDF is kept in ``Document.rendered_pdf`` and rendered only once: it is written in the
language of the customer number's primary contact (the document is addressed to the customer, so
every reader gets the same file). The stamp of a duplicate is in the language of whoever asks.

WeasyPrint fetches nothing: the templates are self-contained and the URL fetcher refuses every URL
(document data comes from billing systems; it is escaped by the template and may not make the
server fetch anything).
"""

import io
from decimal import Decimal
from typing import Any

import weasyprint
from django.core.files.base import ContentFile
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import formats, translation
from pypdf import PdfReader, PdfWriter

from guichet.documents.models import Document

POINTS_PER_MM = Decimal("72") / Decimal("25.4")


def _no_fetch(url: str, *args: Any, **kwargs: Any) -> dict:
    raise ValueError(f"WeasyPrint may not fetch {url!r}")


def _html_to_pdf(html: str) -> bytes:
    return weasyprint.HTML(string=html, url_fetcher=_no_fetch).write_pdf()


def document_render(document: Document, *, language: str) -> bytes:
    """A PDF made from the document's data, in ``language``."""
    with translation.override(language):
        html = render_to_string("documents/pdf/document.html", {"document": document, "language": language})
    return _html_to_pdf(html)


def document_pdf(document: Document) -> bytes:
    """The document's PDF: the stored one, else the rendered one (rendered and cached on first use)."""
    if document.pdf:
        with document.pdf.open("rb") as handle:
            return handle.read()
    if not document.rendered_pdf:
        _render_and_cache(document)
    with document.rendered_pdf.open("rb") as handle:
        return handle.read()


def _render_and_cache(document: Document) -> None:
    content = document_render(document, language=document.customer_number.contact_language)
    name = document.rendered_pdf.field.generate_filename(document, f"{document.pk}.pdf")
    stored = document.rendered_pdf.storage.save(name, ContentFile(content))
    with transaction.atomic():
        claimed = Document.objects.filter(pk=document.pk, rendered_pdf="").update(rendered_pdf=stored)
    if not claimed:  # rendered meanwhile by another request: keep theirs
        document.rendered_pdf.storage.delete(stored)
        document.refresh_from_db(fields=["rendered_pdf"])
        return
    document.rendered_pdf.name = stored


def stamp_duplicate(pdf: bytes, *, label: str, requested_on: str) -> bytes:
    """``pdf`` with a "DUPLICATE" stamp and the request date on top of every page."""
    writer = PdfWriter(clone_from=io.BytesIO(pdf))
    overlays: dict[tuple[float, float], Any] = {}
    for page in writer.pages:
        size = (float(page.mediabox.width), float(page.mediabox.height))
        if size not in overlays:
            overlays[size] = _stamp_page(size, label=label, requested_on=requested_on)
        page.merge_page(overlays[size])
    out = io.BytesIO()
    writer.write(out)
    return out.getvalue()


def _stamp_page(size: tuple[float, float], *, label: str, requested_on: str) -> Any:
    html = render_to_string(
        "documents/pdf/duplicate_stamp.html",
        {
            "width": f"{size[0]:.2f}pt",
            "height": f"{size[1]:.2f}pt",
            "label": label,
            "requested_on": requested_on,
        },
    )
    return PdfReader(io.BytesIO(_html_to_pdf(html))).pages[0]


def date_text(value: Any) -> str:
    """A date written in the active language (for the stamp)."""
    return formats.date_format(value, "DATE_FORMAT")
