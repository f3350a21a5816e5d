"""The consumer pages of the pay-later space."""

app_name = "paylater"
urlpatterns: list = []
