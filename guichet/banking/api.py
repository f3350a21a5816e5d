"""The read API of business clients (Django REST framework, ``/api/v1/``, session authentication).

Same selectors as the pages, so the same rights (``entities.access``): a list shows what the
user may consult; another entity's ID, or one without the right, answers 404.
Transactions are paginated by keyset like the page: ``next`` and ``previous`` are full URLs.
"""

from typing import Any

from django.http import Http404
from django.urls import path
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import generics, serializers
from rest_framework.exceptions import ValidationError
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from guichet.banking import selectors
from guichet.banking.forms.consultation import TransactionFilterForm
from guichet.banking.models import Transaction
from guichet.entities.models import BankAccount, Contract, Entity


class EntitySerializer(serializers.ModelSerializer):
    class Meta:
        model = Entity
        fields = ["id", "name"]


class AccountSerializer(serializers.ModelSerializer):
    entity = EntitySerializer(read_only=True)

    class Meta:
        model = BankAccount
        fields = ["id", "entity", "label", "iban", "bic", "currency", "balance", "balance_at"]


class ContractSerializer(serializers.ModelSerializer):
    entity = EntitySerializer(read_only=True)

    class Meta:
        model = Contract
        fields = ["id", "entity", "kind", "reference", "label", "started_on", "details"]


class TransactionSerializer(serializers.ModelSerializer):
    class Meta:
        model = Transaction
        fields = [
            "id",
            "booking_date",
            "value_date",
            "amount",
            "currency",
            "counterparty_name",
            "counterparty_iban",
            "description",
            "reference",
        ]


class TransactionPageSerializer(serializers.Serializer):
    next = serializers.URLField(allow_null=True, help_text="The older transactions.")
    previous = serializers.URLField(allow_null=True, help_text="The newer transactions.")
    results = TransactionSerializer(many=True)


class AccountList(generics.ListAPIView):
    """The accounts the user may consult, with their balance."""

    serializer_class = AccountSerializer

    def get_queryset(self) -> Any:
        return selectors.accounts_visible(user=self.request.user)


class ContractList(generics.ListAPIView):
    """The contracts the user may consult."""

    serializer_class = ContractSerializer

    def get_queryset(self) -> Any:
        return selectors.contracts_visible(user=self.request.user)


_FILTERS = [
    OpenApiParameter("date_from", OpenApiTypes.DATE, description="Booked on or after (YYYY-MM-DD)."),
    OpenApiParameter("date_to", OpenApiTypes.DATE, description="Booked on or before (YYYY-MM-DD)."),
    OpenApiParameter("amount_min", OpenApiTypes.DECIMAL, description="Minimum absolute amount."),
    OpenApiParameter("amount_max", OpenApiTypes.DECIMAL, description="Maximum absolute amount."),
    OpenApiParameter("direction", OpenApiTypes.STR, enum=["debits", "credits"]),
    OpenApiParameter("text", OpenApiTypes.STR, description="In the counterparty, description or reference."),
    OpenApiParameter("after", OpenApiTypes.STR, description="Cursor: the page after (from `next`)."),
    OpenApiParameter("before", OpenApiTypes.STR, description="Cursor: the page before (from `previous`)."),
]


class AccountTransactions(APIView):
    """An account's transactions, newest first, with the filters of the page."""

    @extend_schema(parameters=_FILTERS, responses=TransactionPageSerializer)
    def get(self, request: Request, account_id: int) -> Response:
        try:
            account = selectors.account_get(user=request.user, account_id=account_id)
        except selectors.NotFound:
            raise Http404 from None
        # Plain decimals with a dot in the API, whatever the language negotiated.
        form = TransactionFilterForm(request.query_params)
        for name in ("amount_min", "amount_max"):
            form.fields[name].localize = False
        if not form.is_valid():
            raise ValidationError(form.errors.get_json_data())
        page = selectors.transactions_page(
            selectors.transactions_filtered(account=account, filters=form.filters()),
            after=selectors.Cursor.parse(request.query_params.get("after")),
            before=selectors.Cursor.parse(request.query_params.get("before")),
        )
        return Response(
            {
                "next": self._link(request, after=page.older),
                "previous": self._link(request, before=page.newer),
                "results": TransactionSerializer(page.items, many=True).data,
            }
        )

    @staticmethod
    def _link(request: Request, **cursor: selectors.Cursor | None) -> str | None:
        ((key, value),) = cursor.items()
        if value is None:
            return None
        query = request.query_params.copy()
        query.pop("after", None)
        query.pop("before", None)
        query[key] = str(value)
        return request.build_absolute_uri(f"{request.path}?{query.urlencode()}")


urlpatterns: list = [
    path("accounts/", AccountList.as_view(), name="accounts"),
    path(
        "accounts/<int:account_id>/transactions/", AccountTransactions.as_view(), name="account_transactions"
    ),
    path("contracts/", ContractList.as_view(), name="contracts"),
]
