from django.db import migrations

from guichet.backoffice.permissions import ADVISOR_GROUP, grant_permissions

# Advisors register business clients (entities, accounts, contracts) and the persons who may become
# their users, and appoint an entity's administrator; they read rights' history, transfers, batches,
# export files and transactions, and may reject an order (banking.change_transfer, used for that only).
PERMISSIONS = (
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
    "banking.view_transfer",
    "banking.change_transfer",
    "banking.view_batch",
    "banking.view_exportfile",
    "banking.view_transaction",
)


def grant(apps, schema_editor):
    grant_permissions(apps, schema_editor, group_name=ADVISOR_GROUP, permissions=PERMISSIONS)


def revoke(apps, schema_editor):
    group_model = apps.get_model("auth", "Group")
    alias = schema_editor.connection.alias
    group = group_model.objects.using(alias).filter(name=ADVISOR_GROUP).first()
    if group is None:
        return
    for app_label in ("entities", "banking"):
        codenames = [p.split(".")[1] for p in PERMISSIONS if p.startswith(f"{app_label}.")]
        group.permissions.remove(
            *group.permissions.filter(content_type__app_label=app_label, codename__in=codenames)
        )


class Migration(migrations.Migration):
    dependencies = [
        ("backoffice", "0003_advisor_provisioning"),
        ("entities", "0001_initial"),
        ("banking", "0001_initial"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
