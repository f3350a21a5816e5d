"""Demo data: a fictional institution and one persona per seed journey.

Idempotent: loading twice leaves the same rows and resets the personas'
passwords to the documented ones. Later issues add their own data here.
"""

from dataclasses import dataclass

from django.contrib.auth import get_user_model
from django.db import transaction

from guichet.audit.services import record
from guichet.backoffice.services import advisor_group
from guichet.identity.models import AccountKind


@dataclass(frozen=True)
class Persona:
    user_id: str
    password: str
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


PERSONAS = [
    Persona(
        "CC100001", "Carte-Demo-2026!", "Lucie", "Dubois", "lucie.dubois@example.com",
        "+32470123412", "fr", AccountKind.PROVISIONED, "cardholder (seed 000)",
    ),
    Persona(
        "ENT200001", "Entite-Demo-2026!", "Pieter", "Janssens", "pieter.janssens@example.com",
        "+32478556677", "nl", AccountKind.PROVISIONED, "entity administrator (seed 001)",
    ),
    Persona(
        "0899999949", "Factures-Demo-2026!", "Anna", "Schmidt", "anna.schmidt@example.com",
        "+32495112233", "de", AccountKind.BUSINESS, "document recipient, business account (seed 002)",
    ),
    Persona(
        "camille.martin@example.com", "Echeance-Demo-2026!", "Camille", "Martin",
        "camille.martin@example.com", "+33612345678", "fr", AccountKind.CONSUMER,
        "pay-later consumer (seed 003)",
    ),
    Persona(
        "advisor", "Conseil-Demo-2026!", "Alex", "Peeters", "alex.peeters@aubepine.example",
        "+32470998877", "en", AccountKind.STAFF, "advisor, back office", is_staff=True, advisor=True,
    ),
    Persona(
        "admin", "Operateur-Demo-2026!", "Sam", "Lambert", "sam.lambert@aubepine.example",
        "+32470665544", "en", AccountKind.STAFF, "operator administrator, back office",
        is_staff=True, is_superuser=True,
    ),
]  # fmt: skip


@transaction.atomic
def load_demo() -> list[Persona]:
    user_model = get_user_model()
    for persona in PERSONAS:
        user, created = user_model.objects.update_or_create(
            user_id=persona.user_id,
            defaults={
                "first_name": persona.first_name,
                "last_name": persona.last_name,
                "email": persona.email,
                "mobile_phone": persona.mobile_phone,
                "preferred_language": persona.language,
                "kind": persona.kind,
                "is_staff": persona.is_staff,
                "is_superuser": persona.is_superuser,
                "is_active": True,
            },
        )
        user.set_password(persona.password)
        user.save(update_fields=["password"])
        if persona.advisor:
            user.groups.add(advisor_group())
        if created:
            record(action="demo.persona_created", target=user, details={"journey": persona.journey})
    return PERSONAS


def personas_table() -> str:
    width = max(len(p.user_id) for p in PERSONAS)
    lines = ["Demo personas (user ID / password — journey):"]
    lines += [f"  {p.user_id:<{width}}  {p.password:<22} {p.journey}" for p in PERSONAS]
    lines.append("Back office: /backoffice/ (advisor or admin).")
    return "\n".join(lines)
