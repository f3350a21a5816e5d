from django.conf.urls.i18n import i18n_patterns
from django.contrib import admin
from django.urls import include, path

from guichet.web import views as web_views

handler400 = "guichet.web.views.bad_request"
handler403 = "guichet.web.views.permission_denied"
handler404 = "guichet.web.views.page_not_found"
handler500 = "guichet.web.views.server_error"

urlpatterns = [
    path("healthz", web_views.healthz, name="healthz"),
    path("i18n/setlang/", web_views.set_language, name="set_language"),
    path("backoffice/", admin.site.urls),
    path("", include("guichet.notifications.urls")),
]

urlpatterns += i18n_patterns(
    path("", web_views.home, name="home"),
    path("help/", include("guichet.help.urls")),
    prefix_default_language=True,
)
