"""The advisor group and its permissions, and the helper data migrations use to grant more.

Advisors register and provision people (one by one or by CSV import), read
the audit trail, the user agreements and who accepted them; they never see or set a
password (the back office has no password form at all). A later issue that
gives advisors a new permission appends it to ``ADVISOR_PERMISSIONS`` and
ships a data migration calling ``grant_permissions`` with it.
"""

from typing import Any

ADVISOR_GROUP = "advisor"
# Documents, issue 7 (granted by their own data migration): the seller identifiers of issuers; the
# print batches (see and download; create one now); activation codes (see them, never the code; re-issue
# one); merging two document accounts, which takes documents.change_shareduser together with
# identity.change_user and documents.change_customernumber (guichet.documents.merge.MERGE_PERMISSIONS).
# Intake clients (the billing systems' keys) stay with the operator administrators.
DOCUMENTS_ISSUE_7_PERMISSIONS: tuple[str, ...] = (
    "documents.view_issueridentifier",
    "documents.add_issueridentifier",
    "documents.change_issueridentifier",
    "documents.delete_issueridentifier",
    "documents.view_printbatch",
    "documents.add_printbatch",
    "documents.view_activationcode",
    "documents.add_activationcode",
    "documents.change_shareduser",
)
# Pay-later, issue 8 (migration 0007): merchants; orders, schedules, instalments, payments, regularisation
# plans and the card on file (its last 4 digits and expiry only) read-only, but for recording a merchant's
# cancellation (paylater.change_order). An advisor can never change a card or a consumer's password.
# The lender's order clients (machine keys) stay with the operator administrators.
PAYLATER_PERMISSIONS: tuple[str, ...] = (
    "paylater.view_merchant",
    "paylater.add_merchant",
    "paylater.change_merchant",
    "paylater.view_order",
    "paylater.change_order",
    "paylater.view_schedule",
    "paylater.view_instalment",
    "paylater.view_payment",
    "paylater.view_regularisationplan",
    "paylater.view_card",
)
ADVISOR_PERMISSIONS: tuple[str, ...] = (
    "identity.view_user",
    "identity.add_user",
    "identity.change_user",
    "audit.view_auditevent",
    "help.view_contactmessage",
    "help.change_contactmessage",
    "identity.view_provisioningimport",
    "identity.add_provisioningimport",
    "identity.view_useragreement",
    "identity.view_agreementacceptance",
    # Business clients (migration 0004): entities with their accounts and contracts, the persons
    # who may become users; rights and their history read-only (administrators change them, signed).
    "entities.view_entity",
    "entities.add_entity",
    "entities.change_entity",
    "entities.view_bankaccount",
    "entities.add_bankaccount",
    "entities.change_bankaccount",
    "entities.view_contract",
    "entities.add_contract",
    "entities.change_contract",
    "entities.view_person",
    "entities.add_person",
    "entities.change_person",
    "entities.view_grantchange",
    # Banking, read-only but for rejecting an order with its reason (banking.change_transfer).
    "banking.view_transfer",
    "banking.change_transfer",
    "banking.view_batch",
    "banking.view_exportfile",
    "banking.view_transaction",
    # Documents (migration 0005): issuers, customers and customer numbers with their primary contact;
    # documents and invitations read-only (documents come unchanged from the billing systems).
    "documents.view_issuer",
    "documents.add_issuer",
    "documents.change_issuer",
    "documents.view_customer",
    "documents.add_customer",
    "documents.change_customer",
    "documents.view_customernumber",
    "documents.add_customernumber",
    "documents.change_customernumber",
    "documents.view_document",
    "documents.view_invitation",
    # Documents, issue 7: see DOCUMENTS_ISSUE_7_PERMISSIONS.
    *DOCUMENTS_ISSUE_7_PERMISSIONS,
    # Pay-later, issue 8: see PAYLATER_PERMISSIONS.
    *PAYLATER_PERMISSIONS,
)


def grant_permissions(
    apps: Any, schema_editor: Any, *, group_name: str, permissions: tuple[str, ...]
) -> None:
    """For data migrations: grants ``"app_label.codename"`` permissions to a group, creating both.

    Permissions are normally created by ``post_migrate``, after every
    migration has run; on a fresh database they do not exist yet, so they are
    created here for the apps at hand.
    """
    from django.contrib.auth.management import create_permissions

    alias = schema_editor.connection.alias
    for app_label in sorted({permission.split(".")[0] for permission in permissions}):
        app_config = apps.get_app_config(app_label)
        app_config.models_module = True  # migration state apps have none; create_permissions needs one
        create_permissions(app_config, verbosity=0, using=alias, apps=apps)
    group_model = apps.get_model("auth", "Group")
    permission_model = apps.get_model("auth", "Permission")
    group, _created = group_model.objects.using(alias).get_or_create(name=group_name)
    for permission in permissions:
        app_label, codename = permission.split(".")
        group.permissions.add(
            permission_model.objects.using(alias).get(content_type__app_label=app_label, codename=codename)
        )
