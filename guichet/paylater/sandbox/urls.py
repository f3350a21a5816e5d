"""The sandbox provider's pages, mounted at ``/sandbox-provider/`` only when GUICHET_PAYMENT_SANDBOX is on."""

from django.urls import path

from guichet.paylater.sandbox import views

app_name = "paylater_sandbox"
urlpatterns = [
    path("sessions/<str:session_id>/", views.card_page, name="card"),
]
