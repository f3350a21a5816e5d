import getpass
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.validators import validate_email

from guichet.backoffice.services import advisor_create
from guichet.identity.models import AccountKind, User


class Command(BaseCommand):
    help = (
        "Creates an advisor: a staff user in the advisor group. Prompts for a password, "
        "or leaves it unusable with --no-password (onboarding sets it later)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--user-id", required=True)
        parser.add_argument("--email", required=True)
        parser.add_argument("--first-name", default="")
        parser.add_argument("--last-name", default="")
        parser.add_argument("--no-password", action="store_true", help="Leave the password unusable.")

    def handle(self, *args: Any, **options: Any) -> None:
        for name in ("user_id", "email", "first_name", "last_name"):
            options[name] = options[name].strip()
        if User.objects.filter(user_id=options["user_id"]).exists():
            raise CommandError(f"A user with user ID {options['user_id']!r} already exists.")
        self._validate(options)
        password = None if options["no_password"] else self._ask_password(options)
        advisor = advisor_create(
            user_id=options["user_id"],
            email=options["email"],
            first_name=options["first_name"],
            last_name=options["last_name"],
            password=password,
        )
        self.stdout.write(self.style.SUCCESS(f"Advisor {advisor.user_id} created."))

    def _candidate(self, options: dict[str, Any]) -> User:
        return User(
            user_id=options["user_id"],
            email=options["email"],
            first_name=options["first_name"],
            last_name=options["last_name"],
            kind=AccountKind.STAFF,
            is_staff=True,
        )

    def _validate(self, options: dict[str, Any]) -> None:
        """The model's own rules (a user ID, field lengths), and an e-mail address that is required."""
        errors: dict[str, list[str]] = {}
        try:
            validate_email(options["email"])
        except ValidationError as error:
            errors["email"] = error.messages
        try:
            self._candidate(options).full_clean(exclude=["password"])
        except ValidationError as error:
            for field, messages in error.message_dict.items():
                known = errors.setdefault(field, [])
                known.extend(message for message in messages if message not in known)
        if errors:
            raise CommandError(
                " ".join(
                    message if field == NON_FIELD_ERRORS else f"--{field.replace('_', '-')}: {message}"
                    for field, messages in errors.items()
                    for message in messages
                )
            )

    def _ask_password(self, options: dict[str, Any]) -> str:
        candidate = self._candidate(options)
        password = getpass.getpass("Password: ")
        if password != getpass.getpass("Password (again): "):
            raise CommandError("The two passwords differ.")
        try:
            validate_password(password, user=candidate)
        except ValidationError as error:
            raise CommandError(" ".join(error.messages)) from None
        return password
