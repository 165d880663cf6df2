"""hub 0003: an audit event names its project by id (no foreign key into an app). The
migration keeps every event's project id as it was."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from hub.models import AuditEvent
from projects.models import Project

BEFORE = ("hub", "0002_verify_addresses_set_by_operators")


@pytest.mark.django_db(transaction=True)
def test_the_migration_keeps_each_events_project():
    executor = MigrationExecutor(connection)
    executor.migrate([BEFORE])
    old = executor.loader.project_state([BEFORE]).apps
    project = old.get_model("projects", "Project").objects.create(shortname="acp", name="ACP")
    Event = old.get_model("hub", "AuditEvent")
    kept = Event.objects.create(
        action="service.created", project=project, project_shortname="acp"
    ).pk
    none = Event.objects.create(action="api_token.created").pk

    # Forward to every app's latest migration, not just AFTER: the migrations that came
    # after it (hub's own included) must be back for the tests that follow.
    forward = MigrationExecutor(connection)
    forward.migrate(forward.loader.graph.leaf_nodes())

    assert AuditEvent.objects.get(pk=kept).project_id == project.pk
    assert AuditEvent.objects.get(pk=none).project_id is None
    # No foreign key is left: an event keeps naming a project that is gone.
    Project.objects.filter(pk=project.pk).delete()
    assert AuditEvent.objects.get(pk=kept).project_id == project.pk
