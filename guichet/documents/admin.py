"""The document portal in the back office: issuers, customers and their customer numbers (with the
primary contact), and, read-only, the documents and the invitations.

Advisors register issuers, customers and customer numbers and correct a primary
contact; nobody edits or deletes a document here (they come from the billing
systems and are kept unchanged). The primary contact's account is linked by the
activation, never by hand; changing the contact's e-mail unlinks it, so that the
new contact is invited with the next document. Invitations are shown without
their token (only its hash exists). Every write and every download of a PDF or
an original file is recorded in the audit trail.

Issue 7 adds the issuers' e-invoice settings (customer-number rule, seller
identifiers), the activation codes (listed without the code; re-issued from a
customer number's page and shown once), the delivery history, the print
batches (audited download, "create today's batch now"), the merge of two
document accounts (pick, review, confirm) and the intake clients (key shown
once, deactivation; operator administrators only). See docs/printing.md.
"""

import re
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.forms import ModelForm
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
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
from guichet.documents import codes, merge, printing
from guichet.documents.models import (
    ActivationCode,
    Customer,
    CustomerNumber,
    Document,
    IntakeClient,
    Invitation,
    Issuer,
    IssuerIdentifier,
    PrintBatch,
    Share,
)
from guichet.documents.pdf import document_pdf
from guichet.identity.models import User

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
        fields = ("name", "prefix", "customer_number_source", "customer_number_pattern")
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

    def clean_customer_number_pattern(self) -> str:
        pattern = self.cleaned_data["customer_number_pattern"].strip()
        try:
            re.compile(pattern)
        except re.error:
            raise forms.ValidationError(
                _("Enter a valid regular expression, such as ^DL2-(\\d+)$, or leave it empty."),
                code="pattern",
            ) from None
        return pattern


class IssuerIdentifierForm(forms.ModelForm):
    class Meta:
        model = IssuerIdentifier
        fields = ("scheme", "value")
        help_texts = {
            "scheme": _("A Peppol scheme such as 0208 or 9925, or VAT, or LEGAL."),
            "value": _("As it appears in the e-invoices, e.g. 0403170701 or BE0403170701."),
        }

    def clean_scheme(self) -> str:
        scheme = self.cleaned_data["scheme"].strip().upper()
        if not re.fullmatch(r"[0-9]{4}|VAT|LEGAL", scheme):
            raise forms.ValidationError(
                _("Enter a Peppol scheme of 4 digits, or VAT, or LEGAL."), code="scheme"
            )
        return scheme

    def clean_value(self) -> str:
        return self.cleaned_data["value"].strip()


class IssuerIdentifierInline(admin.TabularInline):
    model = IssuerIdentifier
    form = IssuerIdentifierForm
    extra = 1
    verbose_name = _("identifier as seller in e-invoices")
    verbose_name_plural = _("identifiers as seller in e-invoices")


@admin.register(Issuer)
class IssuerAdmin(NoDeleteAdmin):
    form = IssuerForm
    inlines = (IssuerIdentifierInline,)
    list_display = ("name", "prefix", "customer_number_source", "customer_number_count")
    search_fields = ("name", "prefix")

    def save_related(self, request: HttpRequest, form: ModelForm, formsets: Any, change: bool) -> None:
        super().save_related(request, form, formsets, change)
        for formset in formsets:
            added, changed, deleted = formset.new_objects, formset.changed_objects, formset.deleted_objects
            if added or changed or deleted:
                record(
                    action="documents.issuer_identifiers_changed",
                    actor=request.user,
                    target=form.instance,
                    request=request,
                    details={
                        "added": sorted(str(i) for i in added),
                        "changed": sorted(str(i) for i, _fields in changed),
                        "deleted": sorted(str(i) for i in deleted),
                    },
                )

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


ACTIVATION_CODES_SHOWN = 10
REISSUE_PERMISSION = "documents.add_activationcode"


def may_reissue(request: HttpRequest) -> bool:
    return request.user.has_perm(REISSUE_PERMISSION)


def activation_code_state(code: ActivationCode) -> str:
    if code.revoked_at is not None:
        return pgettext("activation code state", "revoked")
    if code.used_at is not None:
        return pgettext("activation code state", "used")
    if code.expires_at <= timezone.now():
        return pgettext("activation code state", "expired")
    return pgettext("activation code state", "valid")


def _when(value: Any) -> str:
    return date_format(timezone.localtime(value), "DATETIME_FORMAT") if value else "—"


def activation_code_summary(code: ActivationCode) -> str:
    """One line about a code, never the code itself."""
    return gettext(
        "issued %(issued)s, expires %(expires)s, exported %(exported)s, used %(used)s by %(account)s, "
        "revoked %(revoked)s: %(state)s"
    ) % {
        "issued": _when(code.created_at),
        "expires": _when(code.expires_at),
        "exported": _when(code.exported_at),
        "used": _when(code.used_at),
        "account": code.used_by.get_username() if code.used_by else "—",
        "revoked": _when(code.revoked_at),
        "state": activation_code_state(code),
    }


class AccountField(forms.CharField):
    """A document account typed as its user ID or its e-mail address."""

    def clean(self, value: Any) -> User:
        typed = super().clean(value).strip()
        by_id = User.objects.filter(user_id__iexact=typed).first()
        if by_id is not None:
            return by_id
        by_email = list(User.objects.filter(email__iexact=typed)[:2])
        if len(by_email) > 1:
            raise forms.ValidationError(
                _("Several accounts use this e-mail address: enter the user ID."), code="ambiguous"
            )
        if not by_email:
            raise forms.ValidationError(_("No account has this user ID or e-mail address."), code="unknown")
        return by_email[0]


class MergeForm(forms.Form):
    source = AccountField(
        label=_("Account to merge (it is deactivated)"),
        max_length=254,
        help_text=_("Its user ID or its e-mail address."),
    )
    target = AccountField(
        label=_("Account that receives everything"),
        max_length=254,
        help_text=_("Its user ID or its e-mail address."),
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            field.widget.attrs.update(autocomplete="off", spellcheck="false")


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
        delivery = (
            _("Electronic delivery"),
            {"fields": ("electronic_delivery", "delivery_history", "activation_codes")},
        )
        return (main, contact, portal, delivery)

    def get_readonly_fields(self, request: HttpRequest, obj: CustomerNumber | None = None) -> tuple[str, ...]:
        shown = ("account_shown", "shared_with", "latest_invitation", "document_count")
        delivery = ("electronic_delivery", "delivery_history", "activation_codes")
        if obj is None:
            return ()
        # The code is printed on every document already issued: it is never changed. The delivery
        # channel changes only through the customer's activation code or opt-out.
        return ("issuer", "number", *shown, *delivery)

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

    @admin.display(description=_("delivery history"))
    def delivery_history(self, number: CustomerNumber) -> SafeString | str:
        changes = codes.delivery_history(number)
        if not changes:
            return gettext("No change yet: paper since the customer number was created.")
        return format_html(
            "<ul>{}</ul>",
            format_html_join(
                "",
                "<li>{}: {} ({}, {})</li>",
                (
                    (
                        date_format(timezone.localtime(change.at), "DATETIME_FORMAT"),
                        gettext("electronic") if change.electronic else gettext("paper"),
                        change.get_reason_display(),
                        change.author.get_username() if change.author else gettext("the system"),
                    )
                    for change in changes
                ),
            ),
        )

    @admin.display(description=_("activation codes"))
    def activation_codes(self, number: CustomerNumber) -> SafeString:
        codes = list(number.activation_codes.select_related("used_by")[:ACTIVATION_CODES_SHOWN])
        listing = (
            format_html(
                "<ul>{}</ul>",
                format_html_join("", "<li>{}</li>", ((activation_code_summary(code),) for code in codes)),
            )
            if codes
            else gettext("None yet.")
        )
        return format_html(
            '{} <p><a href="{}?customer_number__id__exact={}">{}</a></p>',
            listing,
            reverse("admin:documents_activationcode_changelist"),
            number.pk,
            gettext("All activation codes of %(code)s") % {"code": number.code},
        )

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict | None = None
    ) -> HttpResponse:
        extra_context = {**(extra_context or {}), "may_reissue": may_reissue(request)}
        return super().change_view(request, object_id, form_url, extra_context)

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        extra_context = {**(extra_context or {}), "may_merge": merge.may_merge(request.user)}
        return super().changelist_view(request, extra_context)

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view
        return [
            path(
                "<int:object_id>/activation-code/",
                view(self.reissue_view),
                name="documents_customernumber_reissue",
            ),
            path("merge-accounts/", view(self.merge_view), name="documents_merge_accounts"),
            *super().get_urls(),
        ]

    def reissue_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        """Confirm, then issue a new activation code and show it once (read on the phone or sent by
        letter); it is never shown again."""
        if not (self.has_view_permission(request) and may_reissue(request)):
            raise PermissionDenied
        number = get_object_or_404(self.get_queryset(request).select_related("issuer"), pk=object_id)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": number,
            "title": gettext("Re-issue an activation code"),
        }
        if request.method != "POST":
            return TemplateResponse(request, "admin/documents/customernumber/reissue_confirm.html", context)
        code, plain = codes.activation_code_issue(customer_number=number, by=request.user, request=request)
        context.update(code=code, plain=plain, title=gettext("New activation code"))
        response = TemplateResponse(request, "admin/documents/customernumber/reissue_done.html", context)
        response["Cache-Control"] = "no-store"
        return response

    def merge_view(self, request: HttpRequest) -> HttpResponse:
        """Two steps: pick the accounts (user ID or e-mail), review what moves, confirm."""
        if not merge.may_merge(request.user):
            raise PermissionDenied
        context = {**self.admin_site.each_context(request), "opts": self.opts}
        form = MergeForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            source, target = form.cleaned_data["source"], form.cleaned_data["target"]
            try:
                merge.merge_check(source=source, target=target, by=request.user)
                if "confirm" in request.POST:
                    return self._merge(request, source, target)
            except merge.MergeError as error:
                form.add_error(error.field or None, error.message)
            else:
                plan = merge.document_accounts_merge_plan(source=source, target=target)
                context.update(title=gettext("Review the merge"), form=form, plan=plan)
                context.update(source=source, target=target)
                return TemplateResponse(request, "admin/documents/merge_review.html", context)
        context.update(title=gettext("Merge two document accounts"), form=form)
        return TemplateResponse(request, "admin/documents/merge_form.html", context)

    def _merge(self, request: HttpRequest, source: User, target: User) -> HttpResponse:
        result = merge.document_accounts_merge(source=source, target=target, by=request.user, request=request)
        self.message_user(
            request,
            gettext(
                "%(source)s is merged into %(target)s and deactivated: %(numbers)s customer number(s), "
                "%(shared)s shared user(s) and %(reads)s reading(s) moved."
            )
            % {
                "source": source.user_id,
                "target": target.user_id,
                "numbers": result.customer_numbers,
                "shared": result.shared_users_moved + result.shared_users_merged,
                "reads": result.reads,
            },
            messages.SUCCESS,
        )
        return HttpResponseRedirect(reverse("admin:identity_user_change", args=[target.pk]))

    def save_model(self, request: HttpRequest, obj: CustomerNumber, form: ModelForm, change: bool) -> None:
        if not change:
            # The admin runs this in the form's transaction: the number and its first code, or neither.
            super().save_model(request, obj, form, change)
            audit_save(request, obj, form, change)
            codes.activation_code_issue(customer_number=obj, by=request.user, request=request)
            self.message_user(
                request,
                gettext(
                    "An activation code was issued for %(code)s; it goes into the next export for the "
                    "letters."
                )
                % {"code": obj.code},
                messages.INFO,
            )
            return
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


# --- Activation codes (read-only, never the code) -----------------------------------------------


class ActivationCodeStateFilter(admin.SimpleListFilter):
    title = _("state")
    parameter_name = "state"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, str]]:
        return [
            ("valid", pgettext("activation code state", "valid")),
            ("used", pgettext("activation code state", "used")),
            ("expired", pgettext("activation code state", "expired")),
            ("revoked", pgettext("activation code state", "revoked")),
        ]

    def queryset(self, request: HttpRequest, queryset: QuerySet) -> QuerySet:
        now = timezone.now()
        open_codes = queryset.filter(used_at__isnull=True, revoked_at__isnull=True)
        return {
            "valid": lambda: open_codes.filter(expires_at__gt=now),
            "used": lambda: queryset.filter(used_at__isnull=False, revoked_at__isnull=True),
            "expired": lambda: open_codes.filter(expires_at__lte=now),
            "revoked": lambda: queryset.filter(revoked_at__isnull=False),
        }.get(self.value() or "", lambda: queryset)()


@admin.register(ActivationCode)
class ActivationCodeAdmin(ReadOnlyAdmin):
    """Which codes a customer number was given and what became of them. Only an HMAC and an
    encrypted copy of a code exist; neither is shown. A new code comes from the customer number's
    page ("Re-issue an activation code")."""

    list_display = (
        "customer_code",
        "created_at",
        "expires_at",
        "exported_at",
        "used_at",
        "used_by",
        "revoked_at",
        "state",
    )
    list_filter = (ActivationCodeStateFilter, "customer_number__issuer")
    list_select_related = ("customer_number__issuer", "used_by")
    search_fields = ("customer_number__number",)
    search_help_text = _("A customer number, or a customer code such as DL2 123456.")
    ordering = ("-created_at", "-pk")
    fields = (
        "customer_number",
        "created_at",
        "created_by",
        "expires_at",
        "exported_at",
        "used_at",
        "used_by",
        "revoked_at",
        "state",
    )
    readonly_fields = fields

    @admin.display(description=_("customer number"), ordering="customer_number__number")
    def customer_code(self, code: ActivationCode) -> str:
        return code.customer_number.code

    @admin.display(description=_("state"))
    def state(self, code: ActivationCode) -> str:
        return activation_code_state(code)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[ActivationCode], search_term: str
    ) -> tuple[QuerySet[ActivationCode], bool]:
        found, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        code = customer_code_q(search_term, "customer_number__issuer__prefix", "customer_number__number")
        if code is not None:
            found = found | queryset.filter(code)
        return found, may_have_duplicates


# --- Print batches ---------------------------------------------------------------------------


@admin.register(PrintBatch)
class PrintBatchAdmin(ReadOnlyAdmin):
    """The daily batches for the print shop. Downloading one is audited and dated; "Create today's
    batch now" does at once what the daily command does."""

    list_display = ("day", "created_at", "count", "downloaded_at", "download_link")
    list_filter = ("day",)
    ordering = ("-day", "-created_at")
    fields = ("day", "created_at", "count", "sha256", "downloaded_at", "download_link")
    readonly_fields = fields

    @admin.display(description=_("ZIP file"))
    def download_link(self, batch: PrintBatch) -> SafeString | str:
        if not batch.file:
            return "—"
        return format_html(
            '<a href="{}">{}</a>',
            reverse("admin:documents_printbatch_download", args=[batch.pk]),
            gettext("Download the batch of %(day)s") % {"day": date_format(batch.day, "DATE_FORMAT")},
        )

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None) -> HttpResponse:
        may_create = request.user.has_perm(printing.CREATE_PERMISSION)
        return super().changelist_view(request, {**(extra_context or {}), "may_create": may_create})

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view
        return [
            path(
                "<uuid:object_id>/download/", view(self.download_view), name="documents_printbatch_download"
            ),
            path("create/", view(self.create_view), name="documents_printbatch_create"),
            *super().get_urls(),
        ]

    def download_view(self, request: HttpRequest, object_id: Any) -> HttpResponse:
        batch = get_object_or_404(self.get_queryset(request), pk=object_id)
        try:
            handle = printing.print_batch_download(batch=batch, by=request.user, request=request)
        except printing.PrintError as error:
            if error.code == printing.PrintErrorCode.NOT_ALLOWED:
                raise PermissionDenied from None
            raise Http404 from None
        name = f"print-{batch.day.isoformat()}.zip"
        return FileResponse(handle, as_attachment=True, filename=name, content_type="application/zip")

    def create_view(self, request: HttpRequest) -> HttpResponse:
        if not request.user.has_perm(printing.CREATE_PERMISSION):
            raise PermissionDenied
        if request.method != "POST":
            return HttpResponseRedirect(reverse("admin:documents_printbatch_changelist"))
        batch = printing.print_batch_create(by=request.user, request=request)
        if batch is None:
            self.message_user(request, gettext("No document to print: no batch was created."), messages.INFO)
        else:
            self.message_user(
                request,
                ngettext(
                    "A print batch of %(count)d document was created.",
                    "A print batch of %(count)d documents was created.",
                    batch.count,
                )
                % {"count": batch.count},
                messages.SUCCESS,
            )
        return HttpResponseRedirect(reverse("admin:documents_printbatch_changelist"))


# --- Intake clients (machines that send documents) -----------------------------------------------


class IntakeClientForm(forms.Form):
    name = forms.CharField(
        label=_("Name"),
        max_length=140,
        help_text=_("The billing system, e.g. “Leasing billing, production”."),
    )
    issuers = forms.ModelMultipleChoiceField(
        label=_("Issuers"),
        queryset=Issuer.objects.all(),
        widget=forms.CheckboxSelectMultiple,
        help_text=_("It may send documents of these issuers only."),
    )


@admin.register(IntakeClient)
class IntakeClientAdmin(ReadOnlyAdmin):
    """Billing systems allowed to send documents. The key is shown once, when the client is created;
    only its HMAC is kept. A client is deactivated, never deleted (its documents keep their origin)."""

    list_display = ("name", "issuer_list", "key_prefix", "is_active", "created_at", "last_used_at")
    list_filter = ("is_active",)
    search_fields = ("name", "key_prefix")
    fields = ("name", "issuer_list", "key_prefix", "is_active", "created_at", "last_used_at")
    readonly_fields = fields
    actions = ("deactivate",)

    def get_queryset(self, request: HttpRequest) -> QuerySet[IntakeClient]:
        return super().get_queryset(request).prefetch_related("issuers")

    @admin.display(description=_("issuers"))
    def issuer_list(self, client: IntakeClient) -> str:
        return ", ".join(issuer.prefix for issuer in client.issuers.all()) or "—"

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return admin.ModelAdmin.has_add_permission(self, request)

    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: dict | None = None
    ) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = IntakeClientForm(request.POST or None)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": gettext("Add intake client"),
            "form": form,
        }
        if request.method == "POST" and form.is_valid():
            from guichet.documents import intake_auth

            with transaction.atomic():
                client, key = intake_auth.intake_client_create(
                    name=form.cleaned_data["name"], issuers=list(form.cleaned_data["issuers"])
                )
                record(
                    action="documents.intake_client_added",
                    actor=request.user,
                    target=client,
                    request=request,
                    details={"issuers": sorted(i.prefix for i in form.cleaned_data["issuers"])},
                )
            context.update(title=gettext("Intake client created"), client=client, key=key)
            response = TemplateResponse(request, "admin/documents/intakeclient/key.html", context)
            response["Cache-Control"] = "no-store"
            return response
        return TemplateResponse(request, "admin/documents/intakeclient/add.html", context)

    def _may_deactivate(self, request: HttpRequest) -> bool:
        return admin.ModelAdmin.has_change_permission(self, request)

    def get_actions(self, request: HttpRequest) -> dict:
        actions = super().get_actions(request)
        if not self._may_deactivate(request):
            actions.pop("deactivate", None)
        return actions

    @admin.action(description=_("Deactivate the selected intake clients"))
    def deactivate(self, request: HttpRequest, queryset: QuerySet[IntakeClient]) -> None:
        if not self._may_deactivate(request):
            raise PermissionDenied
        from guichet.documents import intake_auth

        clients = list(queryset.filter(is_active=True))
        with transaction.atomic():
            for client in clients:
                intake_auth.intake_client_deactivate(client=client)
                record(
                    action="documents.intake_client_deactivated_by_staff",
                    actor=request.user,
                    target=client,
                    request=request,
                )
        message = ngettext(
            "%(count)d intake client deactivated: its key no longer works.",
            "%(count)d intake clients deactivated: their keys no longer work.",
            len(clients),
        )
        self.message_user(request, message % {"count": len(clients)}, messages.SUCCESS)
