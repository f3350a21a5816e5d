from django.db import migrations

from guichet.backoffice.permissions import ADVISOR_GROUP, grant_permissions

# Issue 7: advisors keep the issuers' seller identifiers, create and download print batches, re-issue
# activation codes and merge document accounts (which moves shared users). Frozen here on purpose.
PERMISSIONS = (
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
        *group.permissions.filter(content_type__app_label="documents", codename__in=codenames)
    )


class Migration(migrations.Migration):
    dependencies = [
        ("backoffice", "0005_advisor_documents"),
        ("documents", "0002_einvoicing_intake_and_delivery"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
