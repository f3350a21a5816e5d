from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from guichet.documents import intake_auth
from guichet.documents.models import IntakeClient, Issuer


class Command(BaseCommand):
    help = (
        "Manages the billing systems allowed to call the intake endpoint: `create --name NAME --issuer "
        "PREFIX…` prints the new key once (it is not kept: only its HMAC is); `deactivate ID` stops a key "
        "at once; `list` shows the clients. See docs/intake.md."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_subparsers(dest="action", required=True)
        create = actions.add_parser("create", help="Create a client and print its key once.")
        create.add_argument("--name", required=True)
        create.add_argument(
            "--issuer", action="append", required=True, metavar="PREFIX", help="An issuer's prefix (repeat)."
        )
        deactivate = actions.add_parser("deactivate", help="Deactivate a client: its key stops working.")
        deactivate.add_argument("client_id", type=int)
        actions.add_parser("list", help="The clients, their issuers and state (never their keys).")

    def handle(self, *args: Any, **options: Any) -> None:
        getattr(self, f"_{options['action']}")(options)

    def _create(self, options: dict[str, Any]) -> None:
        prefixes = list(dict.fromkeys(options["issuer"]))
        issuers = list(Issuer.objects.filter(prefix__in=prefixes))
        if unknown := sorted(set(prefixes) - {issuer.prefix for issuer in issuers}):
            raise CommandError(
                _("Unknown issuer: %(prefixes)s") % {"prefixes": ", ".join(unknown)}, returncode=2
            )
        try:
            client, key = intake_auth.intake_client_create(name=options["name"], issuers=issuers)
        except intake_auth.IntakeClientError as error:
            raise CommandError(error.message, returncode=2) from None
        self.stderr.write(
            _(
                "Intake client %(id)d created. Its key, shown only now (keep it in the billing "
                "system's secrets):"
            )
            % {"id": client.pk}
        )
        self.stdout.write(key)

    def _deactivate(self, options: dict[str, Any]) -> None:
        client = IntakeClient.objects.filter(pk=options["client_id"]).first()
        if client is None:
            raise CommandError(_("No intake client %(id)d.") % {"id": options["client_id"]}, returncode=2)
        intake_auth.intake_client_deactivate(client=client)
        self.stderr.write(_("Intake client %(id)d deactivated: its key no longer works.") % {"id": client.pk})

    def _list(self, options: dict[str, Any]) -> None:
        for client in IntakeClient.objects.prefetch_related("issuers"):
            issuers = ",".join(sorted(issuer.prefix for issuer in client.issuers.all()))
            state = _("active") if client.is_active else _("deactivated")
            used = client.last_used_at.isoformat() if client.last_used_at else "-"
            self.stdout.write(f"{client.pk}\t{client.name}\t{issuers}\t{client.key_prefix}\t{state}\t{used}")
