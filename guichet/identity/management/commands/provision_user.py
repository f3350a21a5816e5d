from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from guichet.identity.exceptions import IdentityError
from guichet.identity.services import user_provision

# IdentityError.field → the option to correct
OPTIONS = {"user_id": "--user-id", "email": "--email", "phones": "--phone", "language": "--language"}


class Command(BaseCommand):
    help = (
        "Provisions a user: creates the access and e-mails the user ID and a temporary password "
        "in two separate e-mails. The password is never shown."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user-id", required=True)
        parser.add_argument("--email", required=True)
        parser.add_argument(
            "--phone", action="append", required=True, help="Mobile number; give it twice for a second one."
        )
        parser.add_argument("--language", required=True, choices=[code for code, _name in settings.LANGUAGES])
        parser.add_argument("--first-name", default="")
        parser.add_argument("--last-name", default="")

    def handle(self, *args: Any, **options: Any) -> None:
        if len(options["phone"]) > 2:
            raise CommandError(_("--phone: give one or two mobile numbers."))
        try:
            user = user_provision(
                user_id=options["user_id"],
                email=options["email"],
                phones=options["phone"],
                language=options["language"],
                first_name=options["first_name"],
                last_name=options["last_name"],
            )
        except IdentityError as error:
            raise CommandError(
                f"{OPTIONS.get(error.field or '', '')}: {error.message}".lstrip(": ")
            ) from None
        self.stdout.write(
            _("User %(user_id)s provisioned: two e-mails queued (the user ID, then the temporary password).")
            % {"user_id": user.user_id}
        )
