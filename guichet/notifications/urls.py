from django.urls import path

from guichet.notifications import views

app_name = "notifications"

urlpatterns = [
    path("dev/outbox/", views.outbox, name="outbox"),
    path("dev/outbox.json", views.outbox_json, name="outbox_json"),
]
