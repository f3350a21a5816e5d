from django.db import migrations

from guichet.backoffice.permissions import ADVISOR_GROUP, grant_permissions

# Frozen here: later migrations grant further permissions, never edit this list.
INITIAL_PERMISSIONS = (
    "identity.view_user",
    "identity.add_user",
    "identity.change_user",
    "audit.view_auditevent",
)


def create_advisor_group(apps, schema_editor):
    grant_permissions(apps, schema_editor, group_name=ADVISOR_GROUP, permissions=INITIAL_PERMISSIONS)


def delete_advisor_group(apps, schema_editor):
    group_model = apps.get_model("auth", "Group")
    group_model.objects.using(schema_editor.connection.alias).filter(name=ADVISOR_GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("identity", "0001_initial"),
        ("audit", "0002_append_only_trigger"),
    ]

    operations = [migrations.RunPython(create_advisor_group, delete_advisor_group)]
