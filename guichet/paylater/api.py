"""The order endpoint for the lender's systems (``/api/v1/paylater/``).

Machines only: ``Authorization: Bearer gpl_…`` (``paylater.clients``); a browser session, even a
staff one, is refused. A client sends the orders of its merchants only.

- ``POST orders/``: one order (a JSON object), several (a JSON array), or a batch as JSON lines
  (``application/x-ndjson``) or CSV (``text/csv``, a header row, ``;`` or ``,``). The same checks and
  outcomes as ``manage.py import_orders`` (``intake.orders_import``), one item per line; 200 when
  nothing was refused, 422 otherwise.
- ``POST orders/<merchant>/<number>/cancellation/``: ``{"amount": "20.00", "reference": "AV-12"}``
  or ``{"total": true, "reference": "AV-12"}`` cancels that much of the order (or all of it) and
  answers the readjusted schedule (``cancellation.order_cancel``); the same reference again answers
  the same readjustment and changes nothing.

Each call is audited with the client (never its key). See ``docs/paylater-intake.md``.
"""

import io
from decimal import Decimal, InvalidOperation
from typing import Any

from django.conf import settings
from django.db import transaction
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.plumbing import build_bearer_security_scheme_object
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.parsers import BaseParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from guichet.audit.services import record
from guichet.paylater import cancellation, clients, intake
from guichet.paylater.errors import PaylaterError
from guichet.paylater.models import Order, OrderClient, OrderSource, Schedule, ScheduleVersion


class RequestTooLarge(exceptions.APIException):
    status_code = status.HTTP_413_REQUEST_ENTITY_TOO_LARGE
    default_detail = gettext_lazy(
        "The request is too large: send large batches with manage.py import_orders."
    )
    default_code = "too_large"


def max_request_bytes() -> int:
    return settings.GUICHET_PAYLATER_MAX_REQUEST_BYTES


def max_request_lines() -> int:
    return settings.GUICHET_PAYLATER_MAX_REQUEST_LINES


CANCELLATION_MAX_BYTES = 16 * 1024


# --- Parsers: the body as bytes, read up to the size limit ------------------------------------------


class _BodyParser(BaseParser):
    """The body untouched (``(kind, bytes)``): decimals must stay exact, so no float ever reads it."""

    kind = ""

    def parse(
        self, stream: Any, media_type: str | None = None, parser_context: Any = None
    ) -> tuple[str, bytes]:
        limit = max_request_bytes()
        content = stream.read(limit + 1) if stream is not None else b""
        if len(content) > limit:
            raise RequestTooLarge()
        return self.kind, content


class JsonBodyParser(_BodyParser):
    media_type = "application/json"
    kind = "json"


class JsonLinesParser(_BodyParser):
    media_type = "application/x-ndjson"
    kind = "jsonl"


class JsonLinesAltParser(JsonLinesParser):
    media_type = "application/jsonl"


class CsvParser(_BodyParser):
    media_type = "text/csv"
    kind = "csv"


class OrderKeyScheme(OpenApiAuthenticationExtension):
    target_class = "guichet.paylater.clients.OrderClientKeyAuthentication"
    name = "orderKey"

    def get_security_definition(self, auto_schema: Any) -> dict[str, Any]:
        scheme = build_bearer_security_scheme_object(header_name="Authorization", token_prefix="Bearer")  # noqa: S106
        scheme["description"] = "An order client's key, gpl_…, created with manage.py order_client."
        return scheme


# --- Schemas --------------------------------------------------------------------------------------


class OrderLinePayloadSerializer(serializers.Serializer):
    """An order as sent (documentation only: the intake checks the lines itself)."""

    merchant = serializers.CharField(help_text="The merchant's code.")
    order_number = serializers.CharField(max_length=40)
    email = serializers.EmailField()
    purchase_date = serializers.DateField()
    purchase_amount = serializers.DecimalField(max_digits=12, decimal_places=2, coerce_to_string=True)
    fees = serializers.DecimalField(max_digits=12, decimal_places=2, required=False, default="0.00")
    currency = serializers.CharField(required=False, default="EUR")
    instalments = serializers.ChoiceField(choices=[3, 4])
    phone = serializers.CharField(required=False, help_text="Mobile number, E.164 (+32470123456).")
    first_name = serializers.CharField()
    last_name = serializers.CharField()
    language = serializers.ChoiceField(choices=list(intake.LANGUAGES))
    card_token = serializers.CharField(help_text="The payment provider's token. Never a card number.")
    card_brand = serializers.ChoiceField(choices=["visa", "mastercard"])
    card_last4 = serializers.CharField(min_length=4, max_length=4)
    card_expiry = serializers.CharField(help_text="MM/YYYY")
    first_instalment_paid = serializers.BooleanField(required=False, default=True)


class OrderImportItemSerializer(serializers.Serializer):
    line = serializers.CharField(help_text="The line number (JSON lines, CSV) or the position (JSON).")
    outcome = serializers.ChoiceField(choices=[outcome.value for outcome in intake.Outcome])
    reason = serializers.CharField(allow_blank=True)
    order_number = serializers.CharField(allow_blank=True)
    order = serializers.IntegerField(allow_null=True, help_text="The stored order's ID.")


class OrderImportResultSerializer(serializers.Serializer):
    imported = serializers.IntegerField()
    already = serializers.IntegerField()
    refused = serializers.IntegerField()
    items = OrderImportItemSerializer(many=True)


class OrderCancellationRequestSerializer(serializers.Serializer):
    amount = serializers.DecimalField(
        max_digits=12, decimal_places=2, required=False, help_text="The amount cancelled, as a string."
    )
    total = serializers.BooleanField(required=False, help_text="true: cancel all that is left.")
    reference = serializers.CharField(max_length=100, help_text="The merchant's reference (a credit note).")


class PaylaterInstalmentSerializer(serializers.Serializer):
    number = serializers.IntegerField()
    due_date = serializers.DateField()
    amount = serializers.CharField()
    status = serializers.CharField()


class PaylaterScheduleSerializer(serializers.Serializer):
    merchant = serializers.CharField()
    order_number = serializers.CharField()
    currency = serializers.CharField()
    purchase_amount = serializers.CharField()
    cancelled_amount = serializers.CharField(help_text="All that was cancelled of the order so far.")
    status = serializers.CharField()
    version = serializers.IntegerField()
    instalments = PaylaterInstalmentSerializer(many=True)
    readjustment = serializers.DictField(
        help_text="This cancellation: reason, amount, card refund, previous."
    )


# --- Orders ---------------------------------------------------------------------------------------


class Orders(APIView):
    """Receive orders from the lender's systems (machine clients only)."""

    authentication_classes = [clients.OrderClientKeyAuthentication]
    permission_classes = [clients.IsOrderClient]
    parser_classes = [JsonBodyParser, JsonLinesParser, JsonLinesAltParser, CsvParser]

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        _length_check(request, max_request_bytes())

    @extend_schema(
        request={
            "application/json": OrderLinePayloadSerializer,
            "application/x-ndjson": OpenApiTypes.STR,
            "text/csv": OpenApiTypes.STR,
        },
        responses={
            200: OrderImportResultSerializer,
            422: OpenApiResponse(
                OrderImportResultSerializer, description="Some lines were refused (see items)."
            ),
            400: OpenApiResponse(description="Nothing to import, or a body that cannot be read."),
            401: OpenApiResponse(description="No key, or an unknown or deactivated key."),
            403: OpenApiResponse(description="A browser session instead of an order key."),
            413: OpenApiResponse(description="The request is too large."),
        },
        examples=[
            OpenApiExample(
                "One order",
                request_only=True,
                media_type="application/json",
                value={
                    "merchant": "maison-lumiere",
                    "order_number": "CMD-2026-0001",
                    "email": "camille.martin@example.com",
                    "purchase_date": "2026-03-02",
                    "purchase_amount": "127.96",
                    "instalments": 3,
                    "phone": "+32470123456",
                    "first_name": "Camille",
                    "last_name": "Martin",
                    "language": "fr",
                    "card_token": "tok_test_visa_4242",
                    "card_brand": "visa",
                    "card_last4": "4242",
                    "card_expiry": "12/2030",
                },
            )
        ],
    )
    def post(self, request: Request) -> Response:
        client: OrderClient = request.auth
        rows = _rows(request.data)
        items: list[intake.Item] = []
        totals = intake.orders_import(
            rows=rows, source=OrderSource.API, on_item=items.append, client=client, request=request._request
        )
        with transaction.atomic():
            clients.order_client_touch(client=client)
            record(
                action="paylater.orders_call",
                target=client,
                request=request._request,
                details={
                    "lines": totals.total,
                    "imported": totals.imported,
                    "already": totals.already,
                    "refused": totals.refused,
                },
            )
        body = {
            "imported": totals.imported,
            "already": totals.already,
            "refused": totals.refused,
            "items": [
                {
                    "line": item.line,
                    "outcome": str(item.outcome),
                    "reason": item.reason,
                    "order_number": item.order_number,
                    "order": item.order,
                }
                for item in items
            ],
        }
        return Response(
            body, status=status.HTTP_422_UNPROCESSABLE_ENTITY if totals.refused else status.HTTP_200_OK
        )


def _length_check(request: Request, limit: int) -> None:
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        length = 0
    if length > limit:
        raise RequestTooLarge()


def _text(content: bytes) -> str:
    try:
        return content.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise exceptions.ParseError(_("The body is not UTF-8.")) from None


def _rows(data: Any) -> list[intake.Row]:
    """The lines of the body, at most ``max_request_lines()`` of them (a larger batch is a file)."""
    if not isinstance(data, tuple) or not data[1].strip():
        raise exceptions.ParseError(_("Send one order (JSON), an array of orders, JSON lines or CSV."))
    kind, content = data
    text = _text(content)
    if kind == "json":
        return _json_rows(text)
    if text.count("\n") > max_request_lines() + 1:
        raise RequestTooLarge()
    lines = io.StringIO(text, newline="")
    return list(intake.csv_rows(lines) if kind == "csv" else intake.jsonl_rows(lines))


def _json_rows(text: str) -> list[intake.Row]:
    try:
        value = intake.json_value(text)
    except ValueError:
        detail = (
            intake.card_number_refusal()
            if intake.looks_like_card_number(text)
            else _("The body is not valid JSON.")
        )
        raise exceptions.ParseError(detail) from None
    if isinstance(value, list):
        if len(value) > max_request_lines():
            raise RequestTooLarge()
        return [intake.json_item_row(str(index), item) for index, item in enumerate(value, start=1)]
    return [intake.json_item_row("1", value)]


# --- Cancellation ---------------------------------------------------------------------------------


class Cancellation(APIView):
    """Cancel an order in part or in full; answers the readjusted schedule."""

    authentication_classes = [clients.OrderClientKeyAuthentication]
    permission_classes = [clients.IsOrderClient]
    parser_classes = [JsonBodyParser]

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        _length_check(request, CANCELLATION_MAX_BYTES)

    @extend_schema(
        request=OrderCancellationRequestSerializer,
        responses={
            200: PaylaterScheduleSerializer,
            400: OpenApiResponse(description="A malformed body: amount or total, and a reference."),
            401: OpenApiResponse(description="No key, or an unknown or deactivated key."),
            403: OpenApiResponse(description="A browser session instead of an order key."),
            404: OpenApiResponse(description="No such order among this client's merchants."),
            409: OpenApiResponse(description="The reference was used for another cancellation."),
            422: OpenApiResponse(
                description="The amount is more than what is left, or the order is cancelled."
            ),
        },
        examples=[
            OpenApiExample(
                "Partial", request_only=True, value={"amount": "20.00", "reference": "AV-2026-12"}
            ),
            OpenApiExample("Total", request_only=True, value={"total": True, "reference": "AV-2026-13"}),
        ],
    )
    def post(self, request: Request, merchant: str, number: str) -> Response:
        client: OrderClient = request.auth
        order = _order_of(client, merchant, number)
        amount, reference = _cancellation_request(request.data)
        try:
            version = cancellation.order_cancel(
                order=order, amount=amount, reference=reference, client=client, request=request._request
            )
        except PaylaterError as error:
            return Response({"code": str(error.code), "detail": error.message}, status=422)
        except cancellation.CancellationConflict as conflict:
            return Response({"code": "reference_reused", "detail": conflict.message}, status=409)
        with transaction.atomic():
            clients.order_client_touch(client=client)
        return Response(
            schedule_body(
                Schedule.objects.select_related("order__merchant").get(pk=version.schedule_id), version
            )
        )


def _order_of(client: OrderClient, merchant: str, number: str) -> Order:
    """The order, if it is one of the client's merchants'; any other is not found (nothing told)."""
    order = Order.objects.filter(
        merchant__code=merchant, number=number, merchant__in=client.merchants.all()
    ).first()
    if order is None:
        raise exceptions.NotFound(_("No such order among the merchants of this key."))
    return order


def _cancellation_request(data: Any) -> tuple[Decimal | None, str]:
    if not isinstance(data, tuple) or not data[1].strip():
        raise exceptions.ParseError(_('Send {"amount": "20.00"} or {"total": true}, with a "reference".'))
    try:
        body = intake.json_value(_text(data[1]))
    except ValueError:
        raise exceptions.ParseError(_("The body is not valid JSON.")) from None
    if not isinstance(body, dict) or set(body) - {"amount", "total", "reference"}:
        raise exceptions.ParseError(_('Send {"amount": "20.00"} or {"total": true}, with a "reference".'))
    reference = body.get("reference")
    if not isinstance(reference, str) or not 0 < len(reference.strip()) <= 100:
        raise exceptions.ParseError(_("reference: the merchant's reference, 1 to 100 characters."))
    if intake.looks_like_card_number(reference):
        raise exceptions.ParseError(intake.card_number_refusal())
    total, amount = body.get("total"), body.get("amount")
    if total is True and amount is None:
        return None, reference
    if total not in (None, False) or amount is None:
        raise exceptions.ParseError(_('Send either "amount" or "total": true.'))
    try:
        value = (
            Decimal(amount)
            if isinstance(amount, str | int | Decimal) and not isinstance(amount, bool)
            else None
        )
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite():
        raise exceptions.ParseError(_("amount: an amount such as 20.00."))
    return value, reference


def schedule_body(schedule: Schedule, version: ScheduleVersion) -> dict[str, Any]:
    """The readjusted schedule as JSON, with the readjustment and the table it replaced."""
    order = schedule.order
    return {
        "merchant": order.merchant.code,
        "order_number": order.number,
        "currency": order.currency,
        "purchase_amount": str(order.purchase_amount),
        "cancelled_amount": str(order.cancelled_amount),
        "status": schedule.status,
        "version": schedule.version,
        "instalments": [
            {
                "number": instalment.number,
                "due_date": instalment.due_date.isoformat(),
                "amount": str(instalment.amount),
                "status": instalment.status,
            }
            for instalment in schedule.instalments.order_by("number")
        ],
        "readjustment": {
            "reason": version.reason,
            "cancelled_amount": str(version.cancelled_amount),
            "card_refund": str(version.card_refund),
            "previous_version": version.number,
            "previous_instalments": version.instalments,
        },
    }


urlpatterns = [
    path("orders/", Orders.as_view(), name="orders"),
    path(
        "orders/<slug:merchant>/<str:number>/cancellation/", Cancellation.as_view(), name="order_cancellation"
    ),
]
