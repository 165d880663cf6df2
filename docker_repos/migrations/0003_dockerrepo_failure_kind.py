"""Why a repository failed, as a field the reconciler selects on (it used to search the
status detail for the words " — gave up after"). Existing failed rows get their kind from
the words the hub wrote then."""

from django.db import migrations, models

# The wording of hub.tasks.converge when these rows failed (frozen here on purpose: the
# message may be reworded later, these rows keep the words they have).
GAVE_UP = " — gave up after"
DATABASE = "The hub's database failed while working on this"
BUG = "Unexpected error in the hub ("


def kinds_from_details(apps, schema_editor):
    DockerRepo = apps.get_model("docker_repos", "DockerRepo")
    failed = DockerRepo.objects.filter(status="failed")
    failed.filter(status_detail__contains=GAVE_UP).update(failure_kind="gave_up")
    failed.filter(failure_kind="", status_detail__startswith=DATABASE).update(
        failure_kind="database")
    failed.filter(failure_kind="", status_detail__startswith=BUG).update(failure_kind="bug")
    failed.filter(failure_kind="").update(failure_kind="aws_error")


class Migration(migrations.Migration):
    dependencies = [
        ("docker_repos", "0002_repoaccess_robotaccount"),
    ]

    operations = [
        migrations.AddField(
            model_name="dockerrepo",
            name="failure_kind",
            field=models.CharField(
                blank=True,
                choices=[
                    ("", "Not failed"),
                    ("aws_error", "AWS refused the change"),
                    ("gave_up", "AWS unreachable or busy through every retry"),
                    ("database", "The hub's database failed"),
                    ("bug", "Unexpected error in the hub"),
                ],
                default="",
                max_length=16,
            ),
        ),
        migrations.RunPython(kinds_from_details, migrations.RunPython.noop),
    ]
