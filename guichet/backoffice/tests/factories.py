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


def make_advisor(*, user_id: str = "advisor1", authenticator: bool = True) -> User:
    """An advisor; with an authenticator app (``STAFF_TOTP_SECRET``) unless told otherwise."""
    advisor = advisor_create(
        user_id=user_id,
        email=f"{user_id}@bank.example",
        first_name="Alex",
        last_name="Peeters",
        password=PASSWORD,
    )
    return with_authenticator_app(advisor) if authenticator else advisor


def make_superuser(*, user_id: str = "operator", authenticator: bool = True) -> User:
    operator = User.objects.create_superuser(
        user_id, f"{user_id}@bank.example", PASSWORD, kind=AccountKind.STAFF
    )
    return with_authenticator_app(operator) if authenticator else operator


# Staff log in with strong authentication (an authenticator app) after their password.
STAFF_TOTP_SECRET = "JBSWY3DPEHPK3PXPJBSWY3DPEHPK3PXP"


def totp_code(secret: str = STAFF_TOTP_SECRET) -> str:
    """The code an authenticator app would show now for ``secret``."""
    import time

    from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value

    return format_hotp_value(hotp_value(secret, int(time.time()) // 30))


def with_authenticator_app(user: User, secret: str = STAFF_TOTP_SECRET) -> User:
    from allauth.mfa.totp.internal.auth import TOTP

    TOTP.activate(user, secret)
    return user


def away_from_the_next_time_step(margin: float = 5.0) -> None:
    """Sleeps into the next 30 s step when fewer than ``margin`` seconds are left in this one."""
    import time

    left = 30 - time.time() % 30
    if left < margin:
        time.sleep(left + 0.1)


def browser_log_in(page, user_id: str, *, password: str = PASSWORD, secret: str = STAFF_TOTP_SECRET) -> None:
    """Logs in through the pages, as staff do: back-office login → password → authenticator code."""
    from django.core.cache import cache

    cache.clear()  # a code already used in an earlier test of the same 30 s would be refused
    page.goto("/backoffice/login/")
    page.fill("#id_login", user_id)
    page.fill("#id_password", password)
    page.press("#id_password", "Enter")
    page.wait_for_selector("#id_code")
    away_from_the_next_time_step()  # a code typed as its 30 s step ends is refused, rightly
    page.fill("#id_code", totp_code(secret))
    page.press("#id_code", "Enter")
    page.wait_for_url("**/backoffice/**")
