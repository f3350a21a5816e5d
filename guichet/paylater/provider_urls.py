"""The payment provider's notifications endpoint."""

urlpatterns: list = []
