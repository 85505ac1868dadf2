"""Marketers declare custom events (and their properties) and read what other systems
sent; added to the group core.0001_groups made."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

CRUD = ("add", "change", "delete", "view")
GRANTS = [f"{a}_{m}" for m in ("customevent", "customeventproperty") for a in CRUD] + [
    "view_externalevent",
    "view_identity",
]


def grant(apps, schema_editor):
    app_config = apps.get_app_config("tracking")
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group = Group.objects.filter(name="Marketers").first()
    if group is not None:
        group.permissions.add(
            *Permission.objects.filter(codename__in=GRANTS, content_type__app_label="tracking")
        )


class Migration(migrations.Migration):
    dependencies = [
        ("core", "0001_groups"),
        ("tracking", "0007_segment_ingest"),
    ]

    operations = [migrations.RunPython(grant, migrations.RunPython.noop)]
