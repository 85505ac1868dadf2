"""Marketers also make brands and a category's bands (models added after 0001)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

CRUD = ("add", "change", "delete", "view")
GRANTS = {"Marketers": {"quizzes": [f"{a}_{m}" for m in ("brand", "categoryband") for a in CRUD]}}


def grant(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, grants in GRANTS.items():
        group, _ = Group.objects.get_or_create(name=name)
        for app_label, codenames in grants.items():
            group.permissions.add(
                *Permission.objects.filter(
                    codename__in=codenames, content_type__app_label=app_label
                )
            )


class Migration(migrations.Migration):
    dependencies = [("core", "0001_groups"), ("quizzes", "0007_category_bands")]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
