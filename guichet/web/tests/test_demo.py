import time

from allauth.mfa.models import Authenticator
from allauth.mfa.totp.internal.auth import TOTP, format_hotp_value, generate_totp_secret, hotp_value
from allauth.mfa.utils import decrypt
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.management import call_command
from django.utils import timezone

from guichet.audit.models import AuditEvent
from guichet.banking.models import Transaction, Transfer, TransferStatus, Validation
from guichet.entities import access
from guichet.entities.models import (
    BankAccount,
    Contract,
    Entity,
    Grant,
    GrantChange,
    Person,
    PersonStatus,
    Right,
)
from guichet.identity.models import AccountKind, AgreementAcceptance, UserAgreement
from guichet.identity.services import agreement_pending, password_set
from guichet.notifications.models import Message
from guichet.notifications.testing import deliveries_run
from guichet.web.demo import (
    DEMO_TOTP_SECRET,
    ENTITY_NUMBER,
    FIRST_LOGIN,
    FRESH,
    LOCKED,
    PERSONAS,
    PREPARER_TOTP_SECRET,
    VALIDATOR_TOTP_SECRET,
    WAITING_TRANSFER_ID,
)

User = get_user_model()


def persona_user(state: str):
    return User.objects.get(user_id=next(p.user_id for p in PERSONAS if p.state == state))


def test_load_demo_twice_keeps_one_row_per_persona_and_their_passwords(db, capsys):
    call_command("load_demo")
    call_command("load_demo")

    users = User.objects.filter(user_id__in=[p.user_id for p in PERSONAS])
    assert users.count() == len(PERSONAS)
    for persona in PERSONAS:
        if persona.password is not None:
            assert users.get(user_id=persona.user_id).check_password(persona.password)
    assert AuditEvent.objects.filter(action="demo.persona_created").count() == len(PERSONAS)
    assert UserAgreement.objects.count() == 4


def test_load_demo_prints_every_persona_and_password(db, capsys):
    call_command("load_demo")

    printed = capsys.readouterr().out
    for persona in PERSONAS:
        assert persona.user_id in printed
        assert (persona.password or "") in printed
    assert "read it in /dev/outbox/" in printed


def test_advisor_persona_is_in_the_advisor_group_and_not_superuser(db):
    call_command("load_demo")

    advisor = User.objects.get(user_id="advisor")
    assert list(advisor.groups.values_list("name", flat=True)) == ["advisor"]
    assert advisor.is_staff and not advisor.is_superuser


def test_the_user_agreement_v1_is_in_force_in_every_language(db):
    call_command("load_demo")

    agreements = UserAgreement.objects.filter(version=1)
    assert sorted(agreements.values_list("language", flat=True)) == ["de", "en", "fr", "nl"]
    assert len({agreement.text for agreement in agreements}) == 4
    assert all(agreement.published_at <= timezone.now() for agreement in agreements)


def test_the_set_up_cardholder_has_accepted_the_agreement(db):
    call_command("load_demo")

    lucie = User.objects.get(user_id="CC100001")
    assert agreement_pending(user=lucie, language="fr") is None
    assert not lucie.password_is_temporary and not lucie.is_locked


def test_the_fresh_cardholder_was_provisioned_with_two_emails_and_nothing_else(db):
    call_command("load_demo")

    marc = persona_user(FRESH)
    deliveries_run()
    assert marc.password_is_temporary and marc.has_usable_password()
    assert len(marc.mobile_phones) == 2
    assert sorted(Message.objects.filter(user=marc).values_list("template", flat=True)) == [
        "identity_credentials_password",
        "identity_credentials_user_id",
    ]
    assert [message.to for message in mail.outbox if marc.email in message.to] == [[marc.email]] * 2
    assert agreement_pending(user=marc, language="fr") is not None  # the fourth onboarding step


def test_the_fresh_cardholder_keeps_unused_credentials_and_gets_new_ones_once_used(db):
    call_command("load_demo")
    call_command("load_demo")
    marc = persona_user(FRESH)
    assert Message.objects.filter(user=marc).count() == 2  # untouched: still fresh

    password_set(user=marc, password="Velo-Rouge-2026!", hint="vélo")
    call_command("load_demo")

    marc.refresh_from_db()
    assert marc.password_is_temporary and not marc.check_password("Velo-Rouge-2026!")
    assert marc.password_hint_encrypted == ""
    assert Message.objects.filter(user=marc, template="identity_credentials_password").count() == 2


def test_the_locked_cardholder_is_locked_again_at_each_load(db):
    call_command("load_demo")
    sophie = persona_user(LOCKED)
    assert sophie.is_locked and sophie.failed_login_count == 5
    User.objects.filter(pk=sophie.pk).update(locked_at=None, failed_login_count=0)

    call_command("load_demo")

    sophie.refresh_from_db()
    assert sophie.is_locked
    assert AgreementAcceptance.objects.filter(user=sophie).exists()


def test_the_consumer_has_a_record_but_no_password_yet(db):
    call_command("load_demo")
    camille = persona_user(FIRST_LOGIN)
    assert (camille.user_id, camille.kind, camille.has_usable_password()) == (
        "camille.martin@example.com",
        AccountKind.CONSUMER,
        False,
    )
    camille.set_password("Camille-Choisi-2026!")
    camille.save()

    call_command("load_demo")

    camille.refresh_from_db()
    assert not camille.has_usable_password()


def test_the_entity_user_to_enrol_is_fresh_and_must_use_strong_authentication(db):
    call_command("load_demo")

    elise = User.objects.get(user_id="ENT200002")
    assert elise.sca_required and elise.password_is_temporary
    assert not Authenticator.objects.filter(user=elise).exists()
    assert sorted(Message.objects.filter(user=elise).values_list("template", flat=True)) == [
        "identity_credentials_password",
        "identity_credentials_user_id",
    ]


def test_the_entity_administrator_has_the_printed_authenticator_app_once(db, capsys):
    call_command("load_demo")
    pieter = User.objects.get(user_id="ENT200001")
    Authenticator.objects.filter(user=pieter).delete()
    TOTP.activate(pieter, generate_totp_secret())  # somebody replaced the app in the demo

    call_command("load_demo")

    [app] = Authenticator.objects.filter(user=pieter)
    assert pieter.sca_required
    assert decrypt(app.data["secret"]) == DEMO_TOTP_SECRET
    code = format_hotp_value(hotp_value(DEMO_TOTP_SECRET, int(time.time()) // settings.MFA_TOTP_PERIOD))
    assert TOTP(app).validate_code(code)
    printed = capsys.readouterr().out
    assert DEMO_TOTP_SECRET in printed
    assert f"otpauth://totp/ENT200001?secret={DEMO_TOTP_SECRET}&issuer=" in printed
    assert "http://localhost:8000/" in printed


# --- Business client (issue 5) ----------------------------------------------------------------------


def business_state() -> dict:
    """Everything the business demo writes, to compare two loads."""
    return {
        "entities": list(Entity.objects.values_list("name", "company_number")),
        "accounts": list(BankAccount.objects.order_by("iban").values_list("iban", "label", "balance")),
        "contracts": list(Contract.objects.order_by("reference").values_list("reference", "kind")),
        "persons": list(
            Person.objects.order_by("last_name", "pk").values_list("last_name", "status", "user__user_id")
        ),
        "grants": list(
            Grant.objects.order_by("user__user_id", "right", "account_id", "contract_id").values_list(
                "user__user_id", "right", "account_id", "contract_id"
            )
        ),
        "history": GrantChange.objects.count(),
        "transfers": list(Transfer.objects.values_list("end_to_end_id", "status", "amount", "version")),
        "transactions": Transaction.objects.count(),
    }


def test_the_business_demo_loads_twice_to_the_same_rows(db):
    call_command("load_demo")
    first = business_state()

    call_command("load_demo")

    assert business_state() == first
    assert first["entities"] == [("Aubépine Logistique SA", ENTITY_NUMBER)]
    assert (len(first["accounts"]), len(first["contracts"])) == (3, 2)
    assert 55 <= first["transactions"] <= 65


def test_the_entity_numbers_and_ibans_are_valid():
    from schwifty import IBAN
    from stdnum.be import vat

    from guichet.web.demo import ACCOUNTS, COUNTERPARTIES, PAYEE

    assert vat.is_valid(ENTITY_NUMBER)
    for iban in [a[0] for a in ACCOUNTS] + [c[1] for c in COUNTERPARTIES] + [PAYEE[1]]:
        assert IBAN(iban).compact == iban


def test_the_personas_hold_their_documented_rights(db):
    call_command("load_demo")
    entity = Entity.objects.get(company_number=ENTITY_NUMBER)
    accounts = set(entity.accounts.all())
    pieter, elise, thomas, nadia = (
        User.objects.get(user_id=user_id) for user_id in ("ENT200001", "ENT200002", "ENT200003", "ENT200004")
    )

    assert access.may(pieter, Right.ADMINISTRATION, entity)
    assert set(access.accounts(pieter, Right.VALIDATION)) == accounts
    assert set(access.accounts(elise, Right.CONSULTATION)) == accounts
    assert not access.accounts(elise, Right.MANAGEMENT).exists()
    assert set(access.accounts(thomas, Right.MANAGEMENT)) == accounts
    assert not access.accounts(thomas, Right.VALIDATION).exists()
    assert set(access.accounts(nadia, Right.VALIDATION)) == accounts
    assert not any(access.may(u, Right.ADMINISTRATION, entity) for u in (elise, thomas, nadia))
    for user, secret in ((thomas, PREPARER_TOTP_SECRET), (nadia, VALIDATOR_TOTP_SECRET)):
        [app] = Authenticator.objects.filter(user=user)
        assert user.sca_required and decrypt(app.data["secret"]) == secret
        assert agreement_pending(user=user, language="fr") is None
    assert GrantChange.objects.filter(user=pieter, right=Right.ADMINISTRATION).count() == 1


def test_two_persons_wait_to_be_added_one_without_email(db):
    call_command("load_demo")

    waiting = Person.objects.filter(status=PersonStatus.REGISTERED).order_by("last_name")

    assert [(p.full_name, p.email, p.user) for p in waiting] == [
        ("Lotte Maes", "", None),
        ("Jan Peeters", "jan.peeters@example.com", None),
    ]


def test_the_waiting_transfer_is_put_back_for_validation_at_each_load(db):
    call_command("load_demo")
    transfer = Transfer.objects.get(end_to_end_id=WAITING_TRANSFER_ID)
    nadia = User.objects.get(user_id="ENT200004")
    assert (transfer.status, transfer.prepared_by.user_id) == (TransferStatus.PREPARED, "ENT200003")
    assert transfer.execution_date > timezone.localdate()
    Validation.objects.create(transfer=transfer, version=1, user=nadia, digest="0" * 64)
    Transfer.objects.filter(pk=transfer.pk).update(status=TransferStatus.VALIDATED, version=2)

    call_command("load_demo")

    transfer.refresh_from_db()
    assert (transfer.status, transfer.version) == (TransferStatus.PREPARED, 1)
    assert not Validation.objects.filter(transfer=transfer).exists()


def test_the_business_personas_and_the_waiting_work_are_printed(db, capsys):
    call_command("load_demo")

    printed = capsys.readouterr().out
    for text in (
        "Aubépine Logistique SA (BE 0417.497.106)",
        "ENT200003 preparer",
        "Preparer-Demo-2026!",
        "Valider-Demo-2026!",
        PREPARER_TOTP_SECRET,
        VALIDATOR_TOTP_SECRET,
        "1250.50 EUR to Vandenbroucke SPRL",
        "Lotte Maes (no e-mail yet)",
    ):
        assert text in printed


def test_a_waiting_person_added_during_the_demo_is_waiting_again_after_a_load(db):
    call_command("load_demo")
    jan = Person.objects.get(last_name="Peeters", status=PersonStatus.REGISTERED)
    user = User.objects.create_user("E0000042", "jan.peeters@example.com", kind=AccountKind.PROVISIONED)
    Person.objects.filter(pk=jan.pk).update(user=user, status=PersonStatus.ACTIVE)
    Grant.objects.create(entity=jan.entity, user=user, right=Right.ADMINISTRATION)

    call_command("load_demo")

    jan.refresh_from_db()
    user.refresh_from_db()
    assert (jan.status, jan.user) == (PersonStatus.REGISTERED, None)
    assert not user.is_active and not Grant.objects.filter(user=user).exists()


# --- Document portal (issue 6) -----------------------------------------------------------------------


def documents_state() -> dict:
    """Everything the documents demo writes, to compare two loads (ids change: documents are regenerated)."""
    from guichet.documents.models import CustomerNumber, Document, DocumentRead, Invitation, Share

    return {
        "numbers": list(
            CustomerNumber.objects.order_by("issuer__prefix", "number").values_list(
                "issuer__prefix", "number", "contact_email", "account__user_id"
            )
        ),
        "documents": list(
            Document.objects.order_by("issuer__prefix", "kind", "number").values_list(
                "issuer__prefix", "kind", "number", "issue_date", "amount_incl_vat"
            )
        ),
        "reads": DocumentRead.objects.count(),
        "shares": list(
            Share.objects.values_list(
                "shared_user__owner__user_id", "shared_user__user__user_id", "customer_number__number"
            )
        ),
        "invitations": Invitation.objects.count(),
    }


def test_the_documents_demo_loads_twice_to_the_same_rows_and_one_invitation(db):
    call_command("load_demo")
    first = documents_state()

    call_command("load_demo")

    assert documents_state() == first
    assert first["numbers"] == [
        ("DL2", "204518", "anna.schmidt@example.com", "0899999949"),
        ("DL2", "204519", "anna.schmidt@example.com", "0899999949"),
        ("DL2", "300417", "pieter.claes@example.com", None),
        ("DL5", "517300", "anna.schmidt@example.com", "0899999949"),
        ("DL5", "517342", "claire.renard@example.com", None),
        ("DL5", "517399", "anna.schmidt@example.com", None),
        ("DL5", "620001", "marc.dubois@example.com", None),
    ]
    assert first["shares"] == [("0899999949", "boekhouding@example.com", "204518")]
    assert first["invitations"] == 1


def test_anna_sees_a_few_hundred_documents_over_seven_years_and_her_accountant_one_number(db):
    from guichet.documents import access
    from guichet.documents.models import DocumentKind

    call_command("load_demo")
    anna = User.objects.get(user_id="0899999949")
    accountant = User.objects.get(user_id="boekhouding@example.com")

    seen = access.documents(anna)
    assert anna.kind == AccountKind.BUSINESS
    assert 250 <= seen.count() <= 320
    assert {d.kind for d in seen} == {DocumentKind.INVOICE, DocumentKind.CREDIT_NOTE}
    oldest = seen.order_by("issue_date").first().issue_date
    assert (timezone.localdate() - oldest).days > 6.5 * 365
    assert all(d.amount_excl_vat + d.vat == d.amount_incl_vat > 0 for d in seen)
    assert all(d.pdf.name == seen.first().pdf.name for d in seen)  # one shared specimen PDF
    assert seen.first().pdf.open("rb").read(5) == b"%PDF-"
    assert [n.code for n in access.customer_numbers(accountant)] == ["DL2 204518"]
    assert access.documents(accountant).count() == seen.filter(customer_number__number="204518").count()
    assert accountant.check_password("Boekhouding-Demo-2026!") and accountant.preferred_language == "nl"
    assert not access.owned_customer_numbers(accountant).exists()


def test_the_invited_contact_has_no_account_and_her_invitation_in_the_outbox(db):
    from guichet.documents.models import CustomerNumber, Invitation

    call_command("load_demo")
    deliveries_run()

    number = CustomerNumber.objects.get(number="517342")
    [invitation] = Invitation.objects.filter(customer_number=number)
    assert number.account is None and invitation.used_at is None
    assert invitation.expires_at > timezone.now()
    assert [m.to for m in mail.outbox if "claire.renard@example.com" in m.to] == [
        ["claire.renard@example.com"]
    ]
    assert (
        Message.objects.filter(recipient="claire.renard@example.com", template="documents_invitation").count()
        == 1
    )
    assert not User.objects.filter(user_id="claire.renard@example.com").exists()


def test_the_invited_contact_is_invited_again_after_activating_during_the_demo(db):
    from guichet.documents.models import CustomerNumber, Invitation, SharedUser

    call_command("load_demo")
    number = CustomerNumber.objects.get(number="517342")
    claire = User.objects.create_user(
        "claire.renard@example.com",
        "claire.renard@example.com",
        password="Claire-Choisi-2026!",
        kind="consumer",
    )
    CustomerNumber.objects.filter(pk=number.pk).update(account=claire)
    Invitation.objects.filter(customer_number=number).update(used_at=timezone.now())
    SharedUser.objects.create(owner=claire, name="Paul", email="paul@example.com", language="fr")

    call_command("load_demo")

    number.refresh_from_db()
    claire.refresh_from_db()
    assert number.account is None and not claire.has_usable_password()
    assert not SharedUser.objects.filter(owner=claire).exists()
    assert Invitation.objects.filter(customer_number=number, used_at__isnull=True).count() == 1


def test_the_documents_demo_is_printed(db, capsys):
    call_command("load_demo")

    printed = capsys.readouterr().out
    for text in (
        "DL2 (Aubépine Lease Services) and DL5 (Aubépine Lease Belgium)",
        "0899999949 (Anna Schmidt) is the primary contact of DL2 204518, DL2 204519, DL5 517300",
        "boekhouding@example.com (her accountant, in Dutch) sees DL2 204518 only",
        "Boekhouding-Demo-2026!",
        "Claire Renard (claire.renard@example.com), primary contact of DL5 517342, has no account yet",
    ):
        assert text in printed


def test_the_einvoicing_demo_keeps_one_valid_code_per_paper_number_and_resets_an_enrolment(db):
    from guichet.documents import codes
    from guichet.documents.models import ActivationCode, CustomerNumber
    from guichet.identity.crypto import decrypt

    call_command("load_demo")
    anna = User.objects.get(user_id="0899999949")
    paper = CustomerNumber.objects.filter(electronic_delivery=False, account__isnull=True)
    assert sorted(n.code for n in paper) == ["DL2 300417", "DL5 517342", "DL5 517399", "DL5 620001"]
    number = CustomerNumber.objects.get(issuer__prefix="DL5", number="517399")
    code = number.activation_codes.get(revoked_at__isnull=True)
    codes.activation_code_redeem(code=codes.code_format(decrypt(code.code_encrypted)), user=anna)
    number.refresh_from_db()
    assert (number.account, number.electronic_delivery) == (anna, True)

    call_command("load_demo")  # the next load puts it back on paper with a fresh code

    number.refresh_from_db()
    assert (number.account, number.electronic_delivery) == (None, False)
    fresh = ActivationCode.objects.filter(
        customer_number=number, used_at__isnull=True, revoked_at__isnull=True
    )
    assert fresh.count() == 1


def test_the_demo_e_invoices_import_into_annas_numbers(db, settings, tmp_path):
    from guichet.documents import intake
    from guichet.documents.models import Document
    from guichet.web.demo import einvoices_folder

    settings.MEDIA_ROOT = tmp_path / "media"
    call_command("load_demo")
    items = []

    totals = intake.paths_import(paths=[einvoices_folder()], on_item=items.append)

    assert [(i.outcome, i.reason) for i in items] == [("imported", "")] * 3
    imported = Document.objects.filter(pk__in=[i.document for i in items]).order_by("number")
    assert [(d.customer_number.code, d.kind) for d in imported] == [
        ("DL2 204518", "invoice"),
        ("DL2 204518", "invoice"),
        ("DL5 517300", "credit_note"),
    ]
    assert (totals.imported, totals.refused) == (3, 0)


# --- Pay-later (issue 8, seed 003) -------------------------------------------------------------------


def paylater_schedules(email: str) -> dict[str, object]:
    from guichet.paylater.models import Schedule

    return {
        s.order.number: s
        for s in Schedule.objects.filter(order__email=email).select_related("order__merchant")
    }


def test_the_paylater_consumers_have_a_schedule_in_progress_a_completed_one_and_159_18_unpaid(db):
    from decimal import Decimal

    from guichet.paylater import schedules
    from guichet.paylater.demo import PAYLATER_FIRST_LOGIN, PAYLATER_READY
    from guichet.paylater.models import InstalmentStatus

    call_command("load_demo")

    for email, digit in ((PAYLATER_READY, "1"), (PAYLATER_FIRST_LOGIN, "2")):
        found = paylater_schedules(email)
        assert {number: s.status for number, s in found.items()} == {
            f"ML-10010{digit}": "in_progress",
            f"VR-20020{digit}": "completed",
            f"ML-10030{digit}": "unpaid",
        }
        in_progress, unpaid = found[f"ML-10010{digit}"], found[f"ML-10030{digit}"]
        assert [(i.amount, i.status) for i in in_progress.instalments.order_by("number")] == [
            (Decimal("42.66"), InstalmentStatus.PAID),
            (Decimal("42.65"), InstalmentStatus.PAID),
            (Decimal("42.65"), InstalmentStatus.IN_PROGRESS),
        ]
        next_debit = schedules.next_debit_date(in_progress)
        assert (next_debit - timezone.localdate()).days > settings.GUICHET_PAYLATER_CARD_CHANGE_CUTOFF_DAYS
        assert schedules.amount_due(unpaid) == Decimal("159.18")
        reasons = [p.reason for p in unpaid.payments.order_by("instalment__number")]
        assert reasons == ["insufficient_funds"] * 2
        assert {s.order.merchant.name for s in found.values()} == {"Maison Lumière", "Vélo Rapide"}
        assert all(schedules.current_card(s).token.startswith("tok_test_") for s in found.values())


def test_the_paylater_demo_loads_twice_to_the_same_rows_and_puts_a_regularised_schedule_back(db):
    from guichet.paylater.demo import PAYLATER_READY
    from guichet.paylater.models import Instalment, Order, Payment

    call_command("load_demo")
    counts = (Order.objects.count(), Instalment.objects.count(), Payment.objects.count())
    unpaid = paylater_schedules(PAYLATER_READY)["ML-100301"]
    unpaid.instalments.filter(status="unpaid").update(status="paid")  # as if regularised during a demo

    call_command("load_demo")

    assert (Order.objects.count(), Instalment.objects.count(), Payment.objects.count()) == counts
    assert paylater_schedules(PAYLATER_READY)["ML-100301"].status == "unpaid"


def test_the_paylater_consumers_one_with_a_password_one_for_first_login(db):
    from guichet.paylater.demo import PAYLATER_FIRST_LOGIN, PAYLATER_READY

    call_command("load_demo")

    ready = User.objects.get(user_id=PAYLATER_READY)
    first = User.objects.get(user_id=PAYLATER_FIRST_LOGIN)
    persona = next(p for p in PERSONAS if p.user_id == PAYLATER_READY)
    assert ready.kind == AccountKind.CONSUMER and ready.check_password(persona.password)
    assert agreement_pending(user=ready, language="fr") is None
    assert not first.has_usable_password()
    assert ready.mobile_phone and first.mobile_phone  # where the signing codes go


def test_the_paylater_demo_and_the_sandbox_cards_are_printed(db, capsys):
    call_command("load_demo")

    printed = capsys.readouterr().out
    for number, meaning in [
        ("4242 4242 4242 4242", "Visa: charges accepted"),
        ("5555 5555 5555 4444", "Mastercard: charges accepted"),
        ("4000 0000 0000 0002", "declined"),
        ("4000 0000 0000 9995", "insufficient funds"),
        ("3782 822463 10005", "American Express"),
        ("4000 0000 0000 0069", "expired"),
        ("4000 0000 0000 0119", "time-out"),
    ]:
        line = next(line for line in printed.splitlines() if number in line)
        assert meaning in line
    assert "julien.moreau@example.com" in printed and "Paylater-Demo-2026!" in printed
    assert "159.18 EUR due" in printed
    assert "manage.py run_debits" in printed
