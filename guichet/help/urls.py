from django.urls import path

from guichet.help import views

app_name = "help"
urlpatterns = [
    path("", views.index, name="index"),
    path("contact/", views.index, name="contact"),
    path("browsers/", views.index, name="browsers"),
]
