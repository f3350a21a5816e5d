from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _
from django.views.decorators.http import require_GET, require_http_methods

from guichet.audit.services import client_ip
from guichet.help import ratelimit
from guichet.help.channels import institution_now
from guichet.help.forms import ContactForm
from guichet.help.selectors import contact_schedule
from guichet.help.services import contact_message_submit

# The tracking number of the message just sent, shown once on the thank-you page.
SENT_SESSION_KEY = "help_contact_sent"
TOO_MANY = _(
    "You have sent several messages in a short time. Please try again later, or use another channel."
)


@require_GET
def index(request: HttpRequest) -> HttpResponse:
    return render(request, "help/index.html")


@require_GET
def troubleshooting(request: HttpRequest) -> HttpResponse:
    return render(request, "help/troubleshooting.html")


@require_GET
def browsers(request: HttpRequest) -> HttpResponse:
    return render(request, "help/browsers.html")


def _render_contact(request: HttpRequest, form: ContactForm, status: int = 200) -> HttpResponse:
    context = {
        "form": form,
        "schedule": contact_schedule(now=institution_now()),
        "support_email": settings.GUICHET_SUPPORT_EMAIL,
        "support_phone": settings.GUICHET_SUPPORT_PHONE,
    }
    return render(request, "help/contact.html", context, status=status)


@require_http_methods(["GET", "POST"])
def contact(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return _render_contact(request, ContactForm())
    form = ContactForm(request.POST)
    if not form.is_valid():
        return _render_contact(request, form)
    if form.is_bot:
        return redirect("help:contact_sent")  # pretend success; store and send nothing
    data = form.cleaned_data
    if not ratelimit.contact_allowed(address=client_ip(request) or "", email=data["email"]):
        form.add_error(None, TOO_MANY)
        return _render_contact(request, form, status=429)
    message = contact_message_submit(
        name=data["name"],
        email=data["email"],
        topic=data["topic"],
        message=data["message"],
        reference=data["reference"],
        language=get_language(),
        request=request,
    )
    request.session[SENT_SESSION_KEY] = message.tracking_number
    return redirect("help:contact_sent")


@require_GET
def contact_sent(request: HttpRequest) -> HttpResponse:
    tracking_number = request.session.pop(SENT_SESSION_KEY, "")
    return render(request, "help/contact_sent.html", {"tracking_number": tracking_number})
