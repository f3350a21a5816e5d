"""Activation of a document portal account from an invitation link (seed 002).

The link's token moves into the session at once (out of the URL, the
history and the Referer), like identity's reset links. The page then
either asks for a new password twice (a new account, whose identifier is
the invited e-mail address), or, when that address already has an
account, for its password: the owner proves the account is theirs before
the customer number joins it. Either way the user is then logged on
through allauth, so the login stages (the user agreement) apply, and
lands on the documents page.
"""

from allauth.account.adapter import get_adapter
from allauth.account.internal.flows.login import record_authentication
from allauth.account.utils import perform_login
from django.contrib.auth import logout
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from guichet.documents import invitations
from guichet.documents.forms.activation import AccountPasswordForm, ActivationForm
from guichet.documents.invitations import InvitationError, InvitationErrorCode
from guichet.documents.models import Invitation
from guichet.identity.models import AccountKind, User

SESSION_KEY = "guichet_invitation"
WRONG_PASSWORD = _("The password is not correct.")


def _invalid(request: HttpRequest, error: InvitationError) -> HttpResponse:
    request.session.pop(SESSION_KEY, None)
    return render(request, "documents/activation/invalid.html", {"error": error})


def _log_in(request: HttpRequest, user: User) -> HttpResponse:
    """Opens the session through allauth: the login stages run, then the documents page."""
    record_authentication(request, user, method="password", username=user.user_id)
    return perform_login(request, user, redirect_url=reverse("documents:list"))


@require_GET
def activate_link(request: HttpRequest, token: str) -> HttpResponse:
    try:
        invitations.invitation_check(token)
    except InvitationError as error:
        return _invalid(request, error)
    # Whoever is logged on here stays so until they choose to switch (a link opened from another
    # site must not log anybody out: review finding); the form below asks them.
    request.session[SESSION_KEY] = token
    return redirect("documents:activate_form")


@require_POST
def activate_switch(request: HttpRequest) -> HttpResponse:
    """Logs out whoever is logged on, keeping the invitation, to go on with it."""
    token = request.session.get(SESSION_KEY, "")
    logout(request)
    if token:
        request.session[SESSION_KEY] = token
    return redirect("documents:activate_form")


@require_http_methods(["GET", "POST"])
def activate_form(request: HttpRequest) -> HttpResponse:
    token = request.session.get(SESSION_KEY, "")
    try:
        invitation = invitations.invitation_check(token)
    except InvitationError as error:
        return _invalid(request, error)
    account = invitations.existing_account(invitation)
    context = {"invitation": invitation, **invitations.invitation_subjects(invitation)}
    if request.user.is_authenticated:
        return render(request, "documents/activation/logged_on.html", context)
    if account is not None:
        return _log_on(request, token=token, account=account, context=context)
    return _choose_password(request, token=token, invitation=invitation, context=context)


def _choose_password(
    request: HttpRequest, *, token: str, invitation: Invitation, context: dict
) -> HttpResponse:
    user = User.objects.filter(user_id__iexact=invitation.email).first() or User(
        user_id=invitation.email, email=invitation.email, kind=AccountKind.CONSUMER
    )
    form = ActivationForm(request.POST or None, user=user)
    if request.method == "POST" and form.is_valid():
        try:
            user = invitations.account_activate(
                token=token,
                password=form.cleaned_data["password1"],
                hint=form.cleaned_data["hint"],
                request=request,
            )
        except ValidationError as error:
            form.add_error("password1", error)
        except InvitationError as error:
            if error.code == InvitationErrorCode.ACCOUNT_EXISTS:
                return redirect("documents:activate_form")  # activated meanwhile: log on instead
            return _invalid(request, error)
        else:
            request.session.pop(SESSION_KEY, None)
            return _log_in(request, user)
    return render(request, "documents/activation/password.html", {**context, "form": form})


def _log_on(request: HttpRequest, *, token: str, account: User, context: dict) -> HttpResponse:
    form = AccountPasswordForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            user = get_adapter(request).authenticate(
                request, username=account.user_id, password=form.cleaned_data["password"]
            )
        except ValidationError as error:  # locked, or too many attempts
            form.add_error("password", error)
        else:
            if user is None or user.pk != account.pk:
                form.add_error("password", WRONG_PASSWORD)
            else:
                try:
                    invitations.invitation_accept(token=token, user=user, request=request)
                except InvitationError as error:
                    return _invalid(request, error)
                request.session.pop(SESSION_KEY, None)
                return _log_in(request, user)
    return render(request, "documents/activation/log_on.html", {**context, "form": form, "account": account})


urlpatterns = [
    path("activate/", activate_form, name="activate_form"),
    path("activate/switch/", activate_switch, name="activate_switch"),
    path("activate/<str:token>/", activate_link, name="activate"),
]
