"""The Marketers and Sales groups, with their permissions."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

QUIZ_MODELS = ["quiz", "category", "tier", "question", "choice"]
GROUPS = {
    "Marketers": [
        *(
            f"{action}_{model}"
            for model in QUIZ_MODELS
            for action in ("add", "change", "delete", "view")
        ),
        "view_attempt",
        "view_answer",
        "view_lead",
    ],
    "Sales": ["view_lead", "change_lead"],
}


def create_groups(apps, schema_editor):
    # Permissions are normally made after migrate; make them now so the groups get them.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, codenames in GROUPS.items():
        group, _ = Group.objects.get_or_create(name=name)
        permissions = Permission.objects.filter(
            codename__in=codenames, content_type__app_label__in=["quizzes", "leads"]
        )
        group.permissions.add(*permissions)


def remove_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=GROUPS).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("leads", "0001_initial"),
        ("quizzes", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_groups, remove_groups)]
