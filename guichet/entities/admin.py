"""Business clients in the back office: the advisor registers entities, their accounts and
contracts, and the persons who may become users, and appoints an entity's administrator.

Advisors never see or set rights on accounts and contracts: the entity's
administrators manage them in the customer space, each change signed with
strong authentication. The back office shows them read-only, with their history.
Persons are registered through ``entities.services.person_register`` and an
administrator is appointed through ``administrator_appoint`` (which provisions
the user: user ID by e-mail, temporary password by SMS). Accounts, contracts
and persons are never deleted here (rights, transfers and history hang on
them). Every write is recorded in the audit trail with the changed field names.
"""

import re
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, QuerySet
from django.forms import ModelForm
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext, pgettext
from django.utils.translation import gettext_lazy as _

from guichet.audit.services import record
from guichet.entities import services
from guichet.entities.forms_backoffice import (
    BankAccountForm,
    EntityForm,
    PersonForm,
    company_number_display,
)
from guichet.entities.models import (
    BankAccount,
    Contract,
    Entity,
    Grant,
    GrantChange,
    Person,
    PersonStatus,
    Right,
)
from guichet.identity.exceptions import IdentityError
from guichet.identity.sca import has_strong_authenticator

PERSON_FIELDS = ("entity", "last_name", "first_name", "birth_date", "mobile_phone", "email", "language")
RIGHTS_NOTE = _(
    "Rights on accounts and contracts are managed by the entity's administrators in the customer space, "
    "each change signed with strong authentication. You can see them here but not change them."
)
HISTORY_SHOWN = 20


def mask_phone(phone: object) -> str:
    text = str(phone or "")
    return f"{text[:4]}{'•' * max(len(text) - 6, 0)}{text[-2:]}" if len(text) > 6 else text


# --- Entities ---------------------------------------------------------------------------------


class BankAccountInline(admin.TabularInline):
    model = BankAccount
    form = BankAccountForm
    fields = ("label", "iban", "bic", "currency", "balance", "balance_at")
    readonly_fields = ("balance", "balance_at")  # from the core banking system
    extra = 0
    can_delete = False


class ContractInline(admin.StackedInline):
    model = Contract
    fields = ("kind", "reference", "label", "started_on", "details")
    extra = 0
    can_delete = False


class PersonInline(admin.TabularInline):
    """The entity's persons at a glance; each is registered and appointed on its own page."""

    model = Person
    fields = ("full_name", "birth_date", "status", "user")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True
    verbose_name_plural = _("persons registered")

    @admin.display(description=_("name"))
    def full_name(self, person: Person) -> str:
        return person.full_name

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Entity)
class EntityAdmin(admin.ModelAdmin):
    form = EntityForm
    list_display = ("name", "company_number_shown", "company_number_scheme", "created_at")
    list_filter = ("company_number_scheme",)
    search_fields = ("name", "company_number")
    fields = ("name", "company_number_scheme", "company_number", "allow_self_validation")
    inlines = (BankAccountInline, ContractInline, PersonInline)

    @admin.display(description=_("company number"), ordering="company_number")
    def company_number_shown(self, entity: Entity) -> str:
        return company_number_display(entity.company_number_scheme, entity.company_number)

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[Entity], search_term: str
    ) -> tuple[QuerySet[Entity], bool]:
        """A company number typed as printed (``BE 0403.170.701``) finds the compact one."""
        found, may_have_duplicates = super().get_search_results(request, queryset, search_term)
        digits = re.sub(r"\D", "", search_term)
        if len(digits) >= 4 and digits != search_term.strip():
            found = found | queryset.filter(company_number__contains=digits)
        return found, may_have_duplicates

    def has_delete_permission(self, request: HttpRequest, obj: Entity | None = None) -> bool:
        return False  # accounts, rights, transfers and history hang on it

    def save_model(self, request: HttpRequest, obj: Entity, form: ModelForm, change: bool) -> None:
        super().save_model(request, obj, form, change)
        if form.changed_data or not change:
            record(
                action="entities.entity_changed" if change else "entities.entity_created",
                actor=request.user,
                target=obj,
                request=request,
                details={"fields": sorted(form.changed_data)},
            )
        if change and "allow_self_validation" in form.changed_data:
            services.self_validation_told(entity=obj)

    def save_formset(self, request: HttpRequest, form: ModelForm, formset: Any, change: bool) -> None:
        formset.save()
        kind = formset.model._meta.model_name
        for obj in formset.new_objects:
            record(
                action=f"entities.{kind}_added",
                actor=request.user,
                target=obj,
                request=request,
                details={"entity": obj.entity_id},
            )
        for obj, fields in formset.changed_objects:
            record(
                action=f"entities.{kind}_changed",
                actor=request.user,
                target=obj,
                request=request,
                details={"entity": obj.entity_id, "fields": sorted(fields)},
            )


# --- Persons ----------------------------------------------------------------------------------


@admin.register(Person)
class PersonAdmin(admin.ModelAdmin):
    form = PersonForm
    list_display = ("full_name", "entity", "birth_date", "status", "user", "is_administrator")
    list_filter = ("status",)
    list_select_related = ("entity", "user")
    search_fields = ("last_name", "first_name", "email", "entity__name", "entity__company_number")
    actions = ("appoint_administrator",)

    @admin.display(description=_("name"), ordering="last_name")
    def full_name(self, person: Person) -> str:
        return person.full_name

    @admin.display(description=_("administrator"), boolean=True)
    def is_administrator(self, person: Person) -> bool:
        return person.status == PersonStatus.ACTIVE and getattr(person, "holds_administration", False)

    def get_queryset(self, request: HttpRequest) -> QuerySet[Person]:
        # For the list's column only; what may be done is decided by the services.
        administration = Grant.objects.filter(
            entity=OuterRef("entity"), user=OuterRef("user"), right=Right.ADMINISTRATION
        )
        return super().get_queryset(request).annotate(holds_administration=Exists(administration))

    # --- Pages ------------------------------------------------------------------------------

    def get_fieldsets(self, request: HttpRequest, obj: Person | None = None) -> Any:
        if obj is None:
            return ((None, {"fields": PERSON_FIELDS}),)
        return (
            (None, {"fields": PERSON_FIELDS}),
            (
                _("Access to the customer space"),
                {
                    "fields": ("status", "user_account", "rights", "rights_history"),
                    "description": RIGHTS_NOTE,
                },
            ),
        )

    def get_readonly_fields(self, request: HttpRequest, obj: Person | None = None) -> tuple[str, ...]:
        if obj is None:
            return ()
        extra = ("status", "user_account", "rights", "rights_history")
        if obj.status == PersonStatus.REGISTERED:
            return ("entity", *extra)  # the rest may be corrected until the person is a user
        return (*PERSON_FIELDS, *extra)  # a user's data live in their user record

    def has_change_permission(self, request: HttpRequest, obj: Person | None = None) -> bool:
        if obj is not None and obj.status != PersonStatus.REGISTERED:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: Person | None = None) -> bool:
        return False

    @admin.display(description=_("user"))
    def user_account(self, person: Person) -> str:
        user = person.user
        if user is None:
            return gettext("Not a user yet: an administrator of the entity adds them, or you appoint them.")
        states = [gettext("active") if user.is_active else gettext("deactivated")]
        if user.is_locked:
            states.append(gettext("locked"))
        if user.password_is_temporary:
            states.append(gettext("temporary password, first login not done yet"))
        states.append(
            gettext("strong authentication set up")
            if has_strong_authenticator(user)
            else gettext("no strong authentication yet")
        )
        return format_html(
            '<a href="{}">{}</a> ({})',
            reverse("admin:identity_user_change", args=[user.pk]),
            user.user_id,
            ", ".join(states),
        )

    @admin.display(description=_("rights"))
    def rights(self, person: Person) -> SafeString | str:
        if person.user is None:
            return gettext("None.")
        rights = services.rights_of(entity=person.entity, user=person.user)
        lines = services.rights_lines(entity=person.entity, rights=rights)
        if not lines:
            return gettext("None.")
        rows = format_html_join(
            "",
            '<tr><th scope="row">{}</th><td>{}</td></tr>',
            ((resource, ", ".join(str(Right(code).label) for code in codes)) for resource, codes in lines),
        )
        return format_html(
            '<table><caption>{}</caption><thead><tr><th scope="col">{}</th><th scope="col">{}</th></tr>'
            "</thead><tbody>{}</tbody></table>",
            gettext("Rights of %(name)s") % {"name": person.full_name},
            gettext("Account, contract or entity"),
            gettext("Rights"),
            rows,
        )

    @admin.display(description=_("history of rights"))
    def rights_history(self, person: Person) -> SafeString | str:
        if person.user is None:
            return "—"
        changes = GrantChange.objects.filter(entity=person.entity, user=person.user)[:HISTORY_SHOWN]
        if not changes:
            return "—"
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    date_format(timezone.localtime(change.occurred_at), "DATETIME_FORMAT"),
                    change.get_action_display(),
                    change.get_right_display(),
                    change.resource_label,
                    change.actor_label or "—",
                )
                for change in changes
            ),
        )
        return format_html(
            '<table><caption>{}</caption><thead><tr><th scope="col">{}</th><th scope="col">{}</th>'
            '<th scope="col">{}</th><th scope="col">{}</th><th scope="col">{}</th></tr></thead>'
            '<tbody>{}</tbody></table><p><a href="{}?q={}">{}</a></p>',
            gettext("Latest changes of rights"),
            gettext("When"),
            pgettext("history column: granted or withdrawn", "Change"),
            gettext("Right"),
            gettext("Account, contract or entity"),
            gettext("By"),
            rows,
            reverse("admin:entities_grantchange_changelist"),
            person.user.user_id,
            gettext("Full history"),
        )

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: dict | None = None
    ) -> HttpResponse:
        person = self.get_object(request, object_id)
        extra_context = dict(extra_context or {})
        if person is not None:
            extra_context["may_appoint"] = self.may_appoint(request, person)
        return super().change_view(request, object_id, form_url, extra_context)

    # --- Writes, each recorded in the audit trail -------------------------------------------

    def save_model(self, request: HttpRequest, obj: Person, form: ModelForm, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            if form.changed_data:
                record(
                    action="entities.person_changed",
                    actor=request.user,
                    target=obj,
                    request=request,
                    details={"entity": obj.entity_id, "fields": sorted(form.changed_data)},
                )
            return
        data = form.cleaned_data
        person = services.person_register(
            entity=data["entity"],
            last_name=data["last_name"],
            first_name=data["first_name"],
            birth_date=data["birth_date"],
            mobile_phone=data["mobile_phone"].as_e164,
            email=data["email"],
            language=data["language"],
            acting_user=request.user,
            request=request,
        )
        obj.pk = person.pk
        obj._state.adding = False

    def delete_queryset(self, request: HttpRequest, queryset: QuerySet[Person]) -> None:
        raise PermissionDenied

    # --- Making a person the entity's administrator -----------------------------------------

    def get_urls(self) -> list[URLPattern]:
        view = self.admin_site.admin_view(self.appoint_view)
        return [
            path("<int:object_id>/administrator/", view, name="entities_person_appoint"),
            *super().get_urls(),
        ]

    def may_appoint(self, request: HttpRequest, person: Person) -> bool:
        return (
            super().has_change_permission(request)
            and person.status in (PersonStatus.REGISTERED, PersonStatus.ACTIVE)
            and person.user_id not in services.administrators(person.entity)
        )

    def has_appoint_permission(self, request: HttpRequest) -> bool:
        return super().has_change_permission(request)

    @admin.action(
        description=_("Make the selected person the entity's administrator"), permissions=["appoint"]
    )
    def appoint_administrator(self, request: HttpRequest, queryset: QuerySet[Person]) -> HttpResponse | None:
        persons = list(queryset[:2])
        if len(persons) != 1:
            self.message_user(
                request, gettext("Select one person to make administrator, one at a time."), messages.WARNING
            )
            return None
        return HttpResponseRedirect(reverse("admin:entities_person_appoint", args=[persons[0].pk]))

    def appoint_view(self, request: HttpRequest, object_id: int) -> HttpResponse:
        person = get_object_or_404(self.get_queryset(request), pk=object_id)
        if not self.has_appoint_permission(request):
            raise PermissionDenied
        change_url = reverse("admin:entities_person_change", args=[person.pk])
        if not self.may_appoint(request, person):
            self.message_user(
                request,
                gettext("%(name)s cannot be made administrator in their current state.")
                % {"name": person.full_name},
                messages.ERROR,
            )
            return HttpResponseRedirect(change_url)
        if request.method == "POST":
            try:
                user = services.administrator_appoint(
                    entity=person.entity, person=person, acting_user=request.user, request=request
                )
            except services.EntitiesError as error:
                self.message_user(request, self._appoint_error(person, error), messages.ERROR)
            except IdentityError as error:
                self.message_user(request, error.message, messages.ERROR)
            else:
                self.message_user(request, self._appointed(person, user), messages.SUCCESS)
            return HttpResponseRedirect(change_url)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "original": person,
            "title": gettext("Make %(name)s administrator of %(entity)s")
            % {"name": person.full_name, "entity": person.entity.name},
            "needs_user": person.user_id is None,
            "email_missing": person.user_id is None and not person.email,
            "masked_phone": mask_phone(person.mobile_phone),
            "change_url": change_url,
        }
        return TemplateResponse(request, "admin/entities/person/appoint_confirm.html", context)

    def _appoint_error(self, person: Person, error: services.EntitiesError) -> str:
        if error.code == services.EntitiesErrorCode.EMAIL_REQUIRED:
            return gettext(
                "%(name)s has no e-mail address: add one on this page first, since the user ID is sent "
                "by e-mail. Nothing was changed."
            ) % {"name": person.full_name}
        return error.message

    def _appointed(self, person: Person, user: Any) -> str:
        if person.user_id is None:  # the person as it was before: provisioned just now
            return gettext(
                "%(name)s is now the administrator of %(entity)s, as user %(user_id)s. The user ID was "
                "e-mailed to %(email)s and a temporary password sent by SMS; nobody else sees it."
            ) % {"name": person.full_name, "entity": person.entity.name, "user_id": user.user_id,
                 "email": person.email}  # fmt: skip
        return gettext("%(name)s is now the administrator of %(entity)s.") % {
            "name": person.full_name,
            "entity": person.entity.name,
        }


# --- History of rights ------------------------------------------------------------------------


@admin.register(GrantChange)
class GrantChangeAdmin(admin.ModelAdmin):
    """Who granted or withdrew which right, when: read-only, like the audit trail."""

    list_display = ("occurred_at", "entity", "user", "action", "right", "resource_label", "actor_label")
    list_filter = ("action", "right")
    list_select_related = ("entity", "user")
    search_fields = ("user__user_id", "user__last_name", "entity__name", "resource_label", "actor_label")
    date_hierarchy = "occurred_at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: GrantChange | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: GrantChange | None = None) -> bool:
        return False
