from allauth.mfa.base import views as mfa_views
from django.conf import settings
from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView

from guichet.identity import urls as identity_urls
from guichet.web import views as web_views

handler400 = "guichet.web.views.bad_request"
handler403 = "guichet.web.views.permission_denied"
handler404 = "guichet.web.views.page_not_found"
handler500 = "guichet.web.views.server_error"
handler429 = "guichet.web.views.too_many_requests"

urlpatterns = [
    path("healthz", web_views.healthz, name="healthz"),
    path("i18n/setlang/", web_views.set_language, name="set_language"),
    path("backoffice/", admin.site.urls),
    path("", include("guichet.notifications.urls")),
    path("api/v1/", include(("guichet.banking.api", "api"), namespace="api")),
    path("api/v1/intake/", include(("guichet.documents.api", "intake"), namespace="intake")),
    path("api/v1/paylater/", include(("guichet.paylater.api", "paylater_api"), namespace="paylater_api")),
    path("api/schema/", SpectacularAPIView.as_view(), name="api_schema"),
    # The payment provider's signed notifications (server to server).
    path("paylater/provider/", include("guichet.paylater.provider_urls")),
]
if settings.GUICHET_PAYMENT_SANDBOX:
    # The sandbox payment provider's own pages (demo and tests only; see docs/payments.md).
    urlpatterns.append(path("sandbox-provider/", include("guichet.paylater.sandbox.urls")))

urlpatterns += i18n_patterns(
    path("", web_views.home, name="home"),
    path("accounts/", include(identity_urls.allauth_urlpatterns)),
    path("accounts/", include(identity_urls)),
    # Only allauth's second-factor steps: enrolment and management are ours
    # (identity.views.sca_enrol and .authenticators), with audit and policy.
    path("accounts/2fa/authenticate/", mfa_views.authenticate, name="mfa_authenticate"),
    path("accounts/2fa/reauthenticate/", mfa_views.reauthenticate, name="mfa_reauthenticate"),
    path("help/", include("guichet.help.urls")),
    path("business/", include("guichet.entities.urls")),
    path("business/", include("guichet.banking.urls")),
    path("documents/", include("guichet.documents.urls")),
    path("paylater/", include("guichet.paylater.urls")),
    prefix_default_language=True,
)
