"""The "Shared users" page (seed 002), for primary contacts: their shared users, and for each of
their customer numbers whether that shared user sees it.

Anyone who is not a primary contact gets a page that says so (403), and so
does a consumer account (only business accounts share, seed 002); another
account's shared user answers 404. The services check all of it again.
"""

from allauth.core import ratelimit
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from guichet.documents import access, sharing
from guichet.documents.forms.sharing import SharedUserForm
from guichet.documents.models import CustomerNumber, SharedUser


def _owned(request: HttpRequest) -> list[CustomerNumber]:
    return list(access.owned_customer_numbers(request.user).select_related("issuer", "customer"))


def _not_primary(request: HttpRequest) -> HttpResponse:
    return render(request, "documents/sharing/no_access.html", status=403)


def _refusal_page(request: HttpRequest, numbers: list[CustomerNumber]) -> HttpResponse | None:
    """The page that tells why this account cannot share, if it cannot."""
    if not numbers:
        return _not_primary(request)
    if not sharing.may_invite(request.user):
        context = {"reason": sharing.SharingError(sharing.SharingErrorCode.NOT_BUSINESS).message}
        return render(request, "documents/sharing/consumer.html", context, status=403)
    return None


def _shared_user(request: HttpRequest, shared_user_id: int) -> SharedUser:
    shared = access.shared_user_get(request.user, shared_user_id)
    if shared is None or not access.is_primary_contact(request.user):
        raise Http404
    return shared


def _refused(form: SharedUserForm, refusal: sharing.SharingError) -> None:
    if refusal.code == sharing.SharingErrorCode.NOT_FOUND:
        raise Http404
    form.add_error(refusal.field if refusal.field in form.fields else None, refusal.message)


@login_required
@require_GET
def shared_users(request: HttpRequest) -> HttpResponse:
    numbers = _owned(request)
    if (refused := _refusal_page(request, numbers)) is not None:
        return refused
    rows = sharing.shared_users_with_numbers(owner=request.user)
    return render(request, "documents/sharing/list.html", {"rows": rows})


INVITE_RATE_LIMIT_ACTION = "guichet_share_invite"


def _invitations_allowed(request: HttpRequest) -> bool:
    """Each added shared user is an e-mail from the institution to an address of the owner's choice:
    limited per account (``GUICHET_RATE_LIMIT_SHARE_INVITE``), so the form is no mailing tool."""
    return ratelimit.consume(request, action=INVITE_RATE_LIMIT_ACTION, key=str(request.user.pk))


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def shared_user_add(request: HttpRequest) -> HttpResponse:
    numbers = _owned(request)
    if (refused := _refusal_page(request, numbers)) is not None:
        return refused
    form = SharedUserForm(request.POST or None, numbers=numbers, initial={"language": request.LANGUAGE_CODE})
    if request.method == "POST" and form.is_valid() and not _invitations_allowed(request):
        form.add_error(None, _("Too many invitations were sent. Please wait an hour and try again."))
    elif request.method == "POST" and form.is_valid():
        try:
            shared = sharing.shared_user_create(
                owner=request.user,
                name=form.cleaned_data["name"],
                email=form.cleaned_data["email"],
                language=form.cleaned_data["language"],
                customer_number_ids=form.cleaned_data["customer_numbers"],
                request=request,
            )
        except sharing.SharingError as refusal:
            _refused(form, refusal)
        else:
            done = _("%(name)s is added. They received an invitation to activate their account.")
            messages.success(request, done % {"name": shared.name})
            return redirect("documents:shared_users")
    return render(request, "documents/sharing/form.html", {"form": form, "shared": None})


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def shared_user_edit(request: HttpRequest, shared_user_id: int) -> HttpResponse:
    shared = _shared_user(request, shared_user_id)
    numbers = _owned(request)
    if (refused := _refusal_page(request, numbers)) is not None:
        return refused
    initial = {
        "name": shared.name,
        "language": shared.language,
        "customer_numbers": [n.pk for n in sharing.shared_numbers(shared)],
    }
    form = SharedUserForm(request.POST or None, numbers=numbers, edit=True, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            sharing.shared_user_update(
                owner=request.user,
                shared_user_id=shared.pk,
                name=form.cleaned_data["name"],
                language=form.cleaned_data["language"],
                customer_number_ids=form.cleaned_data["customer_numbers"],
                request=request,
            )
        except sharing.SharingError as refusal:
            _refused(form, refusal)
        else:
            messages.success(
                request, _("The changes for %(name)s are saved.") % {"name": form.cleaned_data["name"]}
            )
            return redirect("documents:shared_users")
    return render(request, "documents/sharing/form.html", {"form": form, "shared": shared})


@login_required
@never_cache
@require_http_methods(["GET", "POST"])
def shared_user_delete(request: HttpRequest, shared_user_id: int) -> HttpResponse:
    shared = _shared_user(request, shared_user_id)
    if request.method == "POST":
        try:
            sharing.shared_user_delete(owner=request.user, shared_user_id=shared.pk, request=request)
        except sharing.SharingError:
            raise Http404 from None
        messages.success(
            request, _("%(name)s is deleted: they no longer see your documents.") % {"name": shared.name}
        )
        return redirect("documents:shared_users")
    return render(
        request,
        "documents/sharing/delete.html",
        {"shared": shared, "numbers": sharing.shared_numbers(shared)},
    )


urlpatterns = [
    path("shared-users/", shared_users, name="shared_users"),
    path("shared-users/add/", shared_user_add, name="shared_user_add"),
    path("shared-users/<int:shared_user_id>/", shared_user_edit, name="shared_user_edit"),
    path("shared-users/<int:shared_user_id>/delete/", shared_user_delete, name="shared_user_delete"),
]
