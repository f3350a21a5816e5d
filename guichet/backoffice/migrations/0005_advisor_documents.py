from django.db import migrations

from guichet.backoffice.permissions import ADVISOR_GROUP, grant_permissions

# Advisors register issuers, customers and customer numbers (with their primary contact) and read the
# documents and the invitations; nobody edits a document in the back office.
PERMISSIONS = (
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
        ("backoffice", "0004_advisor_business_clients"),
        ("documents", "0001_initial"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
