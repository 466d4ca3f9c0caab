from django.db import migrations

GROUP = "Selskapsadministrator"


def create_group(apps, schema_editor):
    from django.contrib.auth.management import create_permissions

    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=GROUP)
    group.permissions.add(*Permission.objects.filter(
        content_type__app_label="billing", codename__in=["change_companyprofile", "view_companyprofile"]))


def remove_group(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name=GROUP).delete()


class Migration(migrations.Migration):
    dependencies = [("billing", "0006_offer_outdated_basis_settled"), ("accounts", "0002_role_groups")]

    operations = [migrations.RunPython(create_group, remove_group)]
