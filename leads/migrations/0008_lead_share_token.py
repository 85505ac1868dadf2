import secrets

from django.db import migrations, models

import leads.models


def fill(apps, schema_editor):
    Lead = apps.get_model("leads", "Lead")
    for pk in Lead.objects.filter(share_token__isnull=True).values_list("pk", flat=True):
        Lead.objects.filter(pk=pk).update(share_token=secrets.token_urlsafe(12))


class Migration(migrations.Migration):
    dependencies = [("leads", "0007_owner_history")]

    operations = [
        migrations.AddField(
            model_name="lead",
            name="share_token",
            field=models.CharField(editable=False, max_length=24, null=True),
        ),
        migrations.RunPython(fill, migrations.RunPython.noop),
        migrations.AlterField(
            model_name="lead",
            name="share_token",
            field=models.CharField(
                default=leads.models.new_share_token, editable=False, max_length=24, unique=True
            ),
        ),
    ]
