"""The document portal in the back office: issuers, customers and their customer numbers (with the
primary contact), and, read-only, the documents and the invitations.

Advisors register issuers, customers and customer numbers and correct a primary
contact; nobody edits or deletes a document here (they come from the billing
systems and are kept unchanged). The primary contact's account is linked by the
activation, never by hand; changing the contact's e-mail unlinks it, so that the
new contact is invited with the next document. Invitations are shown without
their token (only its hash exists). Every write and every download of a PDF or
an original file is recorded in the audit trail.
"""

import re
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q, QuerySet
from django.forms import ModelForm
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext, ngettext, pgettext
from django.utils.translation import gettext_lazy as _
from stdnum.be import vat as be_vat
from stdnum.exceptions import ValidationError as StdnumError

from guichet.audit.services import record
from guichet.documents.models import (
    Customer,
    CustomerNumber,
    Document,
    Invitation,
    Issuer,
    Share,
)
from guichet.documents.pdf import document_pdf

READS_SHOWN = 20
# A Belgian enterprise number: ``BE`` in front, or 10 digits starting with 0 or 1 (dots and spaces
# allowed). Anything else is a foreign number, kept as typed (compacted).
BELGIAN_LOOKING = re.compile(r"^(BE.*|[01]\d{9})$")
SEPARATORS = re.compile(r"[\s./-]")
# A customer code as printed on an invoice: the issuer's prefix, then the number (``DL2 123456``).
CUSTOMER_CODE = re.compile(r"^\s*([A-Za-z]{1,6}\d{0,2})[\s-]*([A-Za-z0-9]+)\s*$")


def audit_save(request: HttpRequest, obj: Any, form: ModelForm, change: bool, **details: Any) -> None:
    """Records an addition, or a change with the names of the changed fields (never their values)."""
    if change and not form.changed_data:
        return
    name = obj._meta.model_name
    record(
        action=f"documents.{name}_changed" if change else f"documents.{name}_created",
        actor=request.user,
        target=obj,
        request=request,
        details={"fields": sorted(form.changed_data), **details},
    )


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class NoDeleteAdmin(admin.ModelAdmin):
    """Customer numbers, documents and accounts hang on these rows: never deleted here."""

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


# --- Issuers ----------------------------------------------------------------------------------


class IssuerForm(forms.ModelForm):
    class Meta:
        model = Issuer
        fields = ("name", "prefix")
        help_texts = {
            "prefix": _("Starts every customer code of this issuer, e.g. DL2: 2 to 8 letters and digits.")
        }

    def clean_prefix(self) -> str:
        prefix = SEPARATORS.sub("", self.cleaned_data["prefix"]).upper()
        if not re.fullmatch(r"[A-Z][A-Z0-9]{1,7}", prefix):
            raise forms.ValidationError(
                _("Enter 2 to 8 letters and digits, starting with a letter, such as DL2."), code="prefix"
            )
        return prefix


@admin.register(Issuer)
class IssuerAdmin(NoDeleteAdmin):
    form = IssuerForm
    list_display = ("name", "prefix", "customer_number_count")
    search_fields = ("name", "prefix")

    def get_queryset(self, request: HttpRequest) -> QuerySet[Issuer]:
        return super().get_queryset(request).annotate(number_count=Count("customer_numbers"))

    @admin.display(description=_("customer numbers"), ordering="number_count")
    def customer_number_count(self, issuer: Issuer) -> int:
        return issuer.number_count

    def get_readonly_fields(self, request: HttpRequest, obj: Issuer | None = None) -> tuple[str, ...]:
        # The prefix is part of every customer code already given out.
        if obj is not None and obj.customer_numbers.exists():
            return ("prefix",)
        return ()

    def save_model(self, request: HttpRequest, obj: Issuer, form: ModelForm, change: bool) -> None:
        super().save_model(request, obj, form, change)
        audit_save(request, obj, form, change)


# --- Customers --------------------------------------------------------------------------------


def company_number_clean(value: str) -> str:
    """A Belgian-looking number checked and compacted (``BE 0403.170.701`` → ``0403170701``); a
    foreign one compacted and kept; ``forms.ValidationError`` for a wrong Belgian number."""
    compact = SEPARATORS.sub("", value or "").upper()
    if not compact or not BELGIAN_LOOKING.match(compact):
        return compact
    try:
        return be_vat.validate(compact)
    except StdnumError:
        raise forms.ValidationError(
            _("Enter a valid Belgian enterprise number of 10 digits, such as 0403.170.701."),
            code="company_number",
        ) from None


def company_number_display(number: str) -> str:
    if len(number) == 10 and number.isdigit():
        return f"BE {number[:4]}.{number[4:7]}.{number[7:]}"
    return number


class CustomerForm(forms.ModelForm):
    class Meta:
        model = Customer
        fields = ("name", "company_number")
        help_texts = {
            "company_number": _(
                "Optional. A Belgian enterprise number (10 digits, dots and spaces allowed) is checked; "
                "a foreign number is kept as typed."
            )
        }

    def clean_company_number(self) -> str:
        return company_number_clean(self.cleaned_data["company_number"])


@admin.register(Customer)
class CustomerAdmin(NoDeleteAdmin):
    form = CustomerForm
    list_display = ("name", "company_number_shown")
    search_fields = ("name", "company_number")

    def get_fields(self, request: HttpRequest, obj: Customer | None = None) -> tuple[str, ...]:
        return ("name", "company_number") if obj is None else ("name", "company_number", "numbers")

    def get_readonly_fields(self, request: HttpRequest, obj: Customer | None = None) -> tuple[str, ...]:
        return () if obj is None else ("numbers",)

    @admin.display(description=_("customer numbers"))
    def numbers(self, customer: Customer) -> SafeString | str:
        numbers = customer.customer_numbers.select_related("issuer")
        if not numbers:
            return "—"
        return format_html_join(
            ", ",
            '<a href="{}">{}</a> ({})',
            (
                (reverse("admin:documents_customernumber_change", args=[n.pk]), n.code, n.contact_name)
                for n in numbers
            ),
        )

    @admin.display(description=_("company number"), ordering="company_number")
    def company_number_shown(self, customer: Customer) -> str:
        return company_number_display(customer.company_number)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Customer], search_term: str
    ) -> tuple[QuerySet[Customer], bool]:
        """A company number typed as printed (``BE 0403.170.701``) finds the compact one."""
        found, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        compact = SEPARATORS.sub("", search_term).upper().removeprefix("BE")
        if len(compact) >= 4 and compact != search_term.strip():
            found = found | queryset.filter(company_number__contains=compact)
        return found, may_have_duplicates

    def save_model(self, request: HttpRequest, obj: Customer, form: ModelForm, change: bool) -> None:
        super().save_model(request, obj, form, change)
        audit_save(request, obj, form, change)


# --- Customer numbers -------------------------------------------------------------------------


class CustomerNumberForm(forms.ModelForm):
    class Meta:
        model = CustomerNumber
        fields = ("issuer", "number", "customer", "contact_name", "contact_email", "contact_language")
        help_texts = {
            "number": _("As printed on the invoices after the issuer's prefix: letters and digits."),
            "contact_email": _(
                "The primary contact receives the documents' notifications and the invitation to activate "
                "an account. Changing the address detaches the current account: the new contact is "
                "invited with the next document."
            ),
        }

    def clean_number(self) -> str:
        number = SEPARATORS.sub("", self.cleaned_data["number"]).upper()
        if not re.fullmatch(r"[A-Z0-9]{1,20}", number):
            raise forms.ValidationError(_("Enter letters and digits only, such as 123456."), code="number")
        return number

    def clean_contact_email(self) -> str:
        return self.cleaned_data["contact_email"].strip().lower()


class ActivatedFilter(admin.SimpleListFilter):
    title = _("account activated")
    parameter_name = "activated"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [("yes", gettext("Yes")), ("no", gettext("No: invited, or not yet"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        if self.value() == "yes":
            return queryset.filter(account__isnull=False)
        if self.value() == "no":
            return queryset.filter(account__isnull=True)
        return queryset


def customer_code_q(term: str, prefix_field: str, number_field: str) -> Q | None:
    """``DL2 123456`` / ``DL2123456`` / ``dl2-123456`` as a lookup on a known issuer prefix."""
    match = CUSTOMER_CODE.match(term)
    if match is None:
        return None
    text = SEPARATORS.sub("", term).upper()
    prefixes = [p for p in Issuer.objects.values_list("prefix", flat=True) if text.startswith(p.upper())]
    if not prefixes:
        return None
    prefix = max(prefixes, key=len)
    number = text[len(prefix) :]
    if not number:
        return None
    return Q(**{prefix_field: prefix, number_field: number})


@admin.register(CustomerNumber)
class CustomerNumberAdmin(NoDeleteAdmin):
    form = CustomerNumberForm
    list_display = ("code", "customer", "contact_name", "contact_email", "contact_language", "activated")
    list_filter = ("issuer", ActivatedFilter, "contact_language")
    list_select_related = ("issuer", "customer")
    search_fields = ("number", "customer__name", "contact_name", "contact_email")
    autocomplete_fields = ("customer",)
    show_full_result_count = False

    @admin.display(description=_("customer number"), ordering="number")
    def code(self, number: CustomerNumber) -> str:
        return number.code

    @admin.display(description=_("account activated"), boolean=True)
    def activated(self, number: CustomerNumber) -> bool:
        return number.account_id is not None

    def get_fieldsets(self, request: HttpRequest, obj: CustomerNumber | None = None) -> Any:
        main = (None, {"fields": ("issuer", "number", "customer")})
        contact = (_("Primary contact"), {"fields": ("contact_name", "contact_email", "contact_language")})
        if obj is None:
            return (main, contact)
        portal = (
            _("In the customer space"),
            {"fields": ("account_shown", "shared_with", "latest_invitation", "document_count")},
        )
        return (main, contact, portal)

    def get_readonly_fields(self, request: HttpRequest, obj: CustomerNumber | None = None) -> tuple[str, ...]:
        shown = ("account_shown", "shared_with", "latest_invitation", "document_count")
        if obj is None:
            return ()
        # The code is printed on every document already issued: it is never changed.
        return ("issuer", "number", *shown)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[CustomerNumber], search_term: str
    ) -> tuple[QuerySet[CustomerNumber], bool]:
        found, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        code = customer_code_q(search_term, "issuer__prefix", "number")
        if code is not None:
            found = found | queryset.filter(code)
        return found, may_have_duplicates

    @admin.display(description=_("primary contact's account"))
    def account_shown(self, number: CustomerNumber) -> SafeString | str:
        if number.account is None:
            return gettext("Not activated yet: the primary contact is invited with the next document.")
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:identity_user_change", args=[number.account_id]),
            number.account.user_id,
        )

    @admin.display(description=_("shared with"))
    def shared_with(self, number: CustomerNumber) -> SafeString | str:
        shares = Share.objects.filter(
            customer_number=number, shared_user__owner_id=number.account_id
        ).select_related("shared_user")
        if number.account_id is None or not shares:
            return gettext("Nobody.")
        return format_html_join(
            ", ", "{} &lt;{}&gt;", ((s.shared_user.name, s.shared_user.email) for s in shares)
        )

    @admin.display(description=_("latest invitation"))
    def latest_invitation(self, number: CustomerNumber) -> str:
        invitation = number.invitations.order_by("-created_at").first()
        if invitation is None:
            return "—"
        return gettext("%(email)s, sent %(sent)s: %(state)s") % {
            "email": invitation.email,
            "sent": date_format(timezone.localtime(invitation.created_at), "DATETIME_FORMAT"),
            "state": invitation_state(invitation),
        }

    @admin.display(description=_("documents"))
    def document_count(self, number: CustomerNumber) -> SafeString:
        count = number.documents.count()
        return format_html(
            '<a href="{}?customer_number__id__exact={}">{}</a>',
            reverse("admin:documents_document_changelist"),
            number.pk,
            ngettext("%(count)d document", "%(count)d documents", count) % {"count": count},
        )

    def save_model(self, request: HttpRequest, obj: CustomerNumber, form: ModelForm, change: bool) -> None:
        details: dict[str, Any] = {}
        if change and "contact_email" in form.changed_data and self._another_person(obj):
            # Another person is now the primary contact: the previous one's account (and the users it
            # shared with) stop seeing this number; the new contact is invited with the next document.
            details["account_detached"] = obj.account_id
            obj.account = None
            self.message_user(
                request,
                gettext(
                    "The e-mail address changed: the account that held %(code)s no longer sees it. "
                    "The new primary contact will be invited with the next document."
                )
                % {"code": obj.code},
                messages.WARNING,
            )
        super().save_model(request, obj, form, change)
        audit_save(request, obj, form, change, **details)

    def _another_person(self, number: CustomerNumber) -> bool:
        return number.account is not None and (number.account.email or "").lower() != number.contact_email


# --- Documents (read-only) --------------------------------------------------------------------


def _extension(name: str) -> str:
    match = re.search(r"\.[A-Za-z0-9]{1,8}$", name)
    return match[0] if match else ""


def _safe_name(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.\- ]", "_", name)[:120] or "document"


@admin.register(Document)
class DocumentAdmin(ReadOnlyAdmin):
    list_display = (
        "issue_date",
        "number",
        "kind",
        "customer_code",
        "customer_name",
        "amount_incl_vat",
        "currency",
        "due_date",
        "pdf_link",
    )
    list_filter = ("issuer", "kind", "issue_date")
    list_select_related = ("customer_number__issuer", "customer_number__customer")
    search_fields = ("number",)
    search_help_text = _("A document number, or a customer code such as DL2 123456.")
    # The newest received first: the primary key's index, fast on millions of rows.
    ordering = ("-pk",)
    show_full_result_count = False
    list_per_page = 50
    fieldsets = (
        (None, {"fields": ("kind", "number", "issuer", "customer_number", "customer_name")}),
        (
            _("Dates and amounts"),
            {
                "fields": (
                    "issue_date",
                    "due_date",
                    "currency",
                    "amount_excl_vat",
                    "vat",
                    "amount_incl_vat",
                    "amount_payable",
                )
            },
        ),
        (_("Files"), {"fields": ("pdf_link", "original_link", "original_sha256", "created_at")}),
        (_("History"), {"fields": ("reads", "duplicates")}),
    )
    readonly_fields = (
        "kind",
        "number",
        "issuer",
        "customer_number",
        "customer_name",
        "issue_date",
        "due_date",
        "currency",
        "amount_excl_vat",
        "vat",
        "amount_incl_vat",
        "amount_payable",
        "pdf_link",
        "original_link",
        "original_sha256",
        "created_at",
        "reads",
        "duplicates",
    )

    @admin.display(description=_("customer number"), ordering="customer_number__number")
    def customer_code(self, document: Document) -> str:
        return document.customer_number.code

    @admin.display(description=_("customer"))
    def customer_name(self, document: Document) -> str:
        return document.customer_number.customer.name

    @admin.display(description=_("PDF"))
    def pdf_link(self, document: Document) -> SafeString:
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:documents_document_pdf", args=[document.pk]),
            gettext("Download the PDF of %(number)s") % {"number": document.number},
        )

    @admin.display(description=_("original file"))
    def original_link(self, document: Document) -> SafeString | str:
        if not document.original:
            return "—"
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:documents_document_original", args=[document.pk]),
            gettext("Download %(name)s") % {"name": document.original_name or gettext("the original file")},
        )

    @admin.display(description=_("opened by"))
    def reads(self, document: Document) -> SafeString | str:
        reads = document.reads.select_related("user").order_by("read_at")[:READS_SHOWN]
        if not reads:
            return gettext("Nobody yet.")
        return format_html_join(
            ", ",
            "{} ({})",
            (
                (r.user.get_username(), date_format(timezone.localtime(r.read_at), "DATETIME_FORMAT"))
                for r in reads
            ),
        )

    @admin.display(description=_("duplicates requested"))
    def duplicates(self, document: Document) -> SafeString | str:
        duplicates = document.duplicates.select_related("user")
        if not duplicates:
            return "—"
        return format_html_join(
            ", ",
            "{} ({})",
            (
                (d.user.get_username(), date_format(timezone.localtime(d.requested_at), "DATETIME_FORMAT"))
                for d in duplicates
            ),
        )

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Document], search_term: str
    ) -> tuple[QuerySet[Document], bool]:
        """An exact document number, or a customer code (``DL2 123456``), or a customer number alone."""
        term = search_term.strip()
        if not term:
            return queryset, False
        wanted = Q(number=term) | Q(number=term.upper()) | Q(customer_number__number=term.upper())
        code = customer_code_q(term, "customer_number__issuer__prefix", "customer_number__number")
        if code is not None:
            wanted |= code
        return queryset.filter(wanted), False

    # --- Downloads, each recorded in the audit trail ----------------------------------------

    def get_urls(self) -> list[URLPattern]:
        pdf = self.admin_site.admin_view(self.pdf_view)
        original = self.admin_site.admin_view(self.original_view)
        return [
            path("<int:object_id>/pdf/", pdf, name="documents_document_pdf"),
            path("<int:object_id>/original/", original, name="documents_document_original"),
            *super().get_urls(),
        ]

    def pdf_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        """The stored PDF, or the one Guichet renders from the data (rendered once, then kept)."""
        document = self._document(request, object_id)
        content = document_pdf(document)
        return self._download(request, document, content, f"{document.number}.pdf", "pdf")

    def original_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        document = self._document(request, object_id)
        if not document.original:
            raise Http404
        with document.original.open("rb") as stored:
            content = stored.read()
        name = document.original_name or f"{document.number}{_extension(document.original.name)}"
        return self._download(request, document, content, name, "original")

    def _document(self, request: HttpRequest, object_id: int) -> Document:
        document = get_object_or_404(self.get_queryset(request), pk=object_id)
        if not self.has_view_permission(request, document):
            raise PermissionDenied
        return document

    def _download(
        self, request: HttpRequest, document: Document, content: bytes, name: str, file: str
    ) -> HttpResponse:
        record(
            action="documents.document_downloaded",
            actor=request.user,
            target=document,
            request=request,
            details={"file": file, "backoffice": True, "customer_number": document.customer_number_id},
        )
        content_type = "application/pdf" if file == "pdf" else "application/octet-stream"
        response = HttpResponse(content, content_type=content_type)
        response["Content-Disposition"] = f'attachment; filename="{_safe_name(name)}"'
        return response


# --- Invitations (read-only, without tokens) ---------------------------------------------------


def invitation_state(invitation: Invitation) -> str:
    if invitation.used_at is not None:
        return pgettext("invitation state", "used")
    if invitation.expires_at <= timezone.now():
        return gettext("expired")
    return gettext("waiting")


class InvitationStateFilter(admin.SimpleListFilter):
    title = _("state")
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [
            ("waiting", gettext("waiting")),
            ("used", pgettext("invitation state", "used")),
            ("expired", gettext("expired")),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        now = timezone.now()
        if self.value() == "waiting":
            return queryset.filter(used_at__isnull=True, expires_at__gt=now)
        if self.value() == "used":
            return queryset.filter(used_at__isnull=False)
        if self.value() == "expired":
            return queryset.filter(used_at__isnull=True, expires_at__lte=now)
        return queryset


@admin.register(Invitation)
class InvitationAdmin(ReadOnlyAdmin):
    """Who was invited, for what, and whether they used it. The token is never stored (only its
    hash, which is not shown either): a lost invitation is replaced with the next document."""

    list_display = ("email", "language", "subject", "created_at", "expires_at", "used_at", "state")
    list_filter = (InvitationStateFilter, "language")
    list_select_related = ("customer_number__issuer", "shared_user")
    search_fields = ("email",)
    ordering = ("-created_at",)
    fields = ("email", "language", "subject", "created_at", "expires_at", "used_at", "state")
    readonly_fields = fields

    @admin.display(description=_("for"))
    def subject(self, invitation: Invitation) -> str:
        if invitation.customer_number_id is not None:
            return gettext("primary contact of %(code)s") % {"code": invitation.customer_number.code}
        return gettext("shared user %(name)s") % {"name": invitation.shared_user.name}

    @admin.display(description=_("state"))
    def state(self, invitation: Invitation) -> str:
        return invitation_state(invitation)
