"""Recovery for provisioned and business users: "Forgot your User ID?" and
"Reset logon credentials?" (seed 000).

Lookups here answer "which accounts match", never to the visitor: the views
show the same pages whether or not something matched (decoy numbers for an
unknown account, see ``phones.decoy_phones``). Writes send only to the
contact details on file.
"""

import unicodedata

from allauth.account.utils import url_str_to_user_pk, user_pk_to_url_str
from django.conf import settings
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.db import transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.urls import reverse
from django.utils import translation
from django.utils.http import base36_to_int
from phonenumber_field.phonenumber import PhoneNumber

from guichet.audit.services import record
from guichet.identity import services
from guichet.identity.models import AccountKind, CodePurpose, OneTimeCode, User
from guichet.notifications.services import notify

RECOVERABLE_KINDS = (AccountKind.PROVISIONED, AccountKind.BUSINESS)


def identifier_normalise(value: str) -> str:
    """NFKC then case-folded, so look-alike spellings share one rate-limit key."""
    return unicodedata.normalize("NFKC", (value or "").strip()).casefold()


def limit_key(*, identifier: str, users: list[User]) -> str:
    """The per-account rate-limit key: the matched account when there is one
    (whatever spelling found it), else the normalised identifier."""
    return f"user:{users[0].pk}" if users else f"id:{identifier_normalise(identifier)}"


# --- Selectors -----------------------------------------------------------------


def _recoverable() -> QuerySet[User]:
    return User.objects.filter(kind__in=RECOVERABLE_KINDS, is_active=True)


def accounts_for_email(*, email: str) -> list[User]:
    """The provisioned/business accounts whose contact address is ``email`` (several may share one)."""
    return list(_recoverable().filter(email__iexact=email.strip()).order_by("pk"))


def accounts_for_user_id(*, user_id: str) -> list[User]:
    return list(_recoverable().filter(user_id__iexact=user_id.strip()))


def account_for_credentials(*, user_id: str, email: str) -> User | None:
    """The account whose user ID *and* e-mail address both match, or None."""
    return _recoverable().filter(user_id__iexact=user_id.strip(), email__iexact=email.strip()).first()


def phones_of(users: list[User]) -> list[tuple[PhoneNumber, User]]:
    """Each distinct registered mobile number of ``users``, with the first account that has it."""
    seen: dict[str, tuple[PhoneNumber, User]] = {}
    for user in users:
        for number in user.mobile_phones:
            seen.setdefault(number.as_e164, (number, user))
    return list(seen.values())


# --- The single-use link ---------------------------------------------------------


class CredentialResetTokenGenerator(PasswordResetTokenGenerator):
    """The token of the "Reset logon credentials" link.

    Django's generator (HMAC of the user's state and a timestamp, nothing
    stored) rather than a signed token or a table, because the state it
    hashes is what makes the link single-use for free:

    - the password hash and the last login change once the link is used;
    - the id of the latest reset code changes when a newer reset is asked
      for, so every older link stops working;
    - the e-mail address, so a contact change voids links already sent.

    The link expires after ``GUICHET_CREDENTIAL_RESET_LINK_SECONDS`` (at most
    72 h, which is also Django's PASSWORD_RESET_TIMEOUT the parent checks).
    """

    key_salt = "guichet.identity.recovery.CredentialResetTokenGenerator"

    def _make_hash_value(self, user: User, timestamp: int) -> str:
        latest_code = (
            OneTimeCode.objects.filter(user=user, purpose=CodePurpose.RESET_CREDENTIALS)
            .order_by("-created_at")
            .values_list("pk", flat=True)
            .first()
        )
        login = "" if user.last_login is None else user.last_login.replace(microsecond=0, tzinfo=None)
        return f"{user.pk}|{user.password}|{login}|{latest_code}|{user.email}|{timestamp}"

    def check_token(self, user: User | None, token: str | None) -> bool:
        if not (user and token) or not super().check_token(user, token):
            return False
        timestamp = self._timestamp_of(token)
        age = self._num_seconds(self._now()) - timestamp
        return age <= settings.GUICHET_CREDENTIAL_RESET_LINK_SECONDS

    @staticmethod
    def _timestamp_of(token: str) -> int:
        return base36_to_int(token.split("-")[0])


reset_token_generator = CredentialResetTokenGenerator()


def reset_link_user(*, uidb36: str, token: str) -> User | None:
    """The account a link is for, if the link is still valid."""
    try:
        pk = url_str_to_user_pk(uidb36)
    except (ValueError, TypeError):
        return None
    user = _recoverable().filter(pk=pk).first()
    if user is None or not reset_token_generator.check_token(user, token):
        return None
    return user


# --- Services --------------------------------------------------------------------


def user_id_reminder_send(*, users: list[User], request: HttpRequest | None = None) -> None:
    """E-mails the user IDs of ``users`` (who share one address) to that address on file."""
    first = users[0]
    with transaction.atomic():
        notify(
            template="identity_user_id_reminder",
            context={"user_ids": [user.user_id for user in users], "name": first.get_full_name()},
            user=first,
        )
        for user in users:
            record(action="identity.user_id_reminder_sent", actor=None, target=user, request=request)


def reset_link_send(*, user: User, request: HttpRequest) -> None:
    """E-mails the single-use link to choose a new password, and the hint if there is one."""
    token = reset_token_generator.make_token(user)
    with translation.override(user.preferred_language or settings.LANGUAGE_CODE):
        path = reverse(
            "identity:reset_credentials_link", kwargs={"uidb36": user_pk_to_url_str(user), "token": token}
        )
    minutes = settings.GUICHET_CREDENTIAL_RESET_LINK_SECONDS // 60
    with transaction.atomic():
        notify(
            template="identity_reset_link",
            context={
                "url": request.build_absolute_uri(path),
                "user_id": user.user_id,
                "name": user.get_full_name(),
                "minutes": minutes,
                "hint": services.password_hint(user=user) if user.password_hint_encrypted else "",
            },
            user=user,
            sensitive=True,
        )
        record(action="identity.reset_link_sent", actor=None, target=user, request=request)
