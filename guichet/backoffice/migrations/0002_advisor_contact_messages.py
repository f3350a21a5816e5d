from django.db import migrations

from guichet.backoffice.permissions import ADVISOR_GROUP, grant_permissions

# Advisors read and handle the messages of the help app's contact form.
PERMISSIONS = ("help.view_contactmessage", "help.change_contactmessage")


def grant(apps, schema_editor):
    grant_permissions(apps, schema_editor, group_name=ADVISOR_GROUP, permissions=PERMISSIONS)


def revoke(apps, schema_editor):
    group_model = apps.get_model("auth", "Group")
    alias = schema_editor.connection.alias
    group = group_model.objects.using(alias).filter(name=ADVISOR_GROUP).first()
    if group is not None:
        group.permissions.remove(
            *group.permissions.filter(
                content_type__app_label="help", codename__in=[p.split(".")[1] for p in PERMISSIONS]
            )
        )


class Migration(migrations.Migration):
    dependencies = [
        ("backoffice", "0001_advisor_group"),
        ("help", "0001_initial"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
