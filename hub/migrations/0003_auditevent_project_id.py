"""AuditEvent refers to its project by id (plus the shortname it already copied), not by
a foreign key: the core app knows no other app. The column `project_id` and its values
stay as they are; only the foreign-key constraint goes (the event now also outlives its
project with the id it had, where the foreign key set it to null)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("hub", "0002_verify_addresses_set_by_operators"),
        ("projects", "0001_initial"),
    ]

    operations = [
        # In the database: the same column and index, without the constraint.
        migrations.AlterField(
            model_name="auditevent",
            name="project",
            field=models.ForeignKey(
                blank=True, null=True, db_constraint=False,
                on_delete=django.db.models.deletion.DO_NOTHING, related_name="+",
                to="projects.project",
            ),
        ),
        # In Django's state: a plain integer field on that column.
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.RemoveField(model_name="auditevent", name="project"),
                migrations.AddField(
                    model_name="auditevent",
                    name="project_id",
                    field=models.BigIntegerField(blank=True, db_index=True, null=True),
                ),
            ],
        ),
    ]
