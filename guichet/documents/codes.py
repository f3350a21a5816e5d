"""Activation codes and the delivery channel of customer numbers (seed 002, MyUnifiedPost).

An activation code belongs to one customer code (issuer prefix + number), is
valid ``GUICHET_ACTIVATION_CODE_WEEKS`` weeks (15) and works in one account
only. It is printed on a letter: the print shop gets the codes in a CSV
export, so the code is kept encrypted (``identity.crypto``) until it is used
or revoked; it is found by an HMAC of its normalised form. Issuing a new code
revokes the earlier unused ones of that customer number.

Using a code binds the customer number to the account and opts it in to
electronic delivery (paper stops). The account may opt out (back to paper) and
re-activate while the last code issued for the number is still valid.
Every change of channel is a ``DeliveryChannelChange`` row (time, reason,
author) and an audit event; no audit event ever carries a code.

The kind of account a customer number leads to is decided here too
(``account_identity``): a Belgian company number gives a business account
whose user ID is that number, another company number a business account with
a generated identifier, no company number a consumer account whose user ID
is the e-mail address.

Codes are 16 characters of Crockford's base32 alphabet (80 bits), shown in
groups of four; typing is forgiving (case, spaces, dashes, O for 0, I and L
for 1). Wrong codes are rate-limited per network address and per account, so
they cannot be guessed.
"""

import csv
import enum
import hashlib
import hmac
import secrets
from datetime import timedelta
from typing import IO, Any

from django.conf import settings
from django.core.cache import cache
from django.db import IntegrityError, transaction
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from guichet.audit.services import client_ip, record
from guichet.documents.downloads import csv_safe
from guichet.documents.models import (
    ActivationCode,
    Customer,
    CustomerNumber,
    DeliveryChannelChange,
    Issuer,
)
from guichet.identity import crypto
from guichet.identity.adapter import company_user_id
from guichet.identity.models import AccountKind, User

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford's base32: no I, L, O, U
CODE_LENGTH = 16
GROUP = 4
_READ_AS = str.maketrans({"O": "0", "I": "1", "L": "1"})
_IGNORED = str.maketrans("", "", " -_.\t")

# Wrong codes per hour (fixed window from the first one), per network address and per account.
WRONG_CODES_WINDOW = 3600
WRONG_CODES_PER_ADDRESS = 20
WRONG_CODES_PER_ACCOUNT = 10

CSV_COLUMNS = ("customer_code", "customer_name", "contact_name", "language", "activation_code", "expires")


class CodeErrorCode(enum.StrEnum):
    INVALID = "invalid"
    EXPIRED = "expired"
    REVOKED = "revoked"
    USED_ELSEWHERE = "used_elsewhere"
    TOO_MANY = "too_many"
    NOT_FOUND = "not_found"
    NO_VALID_CODE = "no_valid_code"
    DUPLICATE_NUMBER = "duplicate_number"
    STAFF_ACCOUNT = "staff_account"


MESSAGES = {
    CodeErrorCode.INVALID: _(
        "This activation code is not valid. Check it against your letter: 16 letters and digits, "
        "like ABCD-EFGH-JKMN-PQRS."
    ),
    CodeErrorCode.EXPIRED: _(
        "This activation code has expired: a code is valid for 15 weeks. Ask the issuer for a new one."
    ),
    CodeErrorCode.REVOKED: _(
        "This activation code no longer works: a newer code was issued for the same customer number. "
        "Use the code of the most recent letter."
    ),
    CodeErrorCode.USED_ELSEWHERE: _(
        "This customer number is already active in another account: an activation code works in one "
        "account only. Log on to that account, or ask its owner to share the documents with you."
    ),
    CodeErrorCode.TOO_MANY: _(
        "Too many wrong activation codes were entered. Please wait an hour and try again."
    ),
    CodeErrorCode.NOT_FOUND: _("This customer number is not in your account."),
    CodeErrorCode.NO_VALID_CODE: _(
        "Electronic delivery can be re-activated only with the last activation code while it is valid, "
        "and it is no longer valid. Ask the issuer for a new activation code, then enter it here."
    ),
    CodeErrorCode.DUPLICATE_NUMBER: _("This issuer already has this customer number."),
    CodeErrorCode.STAFF_ACCOUNT: _(
        "A staff account cannot hold customer numbers: activation codes are entered in the customer's "
        "own account."
    ),
}


class CodeError(Exception):
    """A refusal; nothing was written."""

    def __init__(self, code: CodeErrorCode) -> None:
        self.code = code
        super().__init__(str(code))

    @property
    def message(self) -> str:
        return str(MESSAGES[self.code])


# --- The code itself ----------------------------------------------------------------------------


def code_normalise(code: str) -> str:
    """The code as stored: upper case, without spaces and dashes, O read as 0 and I, L as 1."""
    return str(code or "").upper().translate(_IGNORED).translate(_READ_AS)


def code_format(code: str) -> str:
    """The code as printed: XXXX-XXXX-XXXX-XXXX."""
    plain = code_normalise(code)
    return "-".join(plain[i : i + GROUP] for i in range(0, len(plain), GROUP))


def code_hash(code: str) -> str:
    key = hashlib.sha256(b"guichet.activation-code:" + settings.SECRET_KEY.encode()).digest()
    return hmac.new(key, code_normalise(code).encode(), hashlib.sha256).hexdigest()


def _well_formed(plain: str) -> bool:
    return len(plain) == CODE_LENGTH and all(char in ALPHABET for char in plain)


def _generate() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


# --- Issuing ------------------------------------------------------------------------------------


def activation_code_issue(
    *, customer_number: CustomerNumber, by: User | None = None, request: HttpRequest | None = None
) -> tuple[ActivationCode, str]:
    """A new code for ``customer_number`` (the plain code is returned once, formatted); its earlier
    unused codes are revoked. Valid ``GUICHET_ACTIVATION_CODE_WEEKS`` weeks."""
    plain = _generate()
    now = timezone.now()
    with transaction.atomic():
        # Two issues at once (a double click) must not leave two valid codes: one waits for the other
        # and revokes its code (review finding).
        list(CustomerNumber.objects.select_for_update().filter(pk=customer_number.pk).values_list("pk"))
        revoked = ActivationCode.objects.filter(
            customer_number=customer_number, used_at__isnull=True, revoked_at__isnull=True
        ).update(revoked_at=now, code_encrypted="")
        issued = ActivationCode.objects.create(
            customer_number=customer_number,
            code_hash=code_hash(plain),
            code_encrypted=crypto.encrypt(plain),
            created_at=now,
            created_by=by,
            expires_at=now + timedelta(weeks=settings.GUICHET_ACTIVATION_CODE_WEEKS),
        )
        record(
            action="documents.activation_code_issued",
            actor=by,
            target=issued,
            request=request,
            details={
                "customer_number": customer_number.code,
                "expires_at": issued.expires_at.isoformat(),
                "revoked": revoked,
            },
        )
    return issued, code_format(plain)


def customer_number_create(
    *,
    issuer: Issuer,
    number: str,
    customer: Customer,
    contact_name: str,
    contact_email: str,
    contact_language: str,
    by: User | None = None,
    request: HttpRequest | None = None,
) -> CustomerNumber:
    """Creates a customer number (paper delivery until a code is used) and issues its first
    activation code, to be exported for the letter."""
    try:
        with transaction.atomic():
            created = CustomerNumber.objects.create(
                issuer=issuer,
                number=number.strip(),
                customer=customer,
                contact_name=contact_name,
                contact_email=contact_email.strip().lower(),
                contact_language=contact_language,
            )
            record(
                action="documents.customer_number_created",
                actor=by,
                target=created,
                request=request,
                details={"customer_number": created.code, "customer": customer.pk},
            )
            activation_code_issue(customer_number=created, by=by, request=request)
    except IntegrityError:
        raise CodeError(CodeErrorCode.DUPLICATE_NUMBER) from None
    return created


# --- Export for the print shop ------------------------------------------------------------------


def _exportable(*, issuer: Issuer | str | None, only_new: bool) -> QuerySet[ActivationCode]:
    codes = ActivationCode.objects.filter(
        used_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now()
    ).exclude(code_encrypted="")
    if only_new:
        codes = codes.filter(exported_at__isnull=True)
    if isinstance(issuer, Issuer):
        codes = codes.filter(customer_number__issuer=issuer)
    elif issuer:
        codes = codes.filter(customer_number__issuer__prefix__iexact=issuer)
    return codes


def activation_codes_export(
    *, out: IO[str], issuer: Issuer | str | None = None, only_new: bool = True
) -> int:
    """Writes the CSV of the letters to print (one line per valid, unused code; with ``only_new``,
    only those never exported) and marks them exported. Returns the number of lines."""
    now = timezone.now()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    count = 0
    with transaction.atomic():
        codes = (
            _exportable(issuer=issuer, only_new=only_new)
            .select_for_update(of=("self",))
            .select_related("customer_number__issuer", "customer_number__customer")
            .order_by("customer_number__issuer__prefix", "customer_number__number", "pk")
        )
        exported = []
        for code in codes.iterator(chunk_size=2000):
            number = code.customer_number
            writer.writerow(
                [  # the names come from the issuers' files: never run as a spreadsheet formula
                    csv_safe(number.code),
                    csv_safe(number.customer.name),
                    csv_safe(number.contact_name),
                    number.contact_language,
                    code_format(crypto.decrypt(code.code_encrypted)),
                    timezone.localtime(code.expires_at).date().isoformat(),
                ]
            )
            exported.append(code.pk)
            count += 1
        for start in range(0, len(exported), 2000):
            ActivationCode.objects.filter(pk__in=exported[start : start + 2000]).update(exported_at=now)
        record(
            action="documents.activation_codes_exported",
            target="activation codes",
            details={
                "count": count,
                "issuer": issuer.prefix if isinstance(issuer, Issuer) else (issuer or ""),
                "only_new": only_new,
            },
        )
    return count


# --- Checking a typed code ----------------------------------------------------------------------


def _limits(request: HttpRequest | None, user: Any) -> list[tuple[str, int]]:
    """The counters of wrong codes that apply (none without a request, or with rate limits off)."""
    if request is None or settings.ACCOUNT_RATE_LIMITS is False:
        return []
    address = hashlib.sha256((client_ip(request) or "").encode()).hexdigest()[:32]
    limits = [(f"guichet:activation-code:ip:{address}", WRONG_CODES_PER_ADDRESS)]
    if user is not None and getattr(user, "is_authenticated", False):
        limits.append((f"guichet:activation-code:user:{user.pk}", WRONG_CODES_PER_ACCOUNT))
    return limits


def _blocked(limits: list[tuple[str, int]]) -> bool:
    return any(cache.get(key, 0) >= limit for key, limit in limits)


def _count_wrong(limits: list[tuple[str, int]]) -> None:
    for key, _limit in limits:
        cache.add(key, 0, timeout=WRONG_CODES_WINDOW)
        try:
            cache.incr(key)
        except ValueError:  # expired between add and incr
            cache.set(key, 1, timeout=WRONG_CODES_WINDOW)


def _latest(customer_number: CustomerNumber) -> ActivationCode | None:
    return (
        ActivationCode.objects.filter(customer_number=customer_number).order_by("-created_at", "-pk").first()
    )


def _is_valid(code: ActivationCode, *, now: Any = None) -> bool:
    return code.revoked_at is None and (now or timezone.now()) < code.expires_at


def _refusal(code: ActivationCode, *, user: Any) -> CodeErrorCode | None:
    """Why a correctly typed ``code`` cannot be used by ``user`` (None: a new account), if it cannot.
    A code already used by ``user`` itself is no refusal (using it again is harmless)."""
    user_pk = user.pk if user is not None else None
    if code.used_by_id is not None and code.used_by_id != user_pk:
        return CodeErrorCode.USED_ELSEWHERE
    if code.customer_number.account_id is not None and code.customer_number.account_id != user_pk:
        return CodeErrorCode.USED_ELSEWHERE
    if code.used_by_id is not None:
        return None
    if code.revoked_at is not None:
        return CodeErrorCode.REVOKED
    if timezone.now() >= code.expires_at:
        return CodeErrorCode.EXPIRED
    return None


def activation_code_check(
    *, code: str, user: Any = None, request: HttpRequest | None = None, for_update: bool = False
) -> ActivationCode:
    """The code typed, if ``user`` (None: someone creating an account) may use it; else
    ``CodeError`` with the precise reason for a correctly typed code, and INVALID for anything else
    (which counts against the rate limit: TOO_MANY once reached, whatever is typed)."""
    limits = _limits(request, user)
    if _blocked(limits):
        raise CodeError(CodeErrorCode.TOO_MANY)
    plain = code_normalise(code)
    queryset = ActivationCode.objects.select_related("customer_number__issuer", "customer_number__customer")
    if for_update:
        queryset = queryset.select_for_update(of=("self", "customer_number"))
    found = queryset.filter(code_hash=code_hash(plain)).first() if _well_formed(plain) else None
    if found is None:
        _count_wrong(limits)
        raise CodeError(CodeErrorCode.INVALID)
    if (refusal := _refusal(found, user=user)) is not None:
        raise CodeError(refusal)
    return found


def activation_code_state(activation_code: ActivationCode) -> CodeErrorCode | None:
    """Why a code found earlier (its id kept in a session) can no longer start an account, if so."""
    fresh = (
        ActivationCode.objects.select_related("customer_number")
        .filter(pk=activation_code.pk, customer_number_id=activation_code.customer_number_id)
        .first()
    )
    if fresh is None:
        return CodeErrorCode.INVALID
    return _refusal(fresh, user=None)


# --- Using a code -------------------------------------------------------------------------------


def activation_code_bind(
    *, activation_code: ActivationCode, user: User, request: HttpRequest | None = None
) -> CustomerNumber:
    """Gives ``user`` the code's customer number, uses the code and opts the number in. Call it in
    a transaction, with the code and its customer number locked and checked (``_refusal``)."""
    number = activation_code.customer_number
    if number.account_id is None:
        CustomerNumber.objects.filter(pk=number.pk, account__isnull=True).update(account=user)
        number.account = user
        record(
            action="documents.customer_number_attached",
            actor=user,
            target=number,
            request=request,
            details={"by": "activation_code"},
        )
    activation_code.used_at = timezone.now()
    activation_code.used_by = user
    activation_code.code_encrypted = ""  # no longer needed for a letter
    activation_code.save(update_fields=["used_at", "used_by", "code_encrypted"])
    record(
        action="documents.activation_code_used",
        actor=user,
        target=activation_code,
        request=request,
        details={"customer_number": number.code},
    )
    delivery_channel_set(
        customer_number=number,
        electronic=True,
        reason=DeliveryChannelChange.Reason.ACTIVATION_CODE,
        author=user,
        request=request,
    )
    return number


def _is_staff(user: User) -> bool:
    return bool(user.is_staff or user.is_superuser or user.kind == AccountKind.STAFF)


def activation_code_redeem(*, code: str, user: User, request: HttpRequest | None = None) -> CustomerNumber:
    """An existing account enters a code: the customer number joins it and is opted in to
    electronic delivery. Entering again a code this account already used is harmless (it opts the
    number in again if that code is still the valid last one). A staff account is refused before the
    code is looked at: an advisor who re-issued a code must not take the customer's documents."""
    if _is_staff(user):
        raise CodeError(CodeErrorCode.STAFF_ACCOUNT)
    with transaction.atomic():
        found = activation_code_check(code=code, user=user, request=request, for_update=True)
        number = found.customer_number
        if found.used_by_id != user.pk:
            return activation_code_bind(activation_code=found, user=user, request=request)
        last = _latest(number)
        if last is not None and last.pk == found.pk and _is_valid(found):
            delivery_channel_set(
                customer_number=number,
                electronic=True,
                reason=DeliveryChannelChange.Reason.ACTIVATION_CODE,
                author=user,
                request=request,
            )
    return number


# --- Delivery channel ---------------------------------------------------------------------------


def delivery_channel_set(
    *,
    customer_number: CustomerNumber,
    electronic: bool,
    reason: str,
    author: User | None = None,
    request: HttpRequest | None = None,
) -> bool:
    """Sets the channel of ``customer_number`` with a history row and an audit event; False (nothing
    written) when it already is so. For every author: customers, advisors, merges."""
    with transaction.atomic():
        current = (
            CustomerNumber.objects.select_for_update()
            .filter(pk=customer_number.pk)
            .values_list("electronic_delivery", flat=True)[0]
        )
        customer_number.electronic_delivery = electronic
        if current == electronic:
            return False
        CustomerNumber.objects.filter(pk=customer_number.pk).update(electronic_delivery=electronic)
        DeliveryChannelChange.objects.create(
            customer_number=customer_number, electronic=electronic, reason=reason, author=author
        )
        record(
            action="documents.delivery_channel_changed",
            actor=author,
            target=customer_number,
            request=request,
            details={
                "customer_number": customer_number.code,
                "electronic": electronic,
                "reason": str(reason),
            },
        )
    return True


def _held(user: User, customer_number: Any) -> CustomerNumber:
    """``customer_number`` (an instance or an id) if ``user``'s account holds it, locked; else
    NOT_FOUND (a shared user, another customer)."""
    pk = getattr(customer_number, "pk", customer_number)
    try:
        pk = int(pk)
    except (TypeError, ValueError):
        raise CodeError(CodeErrorCode.NOT_FOUND) from None
    if user is None or not getattr(user, "is_authenticated", False) or not user.is_active:
        raise CodeError(CodeErrorCode.NOT_FOUND)
    held = (
        CustomerNumber.objects.select_for_update()
        .select_related("issuer")
        .filter(pk=pk, account=user)
        .first()
    )
    if held is None:
        raise CodeError(CodeErrorCode.NOT_FOUND)
    return held


def delivery_opt_out(
    *, user: User, customer_number: Any, request: HttpRequest | None = None
) -> CustomerNumber:
    """The account holding ``customer_number`` stops electronic delivery: its documents go to paper
    again (the documents already received stay visible)."""
    with transaction.atomic():
        number = _held(user, customer_number)
        delivery_channel_set(
            customer_number=number,
            electronic=False,
            reason=DeliveryChannelChange.Reason.OPT_OUT,
            author=user,
            request=request,
        )
    return number


def delivery_reactivation_allowed(customer_number: CustomerNumber) -> bool:
    """Whether the last code issued for ``customer_number`` is still valid (it re-activates it)."""
    last = _latest(customer_number)
    return last is not None and _is_valid(last) and last.used_by_id in (None, customer_number.account_id)


def delivery_reactivate(
    *, user: User, customer_number: Any, request: HttpRequest | None = None
) -> CustomerNumber:
    """The account holding ``customer_number`` returns to electronic delivery, while the last code
    issued for it is valid; otherwise NO_VALID_CODE (ask for a new code)."""
    with transaction.atomic():
        number = _held(user, customer_number)
        if not number.electronic_delivery and not delivery_reactivation_allowed(number):
            raise CodeError(CodeErrorCode.NO_VALID_CODE)
        delivery_channel_set(
            customer_number=number,
            electronic=True,
            reason=DeliveryChannelChange.Reason.REACTIVATION,
            author=user,
            request=request,
        )
    return number


def delivery_history(customer_number: CustomerNumber) -> list[DeliveryChannelChange]:
    """Every change of channel of ``customer_number``, newest first, with its author."""
    return list(
        DeliveryChannelChange.objects.filter(customer_number=customer_number)
        .select_related("author")
        .order_by("-at", "-pk")
    )


# --- Which account a customer number leads to ---------------------------------------------------


def generated_user_id(customer: Customer) -> str:
    """The identifier of a company without a Belgian company number: G and 9 digits, one per
    customer (unique because the customer's key is)."""
    return f"G{customer.pk:09d}"


def account_identity(*, customer: Customer, email: str) -> tuple[str, str]:
    """The kind and user ID of the account a customer's contact creates: a Belgian company number
    gives a business account identified by it (BE0…), another company number a business account
    with a generated identifier, no company number a consumer account identified by ``email``."""
    company = (customer.company_number or "").strip()
    if (belgian := company_user_id(company)) is not None:
        return AccountKind.BUSINESS, belgian
    if company:
        return AccountKind.BUSINESS, generated_user_id(customer)
    return AccountKind.CONSUMER, email.strip().lower()
