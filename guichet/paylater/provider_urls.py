"""The payment provider's notifications endpoint (``/paylater/provider/``, not translated, no namespace)."""

from django.urls import path

from guichet.paylater import provider_views

urlpatterns = [
    path("notifications/", provider_views.notifications, name="paylater_provider_notifications"),
]
