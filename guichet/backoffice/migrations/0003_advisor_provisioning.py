from django.db import migrations

from guichet.backoffice.permissions import ADVISOR_GROUP, grant_permissions

# Advisors import CSV files of users to provision, and read the user agreements
# and their acceptances (to answer a customer); only operators edit agreements.
PERMISSIONS = (
    "identity.view_provisioningimport",
    "identity.add_provisioningimport",
    "identity.view_useragreement",
    "identity.view_agreementacceptance",
)


def grant(apps, schema_editor):
    grant_permissions(apps, schema_editor, group_name=ADVISOR_GROUP, permissions=PERMISSIONS)


def revoke(apps, schema_editor):
    group_model = apps.get_model("auth", "Group")
    alias = schema_editor.connection.alias
    group = group_model.objects.using(alias).filter(name=ADVISOR_GROUP).first()
    if group is not None:
        group.permissions.remove(
            *group.permissions.filter(
                content_type__app_label="identity", codename__in=[p.split(".")[1] for p in PERMISSIONS]
            )
        )


class Migration(migrations.Migration):
    dependencies = [
        ("backoffice", "0002_advisor_contact_messages"),
        ("identity", "0003_provisioning_import"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
