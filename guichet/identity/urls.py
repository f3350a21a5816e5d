"""Identity URLs: allauth's login, logout and consumer password reset (a chosen
subset: no sign-up, no e-mail management), and Guichet's own steps."""

from allauth.account import views as allauth_views
from django.urls import include, path

from guichet.identity.timing import steady_post
from guichet.identity.views import (
    authenticators,
    consumer,
    login,
    onboarding,
    recovery,
    reenrol,
    sca_enrol,
    security,
    signing,
)

app_name = "identity"

# Outside the "identity" namespace: allauth reverses these names.
allauth_urlpatterns = [
    path("login/", login.login, name="account_login"),
    path("logout/", allauth_views.logout, name="account_logout"),
    path("inactive/", allauth_views.account_inactive, name="account_inactive"),
    path("reauthenticate/", allauth_views.reauthenticate, name="account_reauthenticate"),
    path("password/change/", allauth_views.password_change, name="account_change_password"),
    path("password/reset/", steady_post(allauth_views.password_reset), name="account_reset_password"),
    path("password/reset/done/", allauth_views.password_reset_done, name="account_reset_password_done"),
    path(
        "password/reset/code/",
        steady_post(allauth_views.confirm_password_reset_code),
        name="account_confirm_password_reset_code",
    ),
    path(
        "password/reset/complete/",
        allauth_views.complete_password_reset,
        name="account_complete_password_reset",
    ),
    path(
        "password/reset/completed/",
        allauth_views.password_reset_from_key_done,
        name="account_password_reset_completed",
    ),
]

urlpatterns = [
    path("onboarding/", include(onboarding.urlpatterns)),
    path("security/", include(security.urlpatterns)),
    path("recovery/", include(recovery.urlpatterns)),
    path("first-login/", include(consumer.urlpatterns)),
    path("sign/", include(signing.urlpatterns)),
    path("sca/", include(sca_enrol.urlpatterns)),
    path("security/authenticators/", include(authenticators.urlpatterns)),
    path("reenrol/", include(reenrol.urlpatterns)),
]
