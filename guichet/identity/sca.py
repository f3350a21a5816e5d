"""Strong customer authentication policy (PSD2 RTS art. 4): who must use it at login.

Entity users (``User.sca_required``, set when they are registered for an
entity) and the account kinds in ``GUICHET_SCA_REQUIRED_KINDS`` (staff and
business accounts by default) must enrol a passkey or an authenticator app at
their first login and use it at every login. Everybody else may enable it,
and signs sensitive operations with it or, without one, with an SMS code
(identity.signing).
"""

from allauth.mfa.models import Authenticator
from django.conf import settings

from guichet.identity.models import User

STRONG_TYPES = (Authenticator.Type.TOTP, Authenticator.Type.WEBAUTHN)


def sca_required(user: User) -> bool:
    """Staff and superusers always, whatever their kind or the setting."""
    return bool(
        user.sca_required
        or user.is_staff
        or user.is_superuser
        or user.kind in settings.GUICHET_SCA_REQUIRED_KINDS
    )


def authenticators_of(user: User):
    """The user's strong authenticators (passkeys and authenticator apps), oldest first."""
    return Authenticator.objects.filter(user=user, type__in=STRONG_TYPES).order_by("created_at", "pk")


def has_strong_authenticator(user: User) -> bool:
    return authenticators_of(user).exists()
