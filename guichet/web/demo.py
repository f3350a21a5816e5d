"""Demo data: a fictional institution, its user agreement and one persona per seed journey.

Idempotent: loading twice leaves the same rows and puts every persona back in
its documented state: the documented passwords, the locked cardholder locked
again, the consumer without a password, and the cardholder with fresh
credentials given new ones (read them in the outbox, /dev/outbox/) once the
previous ones were used or expired. Later issues add their own data here.

Strong customer authentication: ``ENT200002`` is an entity user with fresh
credentials who must enrol a passkey or an authenticator app at first login;
``ENT200001`` must use strong authentication and has an authenticator app whose
secret is fixed here and printed, so that anybody can add it to an app and
log on. Each load puts that one app back (and removes any other authenticator
of the persona).

Business clients (issue 5): the entity *Aubépine Logistique SA* with three
accounts, two contracts and about sixty transactions over the last three months
(regenerated at each load, so they stay recent); ``ENT200001`` is its
administrator with director rights, ``ENT200002`` an accountant, ``ENT200003``
a preparer and ``ENT200004`` a validator (both with a printed authenticator
app); one transfer prepared by ``ENT200003`` waits for validation, and two
persons registered by the advisor wait to be added (one without an e-mail).
Each load puts the rights, the registered persons and the waiting transfer
back in that state. Banking rows are written directly: they stand for what the
core banking system and earlier journeys would have produced.

Document portal (issue 6, seed 002): the lessor *Aubépine Lease* with two
issuers, DL2 (Aubépine Lease Services) and DL5 (Aubépine Lease Belgium).
``0899999949`` (Anna Schmidt, a business account: only those may share) is the
primary contact of three customer numbers, two at DL2 and one at DL5, with a
few hundred invoices and credit notes over the last 7 years (regenerated at each
load, dated from today, all with one shared specimen PDF; the last two months
unread). She shares DL2 204518 with her accountant ``boekhouding@example.com``
(Dutch, an activated account with a documented password), and nothing else.
Claire Renard, primary contact of DL5 517342, has no account yet: her first
document was added through ``documents.services.document_add``, which put her
invitation in the outbox; each load puts her back there (her account, if she
activated it, loses its password and the number; a fresh invitation is sent when
none is waiting). Documents, reads and shares are written directly, like the
banking rows, except that one document.
"""

import datetime as dt
import random
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP
from allauth.mfa.utils import decrypt
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from guichet.audit.services import record
from guichet.backoffice.services import advisor_group
from guichet.banking.models import Beneficiary, Transaction, Transfer, TransferStatus, Validation
from guichet.documents import access
from guichet.documents.codes import activation_code_issue, code_format
from guichet.documents.models import (
    ActivationCode,
    Customer,
    CustomerNumber,
    DeliveryChannelChange,
    Document,
    DocumentKind,
    DocumentRead,
    Frequency,
    Invitation,
    Issuer,
    IssuerIdentifier,
    NotificationPreference,
    Share,
    SharedUser,
)
from guichet.entities.models import (
    BankAccount,
    CompanyNumberScheme,
    Contract,
    ContractKind,
    Entity,
    Grant,
    GrantChange,
    Person,
    PersonStatus,
    Right,
)
from guichet.identity import services
from guichet.identity.crypto import decrypt as crypto_decrypt
from guichet.identity.models import AccountKind, AgreementAcceptance, User, UserAgreement
from guichet.paylater.demo import paylater_lines, paylater_load

# A persona's state after loading.
READY = "ready"  # documented password, agreement accepted
FRESH = "fresh"  # provisioned: two e-mails in the outbox, temporary password only there
LOCKED = "locked"  # documented password, but locked after 5 failures
FIRST_LOGIN = "first_login"  # consumer record without a password: "First login"
STAFF = "staff"


@dataclass(frozen=True)
class Persona:
    user_id: str
    password: str | None
    first_name: str
    last_name: str
    email: str
    mobile_phone: str
    language: str
    kind: str
    journey: str
    is_staff: bool = False
    is_superuser: bool = False
    advisor: bool = False
    state: str = READY
    alternate_mobile_phone: str = ""
    sca_required: bool = False
    totp_secret: str = ""  # an authenticator app, printed with the personas


# Demo data, printed by ``make demo``: not a secret anywhere but on this machine.
DEMO_TOTP_SECRET = "AUBEPINEDEMOTOTPENTITEJANSSENS23"  # noqa: S105
PREPARER_TOTP_SECRET = "AUBEPINEDEMOTOTPPREPARATEURWOUTR"  # noqa: S105
VALIDATOR_TOTP_SECRET = "AUBEPINEDEMOTOTPVALIDATRICEAMRAN"  # noqa: S105


PERSONAS = [
    Persona(
        "CC100001", "Carte-Demo-2026!", "Lucie", "Dubois", "lucie.dubois@example.com",
        "+32470123412", "fr", AccountKind.PROVISIONED, "cardholder, set up (seed 000)",
    ),
    Persona(
        "CC100002", None, "Marc", "Leroy", "marc.leroy@example.com",
        "+32470556612", "fr", AccountKind.PROVISIONED,
        "cardholder with fresh temporary credentials: first login (seed 000)",
        state=FRESH, alternate_mobile_phone="+32485246834",
    ),
    Persona(
        "CC100003", "Verrou-Demo-2026!", "Sophie", "Martens", "sophie.martens@example.com",
        "+32477889934", "nl", AccountKind.PROVISIONED,
        "cardholder locked after 5 failed logons: Reset logon credentials (seed 000)", state=LOCKED,
    ),
    Persona(
        "ENT200001", "Entite-Demo-2026!", "Pieter", "Janssens", "pieter.janssens@example.com",
        "+32478556677", "nl", AccountKind.PROVISIONED,
        "administrator of Aubépine Logistique SA, director rights, authenticator app (seed 001)",
        sca_required=True, totp_secret=DEMO_TOTP_SECRET,
    ),
    Persona(
        "ENT200002", None, "Elise", "Vermeulen", "elise.vermeulen@example.com",
        "+32478112233", "nl", AccountKind.PROVISIONED,
        "accountant of Aubépine Logistique SA, fresh credentials: enrols a passkey or an app at first login",
        state=FRESH, sca_required=True,
    ),
    Persona(
        "ENT200003", "Preparer-Demo-2026!", "Thomas", "Wouters", "thomas.wouters@example.com",
        "+32478334455", "fr", AccountKind.PROVISIONED,
        "preparer of Aubépine Logistique SA: prepares transfers (issue 5)",
        sca_required=True, totp_secret=PREPARER_TOTP_SECRET,
    ),
    Persona(
        "ENT200004", "Valider-Demo-2026!", "Nadia", "El Amrani", "nadia.elamrani@example.com",
        "+32478667788", "fr", AccountKind.PROVISIONED,
        "validator of Aubépine Logistique SA: a transfer waits for her signature (issue 5)",
        sca_required=True, totp_secret=VALIDATOR_TOTP_SECRET,
    ),
    Persona(
        "0899999949", "Factures-Demo-2026!", "Anna", "Schmidt", "anna.schmidt@example.com",
        "+32495112233", "de", AccountKind.BUSINESS,
        "document recipient, business account: primary contact of 3 customer numbers (seed 002)",
    ),
    Persona(
        "boekhouding@example.com", "Boekhouding-Demo-2026!", "Kim", "De Smet", "boekhouding@example.com",
        "", "nl", AccountKind.CONSUMER, "accountant, shared user of Anna Schmidt: sees DL2 204518 (seed 002)",
    ),
    Persona(
        "camille.martin@example.com", None, "Camille", "Martin",
        "camille.martin@example.com", "", "fr", AccountKind.CONSUMER,
        "pay-later consumer who has not logged in yet: First login (seed 003)", state=FIRST_LOGIN,
    ),
    Persona(
        "julien.moreau@example.com", "Paylater-Demo-2026!", "Julien", "Moreau", "julien.moreau@example.com",
        "+32471223344", "fr", AccountKind.CONSUMER,
        "pay-later consumer: schedules in progress, completed and unpaid, card change, regularise (seed 003)",
    ),
    Persona(
        "advisor", "Conseil-Demo-2026!", "Alex", "Peeters", "alex.peeters@aubepine.example",
        "+32470998877", "en", AccountKind.STAFF, "advisor, back office", is_staff=True, advisor=True,
        state=STAFF,
    ),
    Persona(
        "admin", "Operateur-Demo-2026!", "Sam", "Lambert", "sam.lambert@aubepine.example",
        "+32470665544", "en", AccountKind.STAFF, "operator administrator, back office",
        is_staff=True, is_superuser=True, state=STAFF,
    ),
]  # fmt: skip

AGREEMENT_VERSION = 1
AGREEMENT_IN_FORCE_FROM = datetime(2026, 1, 1, tzinfo=ZoneInfo("Europe/Brussels"))
# Version 1 per language: (title, paragraphs). Data in each language, not translatable strings.
AGREEMENT_TEXTS = {
    "fr": (
        "Conditions d'utilisation de l'espace client",
        (
            (
                "1. Objet. Les présentes conditions règlent l'accès à l'espace client de Banque Aubépine "
                "et son utilisation."
            ),
            (
                "2. Identifiants. Votre identifiant, votre mot de passe et les codes reçus par SMS sont "
                "strictement personnels. Ne les communiquez à personne, pas même à un collaborateur de la"
                " banque : nous ne vous les demanderons jamais."
            ),
            (
                "3. Sécurité. Après cinq tentatives de connexion infructueuses, votre accès est bloqué ; "
                "la fonction « Réinitialiser vos identifiants ? » le débloque. Signalez-nous sans délai "
                "toute utilisation suspecte de votre accès."
            ),
            (
                "4. Coordonnées. Vous tenez à jour votre adresse e-mail et vos numéros de mobile : les "
                "codes et les messages de sécurité y sont envoyés."
            ),
            (
                "5. Données personnelles. Nous traitons vos données pour vous donner accès à l'espace "
                "client et pour le sécuriser, conformément à notre déclaration de confidentialité."
            ),
            (
                "6. Modifications. Nous pouvons modifier ces conditions ; la nouvelle version vous est "
                "présentée lors de votre connexion suivante et doit être acceptée pour continuer."
            ),
        ),
    ),
    "nl": (
        "Gebruiksvoorwaarden van de klantenruimte",
        (
            (
                "1. Voorwerp. Deze voorwaarden regelen de toegang tot en het gebruik van de klantenruimte"
                " van Banque Aubépine."
            ),
            (
                "2. Identificatiegegevens. Uw gebruikers-ID, uw wachtwoord en de codes die u per sms "
                "ontvangt, zijn strikt persoonlijk. Deel ze met niemand, ook niet met een medewerker van "
                "de bank: wij zullen er nooit om vragen."
            ),
            (
                "3. Veiligheid. Na vijf mislukte aanmeldpogingen wordt uw toegang geblokkeerd; de functie"
                ' "Aanmeldgegevens opnieuw instellen?" deblokkeert ze. Meld ons onmiddellijk elk verdacht'
                " gebruik van uw toegang."
            ),
            (
                "4. Contactgegevens. U houdt uw e-mailadres en uw gsm-nummers up-to-date: de codes en de "
                "veiligheidsberichten worden daarheen gestuurd."
            ),
            (
                "5. Persoonsgegevens. Wij verwerken uw gegevens om u toegang te geven tot de "
                "klantenruimte en om die te beveiligen, overeenkomstig onze privacyverklaring."
            ),
            (
                "6. Wijzigingen. Wij kunnen deze voorwaarden wijzigen; de nieuwe versie wordt u bij uw "
                "volgende aanmelding voorgelegd en moet aanvaard worden om verder te gaan."
            ),
        ),
    ),
    "en": (
        "Terms of use of the customer space",
        (
            ("1. Purpose. These terms govern access to and use of the Banque Aubépine customer space."),
            (
                "2. Credentials. Your user ID, your password and the codes you receive by SMS are "
                "strictly personal. Do not share them with anyone, not even with a member of the bank's "
                "staff: we will never ask you for them."
            ),
            (
                '3. Security. After five failed logon attempts your access is locked; the "Reset logon '
                'credentials?" function unlocks it. Tell us at once about any suspicious use of your '
                "access."
            ),
            (
                "4. Contact details. You keep your e-mail address and mobile numbers up to date: codes "
                "and security messages are sent there."
            ),
            (
                "5. Personal data. We process your data to give you access to the customer space and to "
                "keep it secure, as described in our privacy notice."
            ),
            (
                "6. Changes. We may change these terms; the new version is shown to you at your next "
                "logon and must be accepted to go on."
            ),
        ),
    ),
    "de": (
        "Nutzungsbedingungen des Kundenbereichs",
        (
            (
                "1. Gegenstand. Diese Bedingungen regeln den Zugang zum Kundenbereich der Banque Aubépine"
                " und dessen Nutzung."
            ),
            (
                "2. Zugangsdaten. Ihre Benutzerkennung, Ihr Passwort und die per SMS erhaltenen Codes "
                "sind streng persönlich. Geben Sie sie niemandem weiter, auch nicht einem Mitarbeiter der"
                " Bank: Wir werden Sie nie danach fragen."
            ),
            (
                "3. Sicherheit. Nach fünf fehlgeschlagenen Anmeldeversuchen wird Ihr Zugang gesperrt; die"
                " Funktion „Zugangsdaten zurücksetzen?“ entsperrt ihn. Melden Sie uns unverzüglich jede "
                "verdächtige Nutzung Ihres Zugangs."
            ),
            (
                "4. Kontaktdaten. Sie halten Ihre E-Mail-Adresse und Ihre Mobilnummern aktuell: Codes und"
                " Sicherheitsnachrichten werden dorthin gesendet."
            ),
            (
                "5. Personenbezogene Daten. Wir verarbeiten Ihre Daten, um Ihnen Zugang zum Kundenbereich"
                " zu geben und ihn zu schützen, wie in unserer Datenschutzerklärung beschrieben."
            ),
            (
                "6. Änderungen. Wir können diese Bedingungen ändern; die neue Fassung wird Ihnen bei "
                "Ihrer nächsten Anmeldung vorgelegt und muss akzeptiert werden, um fortzufahren."
            ),
        ),
    ),
}


@transaction.atomic
def load_demo() -> list[Persona]:
    agreement_load()
    for persona in PERSONAS:
        if persona.state == FRESH:
            user, created = _fresh_persona_load(persona)
        elif persona.state == FIRST_LOGIN:
            user, created = _consumer_persona_load(persona)
        else:
            user, created = _persona_load(persona)
        if persona.state in (READY, LOCKED):
            _agreement_accepted(user)
        if user.sca_required != persona.sca_required:
            User.objects.filter(pk=user.pk).update(sca_required=persona.sca_required)
        if persona.totp_secret:
            _totp_load(user, persona.totp_secret)
        if created:
            record(action="demo.persona_created", target=user, details={"journey": persona.journey})
    business_load()
    documents_load()
    paylater_load()
    return PERSONAS


# --- Business client (issue 5) -------------------------------------------------------------------

ENTITY_NAME = "Aubépine Logistique SA"
ENTITY_NUMBER = "0417497106"  # a valid Belgian enterprise number (stdnum.be.vat)
# (IBAN, label, balance): valid Belgian IBANs (schwifty).
ACCOUNTS = [
    ("BE68539007547034", "Compte courant", Decimal("48250.75")),
    ("BE62510007547061", "Compte épargne", Decimal("120000.00")),
    ("BE35310123456737", "Compte salaires", Decimal("15830.40")),
]
CONTRACTS = [
    (ContractKind.REMOTE_BANKING, "BAD-2026-0001", "Banque à distance", "Accès en ligne, 10 utilisateurs."),
    (ContractKind.CARDS, "CRT-2026-0001", "Cartes affaires", "5 cartes Mastercard Business."),
]
# The users of the entity: user ID -> (resource rights, administration).
MEMBERS = {
    "ENT200001": ((Right.CONSULTATION, Right.MANAGEMENT, Right.VALIDATION), True),  # director
    "ENT200002": ((Right.CONSULTATION,), False),  # accountant
    "ENT200003": ((Right.CONSULTATION, Right.MANAGEMENT), False),  # preparer
    "ENT200004": ((Right.CONSULTATION, Right.MANAGEMENT, Right.VALIDATION), False),  # validator
}
# Registered by the advisor, waiting to be added by the administrator: (first, last, birth, phone, e-mail).
WAITING_PERSONS = [
    ("Jan", "Peeters", dt.date(1987, 4, 12), "+32470223344", "jan.peeters@example.com"),
    ("Lotte", "Maes", dt.date(1992, 11, 3), "+32470889900", ""),
]
PAYEE = ("Vandenbroucke SPRL", "BE71096123456769")
WAITING_TRANSFER_ID = "DEMO-AUBEPINE-0001"
WAITING_TRANSFER_AMOUNT = Decimal("1250.50")
COUNTERPARTIES = [
    ("Vandenbroucke SPRL", "BE71096123456769", "Facture"),
    ("Proximus SA", "BE43068999999501", "Télécom"),
    ("Engie Electrabel", "BE21001234567803", "Énergie"),
    ("Transports Delhaize", "BE94735001234514", "Transport"),
    ("Client Martin & Fils", "BE24063987654338", "Paiement client"),
]
TRANSACTION_COUNT = 60
TRANSACTION_PREFIX = "DEMO-"


def business_load() -> Entity:
    entity, _created = Entity.objects.update_or_create(
        company_number_scheme=CompanyNumberScheme.BE,
        company_number=ENTITY_NUMBER,
        defaults={"name": ENTITY_NAME, "allow_self_validation": False},
    )
    accounts = [
        BankAccount.objects.update_or_create(
            iban=iban,
            defaults={"entity": entity, "label": label, "currency": "EUR", "balance": balance,
                      "balance_at": timezone.now()},
        )[0]
        for iban, label, balance in ACCOUNTS
    ]  # fmt: skip
    contracts = [
        Contract.objects.update_or_create(
            entity=entity,
            reference=reference,
            defaults={"kind": kind, "label": label, "details": details, "started_on": dt.date(2026, 1, 2)},
        )[0]
        for kind, reference, label, details in CONTRACTS
    ]
    for user_id, (rights, administration) in MEMBERS.items():
        user = User.objects.get(user_id=user_id)
        _member_load(entity, user)
        _rights_load(entity, user, accounts, contracts, rights, administration)
    for first_name, last_name, birth_date, phone, email in WAITING_PERSONS:
        _waiting_person_load(entity, first_name, last_name, birth_date, phone, email)
    preparer = User.objects.get(user_id="ENT200003")
    _waiting_transfer_load(entity, accounts[0], preparer)
    _transactions_load(accounts)
    return entity


def _member_load(entity: Entity, user: User) -> None:
    Person.objects.update_or_create(
        entity=entity,
        user=user,
        defaults={
            "first_name": user.first_name,
            "last_name": user.last_name,
            "birth_date": dt.date(1980, 5, 17),
            "mobile_phone": str(user.mobile_phone),
            "email": user.email,
            "language": user.preferred_language,
            "status": PersonStatus.ACTIVE,
        },
    )


def _rights_load(
    entity: Entity,
    user: User,
    accounts: list[BankAccount],
    contracts: list[Contract],
    rights: tuple[str, ...],
    administration: bool,
) -> None:
    """Exactly the documented rights; what was added or withdrawn is kept in the rights' history."""
    wanted = {("account", a.pk, r) for a in accounts for r in rights}
    wanted |= {("contract", c.pk, r) for c in contracts for r in rights}
    if administration:
        wanted.add(("entity", entity.pk, Right.ADMINISTRATION))
    held = {}
    for grant in Grant.objects.filter(entity=entity, user=user):
        if grant.right == Right.ADMINISTRATION:
            held[("entity", entity.pk, grant.right)] = grant
        elif grant.account_id:
            held[("account", grant.account_id, grant.right)] = grant
        else:
            held[("contract", grant.contract_id, grant.right)] = grant
    labels = {("account", a.pk): str(a) for a in accounts} | {("contract", c.pk): str(c) for c in contracts}
    labels[("entity", entity.pk)] = entity.name
    for key in set(held) - wanted:
        held[key].delete()
        _history(entity, user, key, GrantChange.Action.REVOKED, labels.get(key[:2], ""))
    for key in sorted(wanted - set(held)):
        kind, pk, right = key
        Grant.objects.create(
            entity=entity,
            user=user,
            right=right,
            account_id=pk if kind == "account" else None,
            contract_id=pk if kind == "contract" else None,
        )
        _history(entity, user, key, GrantChange.Action.GRANTED, labels[key[:2]])


def _history(entity: Entity, user: User, key: tuple, action: str, label: str) -> None:
    kind, pk, right = key
    GrantChange.objects.create(
        entity=entity,
        user=user,
        action=action,
        right=right,
        account_id=pk if kind == "account" else None,
        contract_id=pk if kind == "contract" else None,
        resource_label=label[:200],
        actor_label="demo",
    )


def _waiting_person_load(
    entity: Entity, first_name: str, last_name: str, birth_date: dt.date, phone: str, email: str
) -> None:
    """Registered, not a user: a user added during an earlier demo is detached and deactivated."""
    person = Person.objects.filter(entity=entity, first_name=first_name, last_name=last_name).first()
    if person is not None and person.user_id is not None:
        Grant.objects.filter(entity=entity, user_id=person.user_id).delete()
        User.objects.filter(pk=person.user_id).update(is_active=False)
    values = {
        "birth_date": birth_date,
        "mobile_phone": phone,
        "email": email,
        "language": "fr",
        "user": None,
        "status": PersonStatus.REGISTERED,
        "registered_by": User.objects.filter(user_id="advisor").first(),
    }
    if person is None:
        Person.objects.create(entity=entity, first_name=first_name, last_name=last_name, **values)
    else:
        Person.objects.filter(pk=person.pk).update(**values)


def _waiting_transfer_load(entity: Entity, account: BankAccount, preparer: User) -> Transfer:
    """Prepared by the preparer for tomorrow, never validated: back in that state at each load."""
    name, iban = PAYEE
    Beneficiary.objects.get_or_create(entity=entity, iban=iban, name=name, defaults={"created_by": preparer})
    transfer, _created = Transfer.objects.update_or_create(
        end_to_end_id=WAITING_TRANSFER_ID,
        defaults={
            "entity": entity,
            "debtor_account": account,
            "batch": None,
            "beneficiary_name": name,
            "beneficiary_iban": iban,
            "beneficiary_bic": "",
            "amount": WAITING_TRANSFER_AMOUNT,
            "currency": "EUR",
            "execution_date": timezone.localdate() + dt.timedelta(days=1),
            "remittance_information": "Facture 2026-042",
            "structured_reference": "",
            "status": TransferStatus.PREPARED,
            "version": 1,
            "prepared_by": preparer,
            "last_edited_by": preparer,
            "export_file": None,
            "rejection_reason": "",
        },
    )
    Validation.objects.filter(transfer=transfer).delete()
    return transfer


def _transactions_load(accounts: list[BankAccount]) -> None:
    """About sixty bookings over the last three months, the same each time (fixed seed), dated from today."""
    Transaction.objects.filter(account__in=accounts, reference__startswith=TRANSACTION_PREFIX).delete()
    draw = random.Random(2026)  # noqa: S311 (demo data, not a secret)
    today = timezone.localdate()
    rows = []
    for i in range(TRANSACTION_COUNT):
        name, iban, what = COUNTERPARTIES[i % len(COUNTERPARTIES)]
        credit = what == "Paiement client"
        amount = Decimal(draw.randint(1500, 450000)) / 100
        booked = today - dt.timedelta(days=draw.randint(0, 89))
        rows.append(
            Transaction(
                account=accounts[0] if i % 4 else accounts[1 + (i // 4) % 2],
                booking_date=booked,
                value_date=booked,
                amount=amount if credit else -amount,
                currency="EUR",
                counterparty_name=name,
                counterparty_iban=iban,
                description=f"{what} {booked:%m/%Y}",
                reference=f"{TRANSACTION_PREFIX}{i + 1:04d}",
            )
        )
    Transaction.objects.bulk_create(rows)


# --- Document portal (issue 6) -------------------------------------------------------------------

ISSUERS = {"DL2": "Aubépine Lease Services", "DL5": "Aubépine Lease Belgium"}
ANNA = "0899999949"
ACCOUNTANT = "boekhouding@example.com"
# Anna's customer numbers: (prefix, number, customer, company number, monthly lease excluding VAT).
ANNA_NUMBERS = [
    ("DL2", "204518", "Schmidt Logistik BV", "0899999949", Decimal("1850.00")),
    ("DL2", "204519", "Schmidt Kühltransporte GmbH", "", Decimal("640.00")),
    ("DL5", "517300", "Schmidt Logistik BV", "0899999949", Decimal("2375.00")),
]
SHARED_NUMBER = ("DL2", "204518")  # the one her accountant sees
# (user ID, prefix, number) -> how often they hear of new documents.
FREQUENCIES = {
    (ANNA, "DL2", "204518"): Frequency.IMMEDIATELY,
    (ANNA, "DL2", "204519"): Frequency.IMMEDIATELY,
    (ANNA, "DL5", "517300"): Frequency.WEEKLY,
    (ACCOUNTANT, "DL2", "204518"): Frequency.DAILY,
}
# The primary contact who has only an invitation (DL5 517342).
INVITED = {
    "prefix": "DL5",
    "number": "517342",
    "customer": ("Renard Paysages SRL", "0812345603"),
    "contact_name": "Claire Renard",
    "contact_email": "claire.renard@example.com",
    "contact_language": "fr",
}
INVITED_DOCUMENT = "F-2026-900001"
DOCUMENT_MONTHS = 7 * 12
UNREAD_DAYS = 62  # Anna has opened everything older than about two months
CREDIT_NOTE_CHANCE = 0.1
VAT_RATE = Decimal("0.21")
CENT = Decimal("0.01")
SPECIMEN_PDF = "documents/pdf/demo/aubepine-lease-specimen.pdf"
SPECIMEN_HTML = """<!doctype html><html lang="fr"><head><meta charset="utf-8"><style>
@page { size: A4; margin: 25mm; } body { font-family: sans-serif; color: #1d3b2a; }
h1 { font-size: 20pt; } p { font-size: 11pt; line-height: 1.5; }</style></head><body>
<h1>Aubépine Lease</h1>
<p>Document de démonstration — Demodocument — Demo-Dokument — Demo document.</p>
<p>Les montants de chaque facture et note de crédit sont affichés sur sa page dans Guichet.<br>
The amounts of each invoice and credit note are shown on its page in Guichet.</p>
</body></html>"""


def documents_load() -> None:
    issuers = {
        prefix: Issuer.objects.update_or_create(prefix=prefix, defaults={"name": name})[0]
        for prefix, name in ISSUERS.items()
    }
    anna = User.objects.get(user_id=ANNA)
    numbers = _anna_numbers_load(anna, issuers)
    _anna_documents_load(anna, numbers)
    accountant = User.objects.get(user_id=ACCOUNTANT)
    _sharing_load(anna, accountant, numbers[SHARED_NUMBER])
    for (user_id, prefix, number), frequency in FREQUENCIES.items():
        NotificationPreference.objects.update_or_create(
            user=anna if user_id == ANNA else accountant,
            customer_number=numbers[(prefix, number)],
            defaults={"frequency": frequency},
        )
    _invited_load(issuers[INVITED["prefix"]])
    _einvoicing_load(issuers, anna)


def _anna_numbers_load(anna: User, issuers: dict[str, Issuer]) -> dict[tuple[str, str], CustomerNumber]:
    numbers = {}
    for prefix, number, name, company_number, _rent in ANNA_NUMBERS:
        customer = Customer.objects.get_or_create(name=name, company_number=company_number)[0]
        numbers[(prefix, number)] = CustomerNumber.objects.update_or_create(
            issuer=issuers[prefix],
            number=number,
            defaults={
                "customer": customer,
                "contact_name": f"{anna.first_name} {anna.last_name}",
                "contact_email": anna.email,
                "contact_language": anna.preferred_language,
                "account": anna,
                "electronic_delivery": True,
            },
        )[0]
        if not numbers[(prefix, number)].delivery_changes.exists():
            DeliveryChannelChange.objects.create(
                customer_number=numbers[(prefix, number)],
                electronic=True,
                reason=DeliveryChannelChange.Reason.INVITATION,
                author=anna,
            )
    return numbers


def _anna_documents_load(anna: User, numbers: dict[tuple[str, str], CustomerNumber]) -> None:
    """A monthly invoice per customer number over the visible window and now and then a credit
    note, the same each day (fixed seed), dated from today; read but for the last two months."""
    Document.objects.filter(customer_number__in=numbers.values()).delete()
    pdf = _specimen_pdf()
    today = timezone.localdate()
    since = access.visible_since(today)
    draw = random.Random(2002)  # noqa: S311 (demo data, not a secret)
    sequence = dict.fromkeys(ISSUERS, 1000)
    rows = []
    for back in range(DOCUMENT_MONTHS, -1, -1):
        year, month = divmod(today.year * 12 + today.month - 1 - back, 12)
        for index, (prefix, number, _name, _company, rent) in enumerate(ANNA_NUMBERS):
            issued = dt.date(year, month + 1, 1 + 3 * index)
            if not since <= issued <= today:
                continue
            amount = (rent * Decimal(draw.randint(96, 108)) / 100).quantize(CENT)
            sequence[prefix] += 1
            rows.append(_document(numbers[(prefix, number)], "F", sequence[prefix], issued, amount, pdf))
            credited = issued + dt.timedelta(days=12)
            if draw.random() < CREDIT_NOTE_CHANCE and credited <= today:
                amount = (rent * Decimal(draw.randint(5, 40)) / 100).quantize(CENT)
                sequence[prefix] += 1
                rows.append(
                    _document(numbers[(prefix, number)], "NC", sequence[prefix], credited, amount, pdf)
                )
    documents = Document.objects.bulk_create(rows)
    read_until = today - dt.timedelta(days=UNREAD_DAYS)
    DocumentRead.objects.bulk_create(
        DocumentRead(user=anna, document=d, read_at=_at(d.issue_date + dt.timedelta(days=3)))
        for d in documents
        if d.issue_date < read_until
    )


def _document(
    number: CustomerNumber, letters: str, sequence: int, issued: dt.date, amount: Decimal, pdf: str
) -> Document:
    vat = (amount * VAT_RATE).quantize(CENT)
    return Document(
        customer_number=number,
        issuer=number.issuer,
        kind=DocumentKind.INVOICE if letters == "F" else DocumentKind.CREDIT_NOTE,
        number=f"{letters}-{issued:%Y}-{sequence:06d}",
        issue_date=issued,
        due_date=issued + dt.timedelta(days=30),
        currency="EUR",
        amount_excl_vat=amount,
        vat=vat,
        amount_incl_vat=amount + vat,
        amount_payable=amount + vat,
        pdf=pdf,
        created_at=_at(issued),
    )


def _at(day: dt.date) -> datetime:
    return datetime(day.year, day.month, day.day, 7, 0, tzinfo=ZoneInfo(settings.TIME_ZONE))


def _specimen_pdf() -> str:
    """One small PDF shared by every demo document, rendered once (WeasyPrint) and kept."""
    if default_storage.exists(SPECIMEN_PDF):
        return SPECIMEN_PDF
    import weasyprint

    content = weasyprint.HTML(string=SPECIMEN_HTML).write_pdf()
    return default_storage.save(SPECIMEN_PDF, ContentFile(content))


def _sharing_load(anna: User, accountant: User, number: CustomerNumber) -> None:
    """Her accountant, and nobody else, sees that one customer number."""
    SharedUser.objects.filter(owner=anna).exclude(email=ACCOUNTANT).delete()
    shared = SharedUser.objects.update_or_create(
        owner=anna,
        email=ACCOUNTANT,
        defaults={
            "name": f"{accountant.first_name} {accountant.last_name}",
            "language": "nl",
            "user": accountant,
        },
    )[0]
    Share.objects.filter(shared_user=shared).exclude(customer_number=number).delete()
    Share.objects.get_or_create(shared_user=shared, customer_number=number)


def _invited_load(issuer: Issuer) -> Document:
    """Claire Renard has no account: her first document's invitation waits in the outbox."""
    from guichet.documents.invitations import invitation_for_new_document
    from guichet.documents.services import document_add

    name, company_number = INVITED["customer"]
    customer = Customer.objects.get_or_create(name=name, company_number=company_number)[0]
    number = CustomerNumber.objects.update_or_create(
        issuer=issuer,
        number=INVITED["number"],
        defaults={
            "customer": customer,
            "contact_name": INVITED["contact_name"],
            "contact_email": INVITED["contact_email"],
            "contact_language": INVITED["contact_language"],
        },
    )[0]
    user = User.objects.filter(user_id__iexact=INVITED["contact_email"]).first()
    if number.account_id is not None or (user is not None and user.has_usable_password()):
        # Activated during an earlier demo: back to "invited only".
        SharedUser.objects.filter(owner_id__in={number.account_id, user and user.pk} - {None}).delete()
        CustomerNumber.objects.filter(pk=number.pk).update(account=None)
        number.account = None
        if user is not None:
            user.set_unusable_password()
            user.save(update_fields=["password"])
    document = Document.objects.filter(issuer=issuer, number=INVITED_DOCUMENT).first()
    if document is None:
        today = timezone.localdate()
        amount = Decimal("980.00")
        vat = (amount * VAT_RATE).quantize(CENT)
        return document_add(  # announces it: the invitation e-mail
            customer_number=number,
            kind=DocumentKind.INVOICE,
            number=INVITED_DOCUMENT,
            issue_date=today,
            due_date=today + dt.timedelta(days=30),
            currency="EUR",
            amount_excl_vat=amount,
            vat=vat,
            amount_incl_vat=amount + vat,
            amount_payable=amount + vat,
            pdf=None,  # Guichet renders it from the data when it is opened
        )
    waiting = Invitation.objects.filter(
        customer_number=number, used_at__isnull=True, expires_at__gt=timezone.now()
    )
    if not waiting.exists():
        invitation_for_new_document(document=document)
    return document


# --- E-invoicing and electronic delivery (issue 7) -------------------------------------------

# How the issuers appear as sellers in e-invoices (Peppol 0208 = Belgian enterprise number), and where
# their e-invoices carry the customer number (cbc:BuyerReference).
ISSUER_SELLERS = {"DL2": "0417497106", "DL5": "0403170701"}
# Customer numbers that receive paper until someone enrols them with the code of their letter:
# (prefix, number, customer, company number, contact, e-mail, language).
ENROLLING = [
    ("DL2", "300417", "Brouwerij Lambiek BV", "0202239951", "Pieter Claes", "pieter.claes@example.com", "nl"),
    ("DL5", "620001", "Marc Dubois", "", "Marc Dubois", "marc.dubois@example.com", "fr"),
    ("DL5", "517399", "Schmidt Logistik BV", "0899999949", "Anna Schmidt", "anna.schmidt@example.com", "de"),
]
ENROLLING_DOCUMENTS = 3  # monthly invoices already issued (on paper) to each of them


def _einvoicing_load(issuers: dict[str, Issuer], anna: User) -> None:
    for prefix, value in ISSUER_SELLERS.items():
        IssuerIdentifier.objects.update_or_create(
            scheme="0208", value=value, defaults={"issuer": issuers[prefix]}
        )
        IssuerIdentifier.objects.update_or_create(
            scheme="VAT", value=f"BE{value}", defaults={"issuer": issuers[prefix]}
        )
    pdf = _specimen_pdf()
    for prefix, number, name, company, contact, email, language in ENROLLING:
        customer = Customer.objects.get_or_create(name=name, company_number=company)[0]
        enrolling = CustomerNumber.objects.update_or_create(
            issuer=issuers[prefix],
            number=number,
            defaults={
                "customer": customer,
                "contact_name": contact,
                "contact_email": email,
                "contact_language": language,
            },
        )[0]
        _enrolling_reset(enrolling, anna)
        if not enrolling.documents.exists():
            today = timezone.localdate()
            Document.objects.bulk_create(
                _document(
                    enrolling,
                    "F",
                    5000 + int(number) % 1000 * 10 + back,
                    _months_ago(today, back),
                    amount,
                    pdf,
                )
                for back, amount in zip(
                    range(ENROLLING_DOCUMENTS, 0, -1), (Decimal("410.00"),) * 3, strict=True
                )
            )
        latest = enrolling.activation_codes.first()
        if latest is None or latest.used_at or latest.revoked_at or latest.expires_at <= timezone.now():
            activation_code_issue(customer_number=enrolling)
    _einvoices_write()


def einvoices_folder() -> Path:
    """Where the demo leaves e-invoices for ``manage.py import_documents`` (not imported by the load)."""
    return Path(settings.MEDIA_ROOT).parent / "demo-einvoices"


def _einvoices_write() -> None:
    """Today's Peppol e-invoices of the billing system: two for Anna's DL2 204518, a credit note for DL5
    517300 (the issuers recognise their seller identifiers; the buyer reference is the customer number)."""
    from guichet.documents.testing_ubl import invoice_xml, structured_communication

    folder = einvoices_folder()
    folder.mkdir(parents=True, exist_ok=True)
    today = timezone.localdate()
    wanted = [
        ("DL2", "204518", f"E-{today:%Y%m%d}-1", False),
        ("DL2", "204518", f"E-{today:%Y%m%d}-2", False),
        ("DL5", "517300", f"EC-{today:%Y%m%d}-1", True),
    ]
    for old in folder.glob("*.xml"):
        old.unlink()
    for index, (prefix, number, document, credit) in enumerate(wanted, start=1):
        seller = ISSUER_SELLERS[prefix]
        content = invoice_xml(
            number=document,
            seller_endpoint=("0208", seller),
            seller_vat=f"BE{seller}",
            seller_name=ISSUERS[prefix],
            buyer_reference=number,
            buyer_endpoint=("0208", ANNA),
            buyer_vat=f"BE{ANNA}",
            buyer_name="Schmidt Logistik BV",
            issue_date=today,
            credit_note=credit,
            payment_id=None if credit else structured_communication(int(f"{today:%y%m%d}{index:04d}")),
        )
        (folder / f"{document}.xml").write_bytes(content)


def _months_ago(today: dt.date, back: int) -> dt.date:
    year, month = divmod(today.year * 12 + today.month - 1 - back, 12)
    return dt.date(year, month + 1, 5)


def _enrolling_reset(number: CustomerNumber, anna: User) -> None:
    """Enrolled during an earlier demo: back to paper with a fresh code, so the journey can be tried again."""
    if number.account_id is None and not number.electronic_delivery:
        return
    holder = number.account
    CustomerNumber.objects.filter(pk=number.pk).update(account=None, electronic_delivery=False)
    number.account, number.electronic_delivery = None, False
    DeliveryChannelChange.objects.filter(customer_number=number).delete()
    if holder is not None and holder.pk != anna.pk and not holder.customer_numbers.exists():
        holder.set_unusable_password()  # a new user again: the code's journey creates the account anew
        holder.save(update_fields=["password"])
        User.objects.filter(pk=holder.pk).update(user_id=f"demo-reset-{holder.pk}", email="", is_active=False)
    ActivationCode.objects.filter(customer_number=number, used_at__isnull=False).update(
        revoked_at=timezone.now()
    )


def einvoicing_lines() -> list[str]:
    lines = [
        "Electronic delivery (issue 7): 'I am a new user' on the login page, or Customer numbers: add a code."
    ]
    for prefix, number, name, _company, contact, email, _language in ENROLLING:
        enrolling = CustomerNumber.objects.get(issuer__prefix=prefix, number=number)
        code = enrolling.activation_codes.filter(used_at__isnull=True, revoked_at__isnull=True).first()
        plain = code_format(crypto_decrypt(code.code_encrypted)) if code else "(none)"
        who = (
            "for Anna Schmidt's existing account"
            if email == "anna.schmidt@example.com"
            else f"{contact} <{email}>"
        )
        lines.append(f"  {prefix} {number} ({name}), {who}: activation code {plain}")
    lines.append(
        "  Paper: `python manage.py print_batch` puts every document not delivered electronically in a ZIP."
    )
    lines.append(
        f"  E-invoices (Peppol BIS 3) from the billing system: `python manage.py import_documents "
        f"{einvoices_folder()}` (the worker then tells Anna Schmidt)."
    )
    return lines


def agreement_load() -> list[UserAgreement]:
    """Version 1 of the user agreement, in force, in every language."""
    return [
        UserAgreement.objects.update_or_create(
            version=AGREEMENT_VERSION,
            language=language,
            defaults={"title": title, "text": text, "published_at": AGREEMENT_IN_FORCE_FROM},
        )[0]
        for language, (title, paragraphs) in AGREEMENT_TEXTS.items()
        for text in ["\n\n".join(paragraphs)]
    ]


def _persona_load(persona: Persona) -> tuple[User, bool]:
    user, created = get_user_model().objects.update_or_create(
        user_id=persona.user_id,
        defaults={
            "first_name": persona.first_name,
            "last_name": persona.last_name,
            "email": persona.email,
            "mobile_phone": persona.mobile_phone,
            "alternate_mobile_phone": persona.alternate_mobile_phone,
            "preferred_language": persona.language,
            "kind": persona.kind,
            "is_staff": persona.is_staff,
            "is_superuser": persona.is_superuser,
            "is_active": True,
            "password_is_temporary": False,
            "password_expires_at": None,
            "failed_login_count": 5 if persona.state == LOCKED else 0,
        },
    )
    user.set_password(persona.password)
    if persona.state == LOCKED:
        user.locked_at = user.locked_at or timezone.now()
    else:
        user.locked_at = None
    user.save(update_fields=["password", "locked_at"])
    if persona.advisor:
        user.groups.add(advisor_group())
    return user, created


def _fresh_persona_load(persona: Persona) -> tuple[User, bool]:
    """Provisioned like any user (two e-mails); given new credentials once the previous ones were used."""
    user = User.objects.filter(user_id=persona.user_id).first()
    if user is None:
        user = services.user_provision(
            user_id=persona.user_id,
            email=persona.email,
            phones=[persona.mobile_phone, persona.alternate_mobile_phone],
            language=persona.language,
            first_name=persona.first_name,
            last_name=persona.last_name,
        )
        return user, True
    still_fresh = user.password_is_temporary and not services.temporary_password_expired(user)
    User.objects.filter(pk=user.pk).update(
        email=persona.email,
        mobile_phone=persona.mobile_phone,
        alternate_mobile_phone=persona.alternate_mobile_phone,
        preferred_language=persona.language,
        is_active=True,
    )
    if not still_fresh:
        AgreementAcceptance.objects.filter(user=user).delete()
        Authenticator.objects.filter(user=user).delete()  # enrols again at the next first login
        User.objects.filter(pk=user.pk).update(password_hint_encrypted="")
        user.refresh_from_db()
        services.credentials_issue(user=user)
    return user, False


def _consumer_persona_load(persona: Persona) -> tuple[User, bool]:
    """A consumer record from the lender's intake, without a password: she uses "First login"."""
    created = not User.objects.filter(user_id=persona.email.lower()).exists()
    user = services.consumer_ensure(
        email=persona.email,
        first_name=persona.first_name,
        last_name=persona.last_name,
        language=persona.language,
    )
    user.set_unusable_password()
    user.failed_login_count, user.locked_at = 0, None
    user.save(update_fields=["password", "failed_login_count", "locked_at"])
    AgreementAcceptance.objects.filter(user=user).delete()
    return user, created


def _totp_load(user: User, secret: str) -> None:
    """The persona's only authenticator: the app with ``secret`` (kept as is when already there)."""
    authenticators = Authenticator.objects.filter(user=user)
    app = authenticators.filter(type=Authenticator.Type.TOTP).first()
    if app is not None and decrypt(app.data["secret"]) == secret and authenticators.count() == 1:
        return
    authenticators.delete()
    TOTP.activate(user, secret)


def totp_uri(persona: Persona) -> str:
    """The otpauth:// URI an authenticator app reads (as the QR code of the Security page does)."""
    issuer = getattr(settings, "MFA_TOTP_ISSUER", "") or settings.GUICHET_INSTITUTION_NAME
    params = urlencode({"secret": persona.totp_secret, "issuer": issuer}, quote_via=quote)
    return f"otpauth://totp/{quote(persona.user_id)}?{params}"


def _agreement_accepted(user: User) -> None:
    agreement = UserAgreement.objects.get(version=AGREEMENT_VERSION, language=user.preferred_language)
    services.agreement_accept(user=user, agreement=agreement)


PASSWORD_NOTES = {
    FRESH: "(temporary: read it in /dev/outbox/)",
    FIRST_LOGIN: "(none yet: First login)",
}


def personas_table() -> str:
    width = max(len(p.user_id) for p in PERSONAS)
    lines = ["Demo personas (user ID / password — journey):"]
    lines += [
        f"  {p.user_id:<{width}}  {p.password or PASSWORD_NOTES[p.state]:<40} {p.journey}" for p in PERSONAS
    ]
    lines.append("E-mails and SMS: /dev/outbox/. Back office: /backoffice/ (advisor or admin).")
    lines.append(
        f"Business client {ENTITY_NAME} (BE {ENTITY_NUMBER[:4]}.{ENTITY_NUMBER[4:7]}.{ENTITY_NUMBER[7:]}): "
        f"{len(ACCOUNTS)} accounts, {len(CONTRACTS)} contracts, {TRANSACTION_COUNT} transactions "
        "over 3 months."
    )
    lines.append(
        "  ENT200001 administrator + director, ENT200002 accountant, ENT200003 preparer, ENT200004 validator."
    )
    lines.append(
        f"  Waiting for validation: {WAITING_TRANSFER_AMOUNT} EUR to {PAYEE[0]}, prepared by ENT200003 "
        "(validate it as ENT200004 or ENT200001)."
    )
    waiting = ", ".join(
        f"{first} {last} ({email or 'no e-mail yet'})"
        for first, last, _born, _phone, email in WAITING_PERSONS
    )
    lines.append(f"  Registered by the advisor, waiting to be added by ENT200001: {waiting}.")
    lines += documents_lines()
    lines += paylater_lines()
    for persona in PERSONAS:
        if persona.totp_secret:
            lines.append(
                f"Authenticator app of {persona.user_id}: add this key (time-based, 6 digits, 30 s) "
                f"to any authenticator app: {persona.totp_secret}"
            )
            lines.append(f"  or open/scan this URI: {totp_uri(persona)}")
    lines.append(
        "Passkeys: open the demo at http://localhost:8000/ (not 127.0.0.1: WebAuthn needs a domain name)."
    )
    return "\n".join(lines)


def documents_lines() -> list[str]:
    shared = " ".join(SHARED_NUMBER)
    codes = ", ".join(f"{prefix} {number}" for prefix, number, *_rest in ANNA_NUMBERS)
    count = Document.objects.filter(customer_number__account__user_id=ANNA).count()
    issuers = " and ".join(f"{prefix} ({name})" for prefix, name in ISSUERS.items())
    invited = f"{INVITED['prefix']} {INVITED['number']}"
    return [
        f"Document portal (seed 002): the lessor Aubépine Lease, issuers {issuers}.",
        f"  {ANNA} (Anna Schmidt) is the primary contact of {codes}: {count} invoices and credit notes "
        "over 7 years (the last two months unread).",
        f"  {ACCOUNTANT} (her accountant, in Dutch) sees {shared} only, shared by Anna Schmidt.",
        f"  {INVITED['contact_name']} ({INVITED['contact_email']}), primary contact of {invited}, has no "
        "account yet: her invitation is in /dev/outbox/ (open its link to choose a password).",
        *einvoicing_lines(),
    ]
