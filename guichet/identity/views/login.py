"""allauth's login view, plus "Remember my user ID on this device".

Only the identifier is remembered, in its own cookie: the session itself is
never persistent (ACCOUNT_SESSION_REMEMBER = False).
"""

from allauth.account.views import LoginView as AllauthLoginView
from django.http import HttpResponse

REMEMBER_COOKIE = "guichet_user_id"
REMEMBER_MAX_AGE = 365 * 24 * 3600
MAX_IDENTIFIER_LENGTH = 150


class LoginView(AllauthLoginView):
    def get_initial(self) -> dict:
        initial = super().get_initial()
        remembered = self.request.COOKIES.get(REMEMBER_COOKIE, "")[:MAX_IDENTIFIER_LENGTH]
        if remembered:
            initial.update(login=remembered, remember=True)
        return initial

    def form_valid(self, form) -> HttpResponse:
        response = super().form_valid(form)
        if form.cleaned_data.get("remember"):
            response.set_cookie(
                REMEMBER_COOKIE,
                form.cleaned_data["login"],
                max_age=REMEMBER_MAX_AGE,
                secure=True,
                httponly=True,
                samesite="Lax",
            )
        else:
            response.delete_cookie(REMEMBER_COOKIE, samesite="Lax")
        return response


login = LoginView.as_view()
