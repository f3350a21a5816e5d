"""Users in the back office: provisioned and edited by advisors, never given a password there.

Advisors provision a user (``user_provision``: two e-mails, the temporary
password seen by nobody), re-issue a provisioned user's credentials and
unlock a provisioned user's access; a consumer's page explains why neither is
possible for consumers. The credentials' state is shown, never the hash or the hint.

A user added here gets an unusable password (onboarding sets one later);
no form shows the password hash or links to a password form, and the
password URL answers 403 to everyone. Users are deactivated, never deleted.
Every change is written to the audit trail with the changed field names only.
The changelist filters only on its list filters: Django would otherwise accept
any local field in the query string, ``?password__startswith=`` included.
"""

from typing import Any

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Field, QuerySet
from django.db.models.constants import LOOKUP_SEP
from django.forms import Field as FormField
from django.forms import ModelForm
from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import gettext, ngettext
from django.utils.translation import gettext_lazy as _

from guichet.audit.services import record
from guichet.backoffice.forms import ERROR_FIELDS, ProvisionForm, ProvisioningUploadForm
from guichet.identity import lockout, provisioning, reenrol, services
from guichet.identity.error_codes import IdentityErrorCode
from guichet.identity.exceptions import IdentityError
from guichet.identity.models import (
    AccountKind,
    AgreementAcceptance,
    ProvisioningImport,
    ProvisioningImportStatus,
    User,
    UserAgreement,
)
from guichet.identity.sca import has_strong_authenticator

PERSONAL_FIELDS = (
    "first_name",
    "last_name",
    "email",
    "mobile_phone",
    "alternate_mobile_phone",
    "preferred_language",
)
CONTACT_FIELDS = ("email", "mobile_phone", "alternate_mobile_phone")
CREDENTIAL_FIELDS = ("access_state", "password_state", "credentials_issued_at")
# Never in a form, whatever the fieldsets say.
SECRET_FIELDS = ("password", "password_hint_encrypted")
PRIVILEGE_FIELDS = ("is_staff", "is_superuser", "groups", "user_permissions")
# Never a filter, whatever the path that leads to it: a prefix filter reveals a hash by bisection.
REFUSED_LOOKUP_PARTS = frozenset({"password"})


def filter_paths(list_filter: Any, date_hierarchy: str | None) -> set[str]:
    """The field paths (or parameter names) that a changelist's own filters use."""
    paths = {date_hierarchy} if date_hierarchy else set()
    for item in list_filter:
        if isinstance(item, (list, tuple)):
            paths.add(item[0])
        elif isinstance(item, str):
            paths.add(item)
        else:  # a SimpleListFilter class
            paths.add(item.parameter_name)
    return paths


@admin.register(User)
class UserAdmin(admin.ModelAdmin):
    list_display = ("user_id", "full_name", "email", "kind", "is_active", "is_locked")
    list_filter = ("kind", "is_active", "is_staff", "groups", "preferred_language")
    search_fields = ("user_id", "email", "first_name", "last_name")
    ordering = ("user_id",)
    filter_horizontal = ("groups", "user_permissions")
    actions = ("deactivate",)
    add_fieldsets = (
        (None, {"fields": ("user_id", "kind")}),
        (_("Personal information"), {"fields": PERSONAL_FIELDS}),
    )
    exclude = SECRET_FIELDS
    fieldsets = (
        *add_fieldsets,
        (_("Credentials"), {"fields": CREDENTIAL_FIELDS}),
        (_("Access"), {"fields": ("is_active", *PRIVILEGE_FIELDS)}),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )

    @admin.display(description=_("name"), ordering="last_name")
    def full_name(self, user: User) -> str:
        return f"{user.first_name} {user.last_name}".strip()

    @admin.display(description=_("locked"), boolean=True, ordering="locked_at")
    def is_locked(self, user: User) -> bool:
        return user.is_locked

    @admin.display(description=_("access"))
    def access_state(self, user: User) -> str:
        if user.is_locked:
            return gettext("Locked since %(when)s after too many failed logons.") % {
                "when": date_format(timezone.localtime(user.locked_at), "DATETIME_FORMAT")
            }
        return ngettext(
            "Open (%(count)d failed logon since the last success).",
            "Open (%(count)d failed logons since the last success).",
            user.failed_login_count,
        ) % {"count": user.failed_login_count}

    @admin.display(description=_("password"))
    def password_state(self, user: User) -> str:
        """The state of the credentials, never the password, its hash or the hint."""
        if user.password_is_temporary and user.password_expires_at:
            when = date_format(timezone.localtime(user.password_expires_at), "DATETIME_FORMAT")
            if services.temporary_password_expired(user):
                return gettext("Temporary password, expired on %(when)s.") % {"when": when}
            return gettext("Temporary password, valid until %(when)s (first login not done yet).") % {
                "when": when
            }
        if not user.has_usable_password():
            return gettext("No password yet.")
        if user.password_changed_at:
            return gettext("Chosen by the user on %(when)s.") % {
                "when": date_format(timezone.localtime(user.password_changed_at), "DATETIME_FORMAT")
            }
        return gettext("Chosen by the user.")

    # --- Rights ---------------------------------------------------------------

    def has_change_permission(self, request: HttpRequest, obj: User | None = None) -> bool:
        """Only a superuser may change a staff account: an advisor could otherwise take one over."""
        if obj is not None and (obj.is_staff or obj.is_superuser) and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: User | None = None) -> bool:
        return False  # deactivate instead: a user's history must stay whole

    def get_readonly_fields(self, request: HttpRequest, obj: User | None = None) -> tuple[str, ...]:
        """Fixed after creation: the identifier and the kind. The contact details
        receive the codes and links that recover an access, so an advisor never
        changes them (that would hand the account over); an operator may correct
        a provisioned user's, and the old address is told. A consumer's are
        theirs alone (seed 003)."""
        readonly = ("last_login", "date_joined", *CREDENTIAL_FIELDS)
        if not request.user.is_superuser:
            readonly += PRIVILEGE_FIELDS
        if obj is not None:
            readonly += ("user_id", "kind")
            if not request.user.is_superuser or obj.kind == AccountKind.CONSUMER:
                readonly += CONTACT_FIELDS
        return readonly

    def get_fieldsets(self, request: HttpRequest, obj: User | None = None) -> Any:
        return self.add_fieldsets if obj is None else super().get_fieldsets(request, obj)

    def formfield_for_choice_field(self, db_field: Field, request: HttpRequest, **kwargs: Any) -> FormField:
        if db_field.name == "kind" and not request.user.is_superuser:
            kwargs["choices"] = [choice for choice in AccountKind.choices if choice[0] != AccountKind.STAFF]
        return super().formfield_for_choice_field(db_field, request, **kwargs)

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest | None = None) -> bool:
        """Only the list filters' own lookups; Django answers any other with a 400."""
        parts = lookup.split(LOOKUP_SEP)
        if REFUSED_LOOKUP_PARTS.intersection(parts):
            return False
        list_filter = self.get_list_filter(request) if request is not None else self.list_filter
        if not any(
            lookup == path or lookup.startswith(path + LOOKUP_SEP)
            for path in filter_paths(list_filter, self.date_hierarchy)
        ):
            return False
        return super().lookup_allowed(lookup, value, request)

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view
        refuse = view(self.password_change_refused)
        return [
            path("<path:object_id>/password/", refuse),
            path("provision/", view(self.provision_view), name="identity_user_provision"),
            path("<int:object_id>/reissue/", view(self.reissue_view), name="identity_user_reissue"),
            path("<int:object_id>/unlock/", view(self.unlock_view), name="identity_user_unlock"),
            path("<int:object_id>/reenrol/", view(self.reenrol_view), name="identity_user_reenrol"),
            *super().get_urls(),
        ]

    def password_change_refused(self, request: HttpRequest, object_id: str) -> HttpResponse:
        raise PermissionDenied(_("Passwords cannot be set in the back office."))

    # --- Credentials: provision, re-issue, unlock ---------------------------------

    def credentials_actions(self, request: HttpRequest, user: User) -> dict[str, bool]:
        """What this advisor may do with this user's credentials (a button each)."""
        allowed = user.kind == AccountKind.PROVISIONED and self.has_change_permission(request, user)
        # Re-enrolment of the strong authentication: any kind (the user proves it
        # by e-mail, SMS and password; the advisor holds nothing), once enrolled.
        reenrol_allowed = self.has_change_permission(request, user) and has_strong_authenticator(user)
        return {"reissue": allowed, "unlock": allowed and user.is_locked, "reenrol": reenrol_allowed}

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict | None = None
    ) -> HttpResponse:
        user = self.get_object(request, object_id)
        extra_context = dict(extra_context or {})
        if user is not None:
            extra_context["credentials_actions"] = self.credentials_actions(request, user)
            if user.kind == AccountKind.CONSUMER:
                extra_context["credentials_note"] = IdentityError(
                    IdentityErrorCode.CONSUMER_CREDENTIALS
                ).message
        return super().change_view(request, object_id, form_url, extra_context)

    def provision_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = ProvisionForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            try:
                user = services.user_provision(
                    user_id=data["user_id"],
                    email=data["email"],
                    phones=[data["mobile_phone"], data["alternate_mobile_phone"]],
                    language=data["language"],
                    first_name=data["first_name"],
                    last_name=data["last_name"],
                    acting_user=request.user,
                    request=request,
                )
            except IdentityError as error:
                form.add_error(ERROR_FIELDS.get(error.field or ""), error.message)
            else:
                self.message_user(
                    request,
                    gettext(
                        "%(user_id)s is provisioned. Two e-mails were sent to %(email)s: the user ID, "
                        "then a temporary password that nobody else sees."
                    )
                    % {"user_id": user.user_id, "email": user.email},
                    messages.SUCCESS,
                )
                return HttpResponseRedirect(reverse("admin:identity_user_change", args=[user.pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": gettext("Provision a user"),
            "form": form,
        }
        return TemplateResponse(request, "admin/identity/user/provision.html", context)

    def _credentials_target(self, request: HttpRequest, object_id: int, action: str) -> User:
        user = get_object_or_404(self.get_queryset(request), pk=object_id)
        if not self.credentials_actions(request, user)[action]:
            raise PermissionDenied
        return user

    def _confirm(
        self, request: HttpRequest, user: User, *, title: str, text: str, button: str
    ) -> HttpResponse:
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": user,
            "title": title,
            "text": text,
            "button": button,
        }
        return TemplateResponse(request, "admin/identity/user/credentials_confirm.html", context)

    def reissue_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        user = self._credentials_target(request, object_id, "reissue")
        if request.method != "POST":
            return self._confirm(
                request,
                user,
                title=gettext("Re-issue credentials"),
                text=gettext(
                    "%(user_id)s will receive two e-mails at %(email)s: the user ID, then a new temporary "
                    "password. The current temporary or chosen password stops working at once, and a "
                    "locked access is unlocked."
                )
                % {"user_id": user.user_id, "email": user.email},
                button=gettext("Send new credentials"),
            )
        services.credentials_issue(user=user, acting_user=request.user, request=request)
        self.message_user(
            request,
            gettext("New credentials were sent to %(user_id)s in two e-mails.") % {"user_id": user.user_id},
            messages.SUCCESS,
        )
        return HttpResponseRedirect(reverse("admin:identity_user_change", args=[user.pk]))

    def unlock_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        user = self._credentials_target(request, object_id, "unlock")
        if request.method != "POST":
            return self._confirm(
                request,
                user,
                title=gettext("Unlock the access"),
                text=gettext(
                    "%(user_id)s will be able to log on again with the current password. "
                    "Unlock only after checking the person's identity."
                )
                % {"user_id": user.user_id},
                button=gettext("Unlock"),
            )
        lockout.access_unlock(user=user, acting_user=request.user, request=request)
        self.message_user(
            request,
            gettext("The access of %(user_id)s is unlocked.") % {"user_id": user.user_id},
            messages.SUCCESS,
        )
        return HttpResponseRedirect(reverse("admin:identity_user_change", args=[user.pk]))

    def reenrol_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        user = self._credentials_target(request, object_id, "reenrol")
        if request.method != "POST":
            return self._confirm(
                request,
                user,
                title=gettext("New strong authentication enrolment"),
                text=gettext(
                    "Only after checking the person's identity (an identity document, or a call-back on "
                    "the number on file). %(user_id)s will receive at %(email)s a single-use link, valid "
                    "%(hours)s hours, then a code by SMS; after their password they set up a new passkey or "
                    "authenticator app, and only then do their current ones stop working. You never see "
                    "the link or the code: never ask the person for them."
                )
                % {
                    "user_id": user.user_id,
                    "email": user.email or "—",
                    "hours": settings.GUICHET_REENROL_LINK_SECONDS // 3600,
                },
                button=gettext("I checked the identity: send the link"),
            )
        try:
            reenrol.reenrolment_start(user=user, acting_user=request.user, request=request)
        except reenrol.ReenrolError as error:
            self.message_user(request, error.message, messages.ERROR)
        else:
            self.message_user(
                request,
                gettext("A single-use link to enrol a new authenticator was e-mailed to %(user_id)s.")
                % {"user_id": user.user_id},
                messages.SUCCESS,
            )
        return HttpResponseRedirect(reverse("admin:identity_user_change", args=[user.pk]))

    # --- Writes, each recorded in the audit trail ------------------------------

    def save_model(self, request: HttpRequest, obj: User, form: ModelForm, change: bool) -> None:
        if not change:
            obj.set_unusable_password()  # onboarding sets the first password
        super().save_model(request, obj, form, change)
        if change and (changed_contacts := [f for f in CONTACT_FIELDS if f in form.changed_data]):
            services.contact_details_corrected(
                user=obj, fields=changed_contacts, old_email=form.initial.get("email", ""), request=request
            )
        if form.changed_data or not change:
            record(
                action="user.changed" if change else "user.created",
                actor=request.user,
                target=obj,
                request=request,
                details={"fields": sorted(form.changed_data)},
            )

    def delete_model(self, request: HttpRequest, obj: User) -> None:
        raise PermissionDenied

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        raise PermissionDenied

    @admin.action(description=_("Deactivate the selected users"), permissions=["change"])
    def deactivate(self, request: HttpRequest, queryset: QuerySet[User]) -> None:
        users = [
            user for user in queryset.filter(is_active=True) if self.has_change_permission(request, user)
        ]
        with transaction.atomic():
            for user in users:
                user.is_active = False
                user.save(update_fields=["is_active"])
                record(
                    action="user.changed",
                    actor=request.user,
                    target=user,
                    request=request,
                    details={"fields": ["is_active"]},
                )
        message = ngettext("%(count)d user deactivated.", "%(count)d users deactivated.", len(users))
        self.message_user(request, message % {"count": len(users)}, messages.SUCCESS)


# --- Provisioning imports -------------------------------------------------------


@admin.register(ProvisioningImport)
class ProvisioningImportAdmin(admin.ModelAdmin):
    """Upload a CSV file of users to provision; a task creates them and the page shows its progress."""

    list_display = (
        "file_name",
        "created_at",
        "uploaded_by",
        "status",
        "processed",
        "total",
        "created_count",
        "failed_count",
    )
    list_filter = ("status",)
    list_select_related = ("uploaded_by",)
    REPORT_ROWS_SHOWN = 500

    def has_change_permission(self, request: HttpRequest, obj: ProvisioningImport | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: ProvisioningImport | None = None) -> bool:
        return False

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view(self.report_view)
        return [
            path("<int:object_id>/report.csv", view, name="identity_provisioningimport_report"),
            *super().get_urls(),
        ]

    def add_view(
        self, request: HttpRequest, form_url: str = "", extra_context: dict | None = None
    ) -> HttpResponse:
        if not self.has_add_permission(request):
            raise PermissionDenied
        form = ProvisioningUploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            try:
                if upload.size > provisioning.MAX_FILE_BYTES:
                    raise provisioning.ProvisioningFileError(provisioning.ProvisioningErrorCode.TOO_LARGE)
                provisioning_import = provisioning.import_create(
                    file_name=upload.name, data=upload.read(), acting_user=request.user
                )
            except provisioning.ProvisioningFileError as error:
                form.add_error("file", error.message)
            else:
                return HttpResponseRedirect(
                    reverse("admin:identity_provisioningimport_change", args=[provisioning_import.pk])
                )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": gettext("Import users to provision"),
            "form": form,
            "columns": provisioning.COLUMNS,
        }
        return TemplateResponse(request, "admin/identity/provisioningimport/upload.html", context)

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict | None = None
    ) -> HttpResponse:
        provisioning_import = self.get_object(request, object_id)
        if provisioning_import is None:
            raise Http404
        if not self.has_view_permission(request, provisioning_import):
            raise PermissionDenied
        outcomes = provisioning.import_outcomes(provisioning_import)
        running = provisioning_import.status in (
            ProvisioningImportStatus.QUEUED,
            ProvisioningImportStatus.RUNNING,
        )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": gettext("Import of %(file)s") % {"file": provisioning_import.file_name},
            "import": provisioning_import,
            "running": running,
            "file_error": provisioning.error_message(provisioning_import.error)
            if provisioning_import.error
            else "",
            "outcomes": outcomes[: self.REPORT_ROWS_SHOWN],
            "outcomes_hidden": max(len(outcomes) - self.REPORT_ROWS_SHOWN, 0),
        }
        template = "admin/identity/provisioningimport/status.html"
        if request.headers.get("HX-Request") == "true":
            template = "admin/identity/provisioningimport/_progress.html"
        return TemplateResponse(request, template, context)

    def report_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        provisioning_import = get_object_or_404(self.get_queryset(request), pk=object_id)
        if not self.has_view_permission(request, provisioning_import):
            raise PermissionDenied
        report = provisioning.report_csv(provisioning.import_outcomes(provisioning_import))
        response = HttpResponse(report, content_type="text/csv; charset=utf-8")
        response["Content-Disposition"] = (
            f'attachment; filename="provisioning-report-{provisioning_import.pk}.csv"'
        )
        return response


# --- User agreement -------------------------------------------------------------


@admin.register(UserAgreement)
class UserAgreementAdmin(admin.ModelAdmin):
    """One row per version and language. A version somebody accepted can no longer be changed."""

    list_display = ("version", "language", "title", "published_at", "languages_of_version")
    list_filter = ("version", "language")
    search_fields = ("title",)
    ordering = ("-version", "language")
    fields = ("version", "language", "title", "text", "published_at")

    @admin.display(description=_("languages of this version"))
    def languages_of_version(self, agreement: UserAgreement) -> str:
        names = dict(settings.LANGUAGES)
        present = UserAgreement.objects.filter(version=agreement.version).values_list("language", flat=True)
        missing = [code for code in names if code not in set(present)]
        text = ", ".join(sorted(present, key=list(names).index))
        if missing:
            return gettext("%(present)s (missing: %(missing)s)") % {
                "present": text,
                "missing": ", ".join(missing),
            }
        return text

    def _accepted(self, agreement: UserAgreement | None) -> bool:
        return (
            agreement is not None and AgreementAcceptance.objects.filter(version=agreement.version).exists()
        )

    def has_change_permission(self, request: HttpRequest, obj: UserAgreement | None = None) -> bool:
        return not self._accepted(obj) and super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: UserAgreement | None = None) -> bool:
        return not self._accepted(obj) and super().has_delete_permission(request, obj)

    def save_model(self, request: HttpRequest, obj: UserAgreement, form: ModelForm, change: bool) -> None:
        super().save_model(request, obj, form, change)
        record(
            action="identity.agreement_changed" if change else "identity.agreement_published",
            actor=request.user,
            target=obj,
            request=request,
            details={"version": obj.version, "language": obj.language, "fields": sorted(form.changed_data)},
        )


@admin.register(AgreementAcceptance)
class AgreementAcceptanceAdmin(admin.ModelAdmin):
    """Who accepted which version, in which language, when and from where: read-only."""

    list_display = ("user", "version", "language", "accepted_at", "ip_address")
    list_filter = ("version", "language")
    list_select_related = ("user",)
    search_fields = ("user__user_id",)
    date_hierarchy = "accepted_at"
    readonly_fields = ("user", "version", "language", "accepted_at", "ip_address")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AgreementAcceptance | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AgreementAcceptance | None = None) -> bool:
        return False
