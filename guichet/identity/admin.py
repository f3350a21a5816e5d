"""Users in the back office: registered and edited by advisors, never given a password there.

A user added here gets an unusable password (onboarding sets one later);
no form shows the password hash or links to a password form, and the
password URL answers 403 to everyone. Users are deactivated, never deleted.
Every change is written to the audit trail with the changed field names only.
The changelist filters only on its list filters: Django would otherwise accept
any local field in the query string, ``?password__startswith=`` included.
"""

from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Field, QuerySet
from django.db.models.constants import LOOKUP_SEP
from django.forms import Field as FormField
from django.forms import ModelForm
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, path
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from guichet.audit.services import record
from guichet.identity.models import AccountKind, User

PERSONAL_FIELDS = ("first_name", "last_name", "email", "mobile_phone", "preferred_language")
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
    list_display = ("user_id", "full_name", "email", "kind", "is_active")
    list_filter = ("kind", "is_active", "is_staff", "groups", "preferred_language")
    search_fields = ("user_id", "email", "first_name", "last_name")
    ordering = ("user_id",)
    filter_horizontal = ("groups", "user_permissions")
    actions = ("deactivate",)
    add_fieldsets = (
        (None, {"fields": ("user_id", "kind")}),
        (_("Personal information"), {"fields": PERSONAL_FIELDS}),
    )
    fieldsets = (
        *add_fieldsets,
        (_("Access"), {"fields": ("is_active", *PRIVILEGE_FIELDS)}),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )

    @admin.display(description=_("name"), ordering="last_name")
    def full_name(self, user: User) -> str:
        return f"{user.first_name} {user.last_name}".strip()

    # --- Rights ---------------------------------------------------------------

    def has_change_permission(self, request: HttpRequest, obj: User | None = None) -> bool:
        """Only a superuser may change a staff account: an advisor could otherwise take one over."""
        if obj is not None and (obj.is_staff or obj.is_superuser) and not request.user.is_superuser:
            return False
        return super().has_change_permission(request, obj)

    def has_delete_permission(self, request: HttpRequest, obj: User | None = None) -> bool:
        return False  # deactivate instead: a user's history must stay whole

    def get_readonly_fields(self, request: HttpRequest, obj: User | None = None) -> tuple[str, ...]:
        readonly = ("last_login", "date_joined")
        if not request.user.is_superuser:
            readonly += PRIVILEGE_FIELDS
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
        refuse = self.admin_site.admin_view(self.password_change_refused)
        return [path("<path:object_id>/password/", refuse), *super().get_urls()]

    def password_change_refused(self, request: HttpRequest, object_id: str) -> HttpResponse:
        raise PermissionDenied(_("Passwords cannot be set in the back office."))

    # --- Writes, each recorded in the audit trail ------------------------------

    def save_model(self, request: HttpRequest, obj: User, form: ModelForm, change: bool) -> None:
        if not change:
            obj.set_unusable_password()  # onboarding sets the first password
        super().save_model(request, obj, form, change)
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
