"""Users for back-office tests, one per role of the rights matrix."""

from guichet.backoffice.services import advisor_create
from guichet.identity.models import AccountKind, User

PASSWORD = "Correct-Horse-2026!"


def make_customer(*, user_id: str = "CC100001", **extra: object) -> User:
    extra.setdefault("email", "lucie.dubois@example.com")
    extra.setdefault("first_name", "Lucie")
    extra.setdefault("last_name", "Dubois")
    extra.setdefault("mobile_phone", "+32470123412")
    return User.objects.create_user(user_id, password=PASSWORD, **extra)


def make_advisor(*, user_id: str = "advisor1") -> User:
    return advisor_create(
        user_id=user_id,
        email=f"{user_id}@bank.example",
        first_name="Alex",
        last_name="Peeters",
        password=PASSWORD,
    )


def make_superuser(*, user_id: str = "operator") -> User:
    return User.objects.create_superuser(user_id, f"{user_id}@bank.example", PASSWORD, kind=AccountKind.STAFF)
