"""The lender systems' order endpoint (written by the intake work)."""

urlpatterns: list = []
