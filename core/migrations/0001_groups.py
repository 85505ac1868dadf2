"""The Marketers and Sales groups with their permissions: the one place they are made.

Marketers build quizzes and automations and read leads and conversion events;
Sales work and export leads and read their deliveries. (These grants used to be split
between leads.0002_groups and automations.0002_marketers_build_automations.)
On a database where those ran, this finds the groups and adds nothing new.
"""

from django.contrib.auth.management import create_permissions
from django.db import migrations

QUIZ_MODELS = ["quiz", "category", "tier", "question", "choice"]
AUTOMATION_MODELS = ["rule", "condition", "action"]
CRUD = ("add", "change", "delete", "view")

GROUPS = {
    "Marketers": {
        "quizzes": [f"{action}_{model}" for model in QUIZ_MODELS for action in CRUD]
        + ["view_attempt", "view_answer"],
        "leads": ["view_lead"],
        "automations": [f"{action}_{model}" for model in AUTOMATION_MODELS for action in CRUD]
        + ["view_delivery", "change_delivery", "view_deliveryattempt"],
        "tracking": ["view_conversionevent", "view_rejectedevent", "view_reconciliationrun"],
    },
    "Sales": {
        # Export too: a salesperson takes their leads into a spreadsheet (the permission
        # stays, so an admin can still take it away from the group or grant it alone).
        "leads": ["view_lead", "change_lead", "export_lead"],
        "automations": ["view_delivery", "view_deliveryattempt"],
    },
}


def create_groups(apps, schema_editor):
    # Permissions are normally made after migrate; make them now so the groups get them.
    for app_config in apps.get_app_configs():
        app_config.models_module = True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, grants in GROUPS.items():
        group, _ = Group.objects.get_or_create(name=name)
        for app_label, codenames in grants.items():
            group.permissions.add(
                *Permission.objects.filter(
                    codename__in=codenames, content_type__app_label=app_label
                )
            )


def remove_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=GROUPS).delete()


class Migration(migrations.Migration):
    # Dependencies on the apps whose permissions are granted (a migration graph edge,
    # not an import: core's code still imports nothing of ours).
    dependencies = [
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("quizzes", "0001_initial"),
        ("leads", "0004_lead_attribution"),
        ("tracking", "0003_leaner_event_indexes"),
        ("automations", "0003_webhook_url_http_only"),
    ]

    operations = [migrations.RunPython(create_groups, remove_groups)]
