from django.db import migrations

from guichet.backoffice.permissions import ADVISOR_GROUP, grant_permissions

# Issue 8: advisors see the pay-later space read-only (merchants they may keep) and record a merchant's
# cancellation (change_order). Frozen here on purpose.
PERMISSIONS = (
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


def grant(apps, schema_editor):
    grant_permissions(apps, schema_editor, group_name=ADVISOR_GROUP, permissions=PERMISSIONS)


def revoke(apps, schema_editor):
    group_model = apps.get_model("auth", "Group")
    alias = schema_editor.connection.alias
    group = group_model.objects.using(alias).filter(name=ADVISOR_GROUP).first()
    if group is None:
        return
    codenames = [p.split(".")[1] for p in PERMISSIONS]
    group.permissions.remove(
        *group.permissions.filter(content_type__app_label="paylater", codename__in=codenames)
    )


class Migration(migrations.Migration):
    dependencies = [
        ("backoffice", "0006_advisor_documents_issue_7"),
        ("paylater", "0001_initial"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
