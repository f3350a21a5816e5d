"""The consumer pages of the pay-later space (``/<lang>/paylater/``)."""

from django.urls import path

from guichet.paylater.views import card, regularise, schedules

app_name = "paylater"
urlpatterns = [
    path("", schedules.schedules, name="schedules"),
    path("finished/", schedules.finished, name="finished"),
    path("<int:pk>/", schedules.schedule, name="schedule"),
    path("<int:pk>/card/", card.card_change, name="card_change"),
    path("card/return/", card.card_return, name="card_return"),
    path("card/<uuid:setup>/confirm/", card.card_confirm, name="card_confirm"),
    path("<int:pk>/regularise/", regularise.regularise, name="regularise"),
    path("<int:pk>/regularise/confirm/", regularise.regularise_confirm, name="regularise_confirm"),
    path("regularise/return/", regularise.regularise_return, name="regularise_return"),
]
