"""The sandbox provider's pages."""

app_name = "paylater_sandbox"
urlpatterns: list = []
