"""The "I am a new user" journey (seed 002, MyUnifiedPost): the activation code → the company name
and the e-mail address to confirm (with the future user ID) → an e-mail with a link → a password →
logged on, on the documents page of that customer number.

The code found at the first step is kept in the session by its id, never
itself; the link's token moves into the session at once (out of the URL, the
history and the Referer), as on the activation page. The services
(``documents.enrolment``) check everything again at each step.
"""

from allauth.account.internal.flows.login import record_authentication
from allauth.account.utils import perform_login
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from guichet.documents import codes, enrolment
from guichet.documents.codes import CodeError
from guichet.documents.enrolment import EnrolmentError, EnrolmentErrorCode
from guichet.documents.forms.activation import ActivationForm
from guichet.documents.forms.enrolment import ActivationCodeForm, EnrolmentEmailForm
from guichet.documents.models import ActivationCode
from guichet.identity.models import User

CODE_KEY = "guichet_enrolment_code"
SENT_KEY = "guichet_enrolment_sent"
LINK_KEY = "guichet_enrolment_link"


def _refused(request: HttpRequest, message: str, *, status: int = 200) -> HttpResponse:
    """The journey cannot go on: why, and where to start again."""
    for key in (CODE_KEY, LINK_KEY):
        request.session.pop(key, None)
    return render(request, "documents/enrolment/refused.html", {"message": message}, status=status)


@never_cache
@require_http_methods(["GET", "POST"])
def enrol_code(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        # An account adds its codes on its own page.
        return redirect("documents:activation_code_add")
    form = ActivationCodeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            found = codes.activation_code_check(code=form.cleaned_data["code"], request=request)
        except CodeError as refusal:
            form.add_error("code", refusal.message)
        else:
            request.session[CODE_KEY] = found.pk
            return redirect("documents:enrol_confirm")
    return render(request, "documents/enrolment/code.html", {"form": form})


def _identity_context(found: ActivationCode, email: str) -> dict:
    _kind, user_id = enrolment.future_user_id(customer_number=found.customer_number, email=email)
    if user_id == email.strip().lower():
        login = "email"
    elif user_id.startswith("BE"):
        login = "company"
    else:
        login = "generated"
    return {"user_id": user_id, "login": login}


@never_cache
@require_http_methods(["GET", "POST"])
def enrol_confirm(request: HttpRequest) -> HttpResponse:
    try:
        found = enrolment.enrolment_code(activation_code_id=request.session.get(CODE_KEY))
    except CodeError as refusal:
        if refusal.code == codes.CodeErrorCode.INVALID:
            return redirect("documents:enrol_code")
        return _refused(request, refusal.message)
    number = found.customer_number
    form = EnrolmentEmailForm(request.POST or None, initial={"email": number.contact_email})
    if request.method == "POST" and form.is_valid():
        try:
            enrolment.enrolment_start(
                activation_code=found,
                email=form.cleaned_data["email"],
                language=request.LANGUAGE_CODE,
                request=request,
            )
        except CodeError as refusal:
            return _refused(request, refusal.message)
        except EnrolmentError as refusal:
            field = "email" if refusal.code == EnrolmentErrorCode.INVALID_EMAIL else None
            form.add_error(field, refusal.message)
        else:
            request.session.pop(CODE_KEY, None)
            request.session[SENT_KEY] = form.cleaned_data["email"]
            return redirect("documents:enrol_sent")
    email = form.cleaned_data["email"] if form.is_bound and form.is_valid() else number.contact_email
    context = {"form": form, "number": number, **_identity_context(found, email)}
    return render(request, "documents/enrolment/confirm.html", context)


@never_cache
@require_GET
def enrol_sent(request: HttpRequest) -> HttpResponse:
    email = request.session.get(SENT_KEY)
    if not email:
        return redirect("documents:enrol_code")
    return render(request, "documents/enrolment/sent.html", {"email": email})


def _logged_on(request: HttpRequest) -> HttpResponse:
    """A link opened in a logged-on session creates no account and switches no session: a link sent
    by someone else must not log the user into an account they did not choose (review finding)."""
    request.session.pop(LINK_KEY, None)
    message = _("You are logged on. To create a new account, log off first, then open the link again.")
    # 200, not 403: Django logs the path of a 4xx response, and this one carries the link's token.
    return render(request, "documents/enrolment/refused.html", {"message": message})


@never_cache
@require_GET
def enrol_link(request: HttpRequest, token: str) -> HttpResponse:
    try:
        enrolment.enrolment_check(token)
    except (CodeError, EnrolmentError) as refusal:
        return _refused(request, refusal.message)
    if request.user.is_authenticated:
        return _logged_on(request)
    request.session[LINK_KEY] = token
    return redirect("documents:enrol_password")


def _log_in(request: HttpRequest, user: User) -> HttpResponse:
    """Opens the session through allauth: the login stages run, then the documents page."""
    record_authentication(request, user, method="password", username=user.user_id)
    return perform_login(request, user, redirect_url=reverse("documents:list"))


@never_cache
@require_http_methods(["GET", "POST"])
def enrol_password(request: HttpRequest) -> HttpResponse:
    if request.user.is_authenticated:
        return _logged_on(request)
    token = request.session.get(LINK_KEY, "")
    try:
        invitation, _code = enrolment.enrolment_check(token)
    except (CodeError, EnrolmentError) as refusal:
        return _refused(request, refusal.message)
    number = invitation.customer_number
    kind, user_id = enrolment.future_user_id(customer_number=number, email=invitation.email)
    future = User(
        user_id=user_id, email=invitation.email, kind=kind
    )  # unsaved: the password policy's subject
    form = ActivationForm(request.POST or None, user=future)
    if request.method == "POST" and form.is_valid():
        try:
            user = enrolment.enrolment_complete(
                token=token,
                password=form.cleaned_data["password1"],
                hint=form.cleaned_data["hint"],
                request=request,
            )
        except ValidationError as error:
            form.add_error("password1", error)
        except (CodeError, EnrolmentError) as refusal:
            return _refused(request, refusal.message)
        else:
            request.session.pop(LINK_KEY, None)
            return _log_in(request, user)
    context = {"form": form, "number": number, "user_id": user_id, "email": invitation.email}
    return render(request, "documents/enrolment/password.html", context)


urlpatterns = [
    path("new-user/", enrol_code, name="enrol_code"),
    path("new-user/confirm/", enrol_confirm, name="enrol_confirm"),
    path("new-user/sent/", enrol_sent, name="enrol_sent"),
    path("new-user/password/", enrol_password, name="enrol_password"),
    path("new-user/link/<str:token>/", enrol_link, name="enrol_link"),
]
