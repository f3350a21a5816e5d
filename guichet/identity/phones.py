"""Phone numbers as the user sees them when choosing where a code goes."""

import hashlib
import hmac

import phonenumbers
from django.conf import settings
from phonenumber_field.phonenumber import PhoneNumber

MASK = "•"


def mask_phone(number: PhoneNumber | str) -> str:
    """International format with every digit hidden but the first of the
    national number and the last two: ``+32 470 12 34 56`` → ``+32 4•• •• •• 56``."""
    parsed = phonenumbers.parse(str(number))
    formatted = phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL)
    prefix = f"+{parsed.country_code}"
    national = formatted[len(prefix) :]
    digit_positions = [i for i, c in enumerate(national) if c.isdigit()]
    keep = {digit_positions[0], *digit_positions[-2:]} if len(digit_positions) > 3 else set(digit_positions)
    masked = "".join(c if (not c.isdigit() or i in keep) else MASK for i, c in enumerate(national))
    return prefix + masked


def decoy_phones(identifier: str) -> list[str]:
    """Masked numbers for an identifier that matches no account.

    Derived from a keyed hash, so the same request shows the same numbers
    each time: the page for an unknown account looks like the page for a
    known one, and nothing is ever sent.
    """
    key = hashlib.sha256(b"guichet.decoy-phones:" + settings.SECRET_KEY.encode()).digest()
    digest = hmac.new(key, identifier.strip().casefold().encode(), hashlib.sha256).digest()
    regions = list(getattr(settings, "GUICHET_DECOY_PHONE_REGIONS", ["BE"])) or ["BE"]
    # About one account in five has a second number: so do the decoys.
    count = 2 if digest[0] % 5 == 0 else 1
    return [_decoy(region=regions[digest[1 + i] % len(regions)], seed=digest[3 + i]) for i in range(count)]


def _decoy(*, region: str, seed: int) -> str:
    example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
    national = str(example.national_number)
    fake = phonenumbers.parse(f"+{example.country_code}{national[:-2]}{seed % 100:02d}")
    return mask_phone(phonenumbers.format_number(fake, phonenumbers.PhoneNumberFormat.E164))
