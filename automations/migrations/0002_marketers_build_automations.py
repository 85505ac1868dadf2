"""Marketers build automations in admin and read conversion events."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

GRANTS = {
    "Marketers": [
        *(
            f"{action}_{model}"
            for model in ("rule", "condition", "action")
            for action in ("add", "change", "delete", "view")
        ),
        "view_delivery",
        "change_delivery",
        "view_deliveryattempt",
        "view_conversionevent",
        "view_rejectedevent",
        "view_reconciliationrun",
    ],
    "Sales": ["view_delivery", "view_deliveryattempt"],
}


def grant(apps, schema_editor):
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in GRANTS.items():
        group, _ = Group.objects.get_or_create(name=name)
        group.permissions.add(
            *Permission.objects.filter(
                codename__in=codenames, content_type__app_label__in=["automations", "tracking"]
            )
        )


def revoke(apps, schema_editor):
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in GRANTS.items():
        for group in Group.objects.filter(name=name):
            group.permissions.remove(*Permission.objects.filter(codename__in=codenames))


class Migration(migrations.Migration):
    dependencies = [
        ("automations", "0001_initial"),
        ("tracking", "0002_covering_report_index"),
        ("leads", "0002_groups"),
    ]

    operations = [migrations.RunPython(grant, revoke)]
