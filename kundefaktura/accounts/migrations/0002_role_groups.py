from django.db import migrations

GROUPS = {
    "Saksbehandler": "act_as_caseworker",
    "Kunde": "act_as_customer",
    "Installatør": "act_as_installer",
}


def create_groups(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    # Permissions are normally created after migrate; make them exist now.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codename in GROUPS.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(Permission.objects.get(content_type__app_label="accounts", codename=codename))


def remove_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=GROUPS).delete()


class Migration(migrations.Migration):
    dependencies = [("accounts", "0001_initial"), ("auth", "0012_alter_user_first_name_max_length"),
                    ("contenttypes", "0002_remove_content_type_name")]

    operations = [migrations.RunPython(create_groups, remove_groups)]
