from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.utils.translation import gettext as _

from guichet.identity.exceptions import IdentityError
from guichet.identity.lockout import user_by_identifier
from guichet.identity.services import credentials_issue


class Command(BaseCommand):
    help = (
        "Re-issues the credentials of a provisioned user: a new temporary password in two e-mails; "
        "the previous one stops working. The password is never shown."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("user_id")

    def handle(self, *args: Any, **options: Any) -> None:
        user = user_by_identifier(options["user_id"])
        if user is None:
            raise CommandError(_("No user has the user ID %(user_id)s.") % {"user_id": options["user_id"]})
        try:
            credentials_issue(user=user)
        except IdentityError as error:
            raise CommandError(error.message) from None
        self.stdout.write(
            _(
                "New credentials issued to %(user_id)s: two e-mails queued. "
                "The previous temporary password no longer works."
            )
            % {"user_id": user.user_id}
        )
