from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from guichet.paylater import clients
from guichet.paylater.models import Merchant, OrderClient


class Command(BaseCommand):
    help = (
        "Manages the lender's systems allowed to call the order endpoint: `create --name NAME --merchant "
        "CODE…` prints the new key once (it is not kept: only its HMAC is); `deactivate ID` stops a key at "
        "once; `list` shows the clients. See docs/paylater-intake.md."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        create = actions.add_parser("create", help="Create a client and print its key once.")
        create.add_argument("--name", required=True)
        create.add_argument(
            "--merchant", action="append", required=True, metavar="CODE", help="A merchant's code (repeat)."
        )
        deactivate = actions.add_parser("deactivate", help="Deactivate a client: its key stops working.")
        deactivate.add_argument("client_id", type=int)
        actions.add_parser("list", help="The clients, their merchants and state (never their keys).")

    def handle(self, *args: Any, **options: Any) -> None:
        getattr(self, f"_{options['action']}")(options)

    def _create(self, options: dict[str, Any]) -> None:
        codes = list(dict.fromkeys(options["merchant"]))
        merchants = list(Merchant.objects.filter(code__in=codes))
        if unknown := sorted(set(codes) - {merchant.code for merchant in merchants}):
            raise CommandError(_("Unknown merchant: %(codes)s") % {"codes": ", ".join(unknown)}, returncode=2)
        try:
            client, key = clients.order_client_create(name=options["name"], merchants=merchants)
        except clients.OrderClientError as error:
            raise CommandError(error.message, returncode=2) from None
        self.stderr.write(
            _(
                "Order client %(id)d created. Its key, shown only now (keep it in the lender system's "
                "secrets):"
            )
            % {"id": client.pk}
        )
        self.stdout.write(key)

    def _deactivate(self, options: dict[str, Any]) -> None:
        client = OrderClient.objects.filter(pk=options["client_id"]).first()
        if client is None:
            raise CommandError(_("No order client %(id)d.") % {"id": options["client_id"]}, returncode=2)
        clients.order_client_deactivate(client=client)
        self.stderr.write(_("Order client %(id)d deactivated: its key no longer works.") % {"id": client.pk})

    def _list(self, options: dict[str, Any]) -> None:
        for client in OrderClient.objects.prefetch_related("merchants"):
            merchants = ",".join(sorted(merchant.code for merchant in client.merchants.all()))
            state = _("active") if client.is_active else _("deactivated")
            used = client.last_used_at.isoformat() if client.last_used_at else "-"
            self.stdout.write(
                f"{client.pk}\t{client.name}\t{merchants}\t{client.key_prefix}\t{state}\t{used}"
            )
