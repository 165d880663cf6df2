"""Robot keys seen by people who leave: whoever revealed a robot's current key and then is
removed from the project, deactivated or deleted, that key is rotated (a system rotation,
audited with the reason, shown on the robot's page and in the API). The reconciler catches
up with people who left without a signal (a queryset update)."""

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from docker_repos.models import RobotAccount
from docker_repos.offboarding import robots_rotate_revealed_by_departed
from docker_repos.reconcile import ReconcileReport, reconcile
from docker_repos.robots import robot_reveal_credentials, robot_rotate
from hub.choices import Status
from hub.models import AuditEvent
from projects import services as project_services
from projects.choices import Role
from projects.models import Membership
from tests.access_helpers import (
    converging,
    fake_active_repo,
    fake_robot,
    iam_keys,
    provisioned_robot,
)
from tests.api.support import client_for
from tests.helpers import assert_shows

ROBOT = "hub-robot-acp-web-drone-ci"
User = get_user_model()


@pytest.fixture
def robot(world, aws, django_capture_on_commit_callbacks) -> RobotAccount:
    return provisioned_robot(world, django_capture_on_commit_callbacks, actor="project_admin")


def seen_by(world, role: str, robot: RobotAccount) -> str:
    """`role` reveals the robot's key; the key id they saw."""
    key_id, _secret = robot_reveal_credentials(actor=world.users[role], robot=robot)
    return key_id


def assert_rotated(robot: RobotAccount, old_key: str, reason: str) -> None:
    robot.refresh_from_db()
    assert robot.status == Status.ACTIVE and not robot.rotation_requested
    assert robot.access_key_id != old_key
    assert iam_keys(ROBOT) == [robot.access_key_id]  # the seen key is gone in IAM
    assert robot.status_detail == f"Key rotated because {reason}."
    requested = AuditEvent.objects.get(action="robot.rotation_requested")
    assert requested.actor is None and requested.project_id == robot.repo.project_id
    assert requested.detail == {"access_key_id": old_key, "seen_by": "member", "reason": reason}
    rotated = AuditEvent.objects.get(action="robot.rotated")
    assert rotated.detail == {"access_key_id": robot.access_key_id, "reason": reason}


def test_a_key_seen_by_someone_removed_from_the_project_is_rotated_and_the_page_says_why(
    world, robot, client, django_capture_on_commit_callbacks
):
    old_key = seen_by(world, "member", robot)
    with converging(django_capture_on_commit_callbacks):
        project_services.membership_remove(
            actor=world.users["project_admin"], project=world.project, user=world.users["member"]
        )
    assert_rotated(robot, old_key, "member, who had seen it, left the project")

    client.force_login(world.users["project_admin"])
    response = client.get(
        reverse("docker_repos:robot", args=[world.project.shortname, robot.repo_id, robot.pk])
    )
    assert_shows(response, "Key rotated because member, who had seen it, left the project.")
    response = client_for(world.users["project_admin"]).get(
        reverse("api:repo-access", args=[robot.repo_id])
    )
    [shown] = response.json()["robots"]
    assert shown["status_detail"] == (
        "Key rotated because member, who had seen it, left the project."
    )


def test_a_key_seen_by_someone_deactivated_is_rotated(
    world, robot, django_capture_on_commit_callbacks
):
    old_key = seen_by(world, "member", robot)
    member = world.users["member"]
    member.is_active = False
    with converging(django_capture_on_commit_callbacks):
        member.save()  # as the admin's "active" checkbox does
    assert_rotated(robot, old_key, "member, who had seen it, was deactivated")


def test_a_key_seen_by_someone_deleted_is_rotated(world, robot, django_capture_on_commit_callbacks):
    old_key = seen_by(world, "member", robot)
    with converging(django_capture_on_commit_callbacks):
        world.users["member"].delete()
    assert_rotated(robot, old_key, "member, who had seen it, was deleted")


def test_only_the_current_key_seen_by_someone_who_left_counts(
    world, robot, django_capture_on_commit_callbacks
):
    """Keys seen by people who stay, keys that were already rotated since someone saw
    them, and the project someone leaves: none of these rotate anything."""
    seen_by(world, "member", robot)
    with converging(django_capture_on_commit_callbacks):
        robot_rotate(actor=world.users["project_admin"], robot=robot)
    robot.refresh_from_db()
    seen_by(world, "project_admin", robot)  # the current key: seen by someone who stays
    # The member also leaves another project: not the robot's.
    Membership.objects.create(project=world.other, user=world.users["member"], role=Role.MEMBER)
    project_services.membership_remove(
        actor=world.users["other_admin"], project=world.other, user=world.users["member"]
    )
    with converging(django_capture_on_commit_callbacks):
        project_services.membership_remove(
            actor=world.users["project_admin"], project=world.project, user=world.users["member"]
        )
    key = robot.access_key_id
    robot.refresh_from_db()
    assert (robot.status, robot.access_key_id, robot.status_detail) == (Status.ACTIVE, key, "")
    # Only the rotation the admin asked for.
    assert AuditEvent.objects.filter(action="robot.rotation_requested").count() == 1
    assert robots_rotate_revealed_by_departed(ReconcileReport()) is None
    robot.refresh_from_db()
    assert robot.access_key_id == key


def test_a_robot_not_active_when_its_viewer_leaves_is_rotated_once_it_is_active(
    world, robot, django_capture_on_commit_callbacks
):
    """Decided: only an active robot is rotated at once (one rotating gets a key nobody
    saw, one being removed loses its IAM user); any other is rotated by the reconciler's
    catch-up once it is active again."""
    old_key = seen_by(world, "member", robot)
    RobotAccount.objects.filter(pk=robot.pk).update(status=Status.FAILED)
    with converging(django_capture_on_commit_callbacks):
        project_services.membership_remove(
            actor=world.users["project_admin"], project=world.project, user=world.users["member"]
        )
    robot.refresh_from_db()
    assert (robot.status, robot.access_key_id) == (Status.FAILED, old_key)

    RobotAccount.objects.filter(pk=robot.pk).update(status=Status.ACTIVE)  # e.g. retried
    with converging(django_capture_on_commit_callbacks):
        report = reconcile()
    assert f"{ROBOT}: key seen by member who is no longer a member of the project, rotated" in (
        report.repaired
    )
    robot.refresh_from_db()
    assert robot.status == Status.ACTIVE and robot.access_key_id != old_key
    assert robot.status_detail == (
        "Key rotated because member, who had seen it, is no longer a member of the project."
    )


def test_the_reconciler_rotates_keys_seen_by_people_deactivated_without_a_signal(
    world, robot, django_capture_on_commit_callbacks
):
    old_key = seen_by(world, "member", robot)
    User.objects.filter(pk=world.users["member"].pk).update(is_active=False)  # no save()
    line = f"{ROBOT}: key seen by member who was deactivated, rotated"

    report = reconcile(dry_run=True)
    assert line in report.repaired and f"would repair {line}" in report.lines()
    robot.refresh_from_db()
    assert (robot.status, robot.access_key_id) == (Status.ACTIVE, old_key)
    assert not AuditEvent.objects.filter(action="robot.rotation_requested").exists()

    with converging(django_capture_on_commit_callbacks):
        report = reconcile()
    assert line in report.repaired
    assert_rotated(robot, old_key, "member, who had seen it, was deactivated")
    # The new key is one nobody saw: the next pass leaves it alone.
    assert reconcile().repaired == []


def test_the_reconciler_rotates_keys_seen_by_people_deleted_without_a_signal(
    world, robot, django_capture_on_commit_callbacks
):
    old_key = seen_by(world, "member", robot)
    # Deleted behind the hub's back: the reveal's actor is gone (the name stays).
    AuditEvent.objects.filter(action="robot.credentials_revealed").update(actor=None)
    with converging(django_capture_on_commit_callbacks):
        report = reconcile()
    assert f"{ROBOT}: key seen by member who was deleted, rotated" in report.repaired
    assert_rotated(robot, old_key, "member, who had seen it, was deleted")


def test_a_hub_admin_who_is_no_member_may_keep_what_they_saw(world, robot):
    key = seen_by(world, "hub_admin", robot)
    report = ReconcileReport()
    robots_rotate_revealed_by_departed(report)
    assert report.repaired == []
    robot.refresh_from_db()
    assert (robot.status, robot.access_key_id) == (Status.ACTIVE, key)


# --- Queries do not grow with the number of robots ------------------------------------


def revealed_robots(world, count: int, viewer, *, start: int = 0) -> list[RobotAccount]:
    """`count` robots (in the database only), each revealed by `viewer`."""
    Membership.objects.get_or_create(project=world.project, user=viewer)
    robots = []
    for n in range(start, start + count):
        repo = fake_active_repo(world, name=f"repo{n}")
        robot = fake_robot(repo, name="ci")
        robot_reveal_credentials(actor=viewer, robot=robot)
        robots.append(robot)
    return robots


def queries(work) -> int:
    with CaptureQueriesContext(connection) as captured:
        work()
    return len(captured)


def rotating(robots) -> int:
    return RobotAccount.objects.filter(
        pk__in=[r.pk for r in robots], status=Status.PENDING, rotation_requested=True
    ).count()


def test_offboarding_queries_do_not_grow_with_the_number_of_robots(
    world, make_user, django_capture_on_commit_callbacks
):
    few, many = make_user("few"), make_user("many")
    few_robots = revealed_robots(world, 2, few)
    many_robots = revealed_robots(world, 6, many, start=2)
    admin = world.users["project_admin"]

    with django_capture_on_commit_callbacks(execute=False):
        counts = [
            queries(
                lambda p=p: project_services.membership_remove(
                    actor=admin, project=world.project, user=p
                )
            )
            for p in (few, many)
        ]
    assert counts[0] == counts[1]
    assert (rotating(few_robots), rotating(many_robots)) == (2, 6)


def test_deactivation_queries_do_not_grow_with_the_number_of_robots(
    world, make_user, django_capture_on_commit_callbacks
):
    few, many = make_user("few"), make_user("many")
    few_robots = revealed_robots(world, 2, few)
    many_robots = revealed_robots(world, 6, many, start=2)

    def deactivate(person):
        person.is_active = False
        person.save()

    with django_capture_on_commit_callbacks(execute=False):
        counts = [queries(lambda p=p: deactivate(p)) for p in (few, many)]
    assert counts[0] == counts[1]
    assert (rotating(few_robots), rotating(many_robots)) == (2, 6)


def test_the_catch_up_reads_a_fixed_number_of_queries_per_page(
    world, make_user, django_capture_on_commit_callbacks
):
    stays, leaves = world.users["project_admin"], make_user("leaver")
    revealed_robots(world, 2, stays)  # seen by someone who stays: read, left alone
    seen = revealed_robots(world, 2, leaves, start=2)
    User.objects.filter(pk=leaves.pk).update(is_active=False)

    def catch_up():
        robots_rotate_revealed_by_departed(ReconcileReport())

    with django_capture_on_commit_callbacks(execute=False):
        before = queries(catch_up)
        assert rotating(seen) == 2
        RobotAccount.objects.update(status=Status.ACTIVE, rotation_requested=False)
        revealed_robots(world, 5, stays, start=4)
        seen += revealed_robots(world, 5, leaves, start=9)
        after = queries(catch_up)
    assert before == after
    assert rotating(seen) == 7
