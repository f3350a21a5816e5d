"""Consumers' "First login" (seed 003): the e-mail given at purchase, then allauth's reset by code.

The identifier of a consumer is that e-mail address. The page explains it,
then hands over to allauth's password reset by code, which answers the
same for unknown addresses (ACCOUNT_PREVENT_ENUMERATION) and sends nothing
to them (ACCOUNT_EMAIL_UNKNOWN_ACCOUNTS = False). "Forgot password" is
allauth's own ``account_reset_password`` with the same form.
"""

from allauth.core import ratelimit
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.views.decorators.http import require_http_methods

from guichet.identity.forms.consumer import ConsumerResetPasswordForm
from guichet.identity.timing import steady_post


@require_http_methods(["GET", "POST"])
@steady_post
def consumer_first_login(request: HttpRequest) -> HttpResponse:
    form = ConsumerResetPasswordForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        # The same action and key as allauth's "Forgot password": one budget for both.
        if not ratelimit.consume(request, action="reset_password", key=form.cleaned_data["email"].lower()):
            return render(request, "identity/recovery/too_many.html", status=429)
        form.save(request, first_login=True)
        return redirect("account_confirm_password_reset_code")
    return render(request, "identity/consumer/first_login.html", {"form": form})


urlpatterns = [
    path("", consumer_first_login, name="consumer_first_login"),
]
