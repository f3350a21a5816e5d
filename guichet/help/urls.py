from django.urls import path

from guichet.help import views

app_name = "help"
urlpatterns = [
    path("", views.index, name="index"),
    path("troubleshooting/", views.troubleshooting, name="troubleshooting"),
    path("browsers/", views.browsers, name="browsers"),
    path("contact/", views.contact, name="contact"),
    path("contact/sent/", views.contact_sent, name="contact_sent"),
]
