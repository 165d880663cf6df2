"""The reconciler re-sends the tasks of robots, access entries and identities left
pending or removing (a lost message, a killed worker)."""

from datetime import timedelta

from django.utils import timezone

from docker_repos.access import access_set
from docker_repos.models import RepoAccess, RobotAccount
from docker_repos.reconcile import reconcile
from hub.choices import Status
from identities.models import EcrIdentity
from tests.access_helpers import active_repo, converging, db_grants, policy_grants


def age(model, settings):
    model.objects.update(
        updated_at=timezone.now() - timedelta(seconds=settings.HUB_RECONCILE_STUCK_AFTER + 1)
    )


def test_lost_messages_are_sent_again_and_everything_ends_active(
    world, aws, settings, django_capture_on_commit_callbacks
):
    repo = active_repo(world)
    # The request committed, but none of its messages reached a worker.
    with django_capture_on_commit_callbacks(execute=False):
        access_set(
            actor=world.users["member"],
            repo=repo,
            robots=[{"name": "ci"}],
            users=[{"username": "padmin", "writable": False}],
        )
    for model in (RobotAccount, RepoAccess, EcrIdentity):
        age(model, settings)
    with converging(django_capture_on_commit_callbacks):
        report = reconcile()
    assert "acp/web access" in report.requeued
    assert "ECR identity hub-user-padmin" in report.requeued
    assert RobotAccount.objects.get().status == Status.ACTIVE
    assert RepoAccess.objects.get().status == Status.ACTIVE
    assert policy_grants("acp/web") == db_grants(repo)


def test_recent_entries_are_left_to_their_tasks(world, aws, django_capture_on_commit_callbacks):
    repo = active_repo(world)
    with django_capture_on_commit_callbacks(execute=False):
        access_set(
            actor=world.users["member"],
            repo=repo,
            robots=[{"name": "ci"}],
            users=[{"username": "padmin", "writable": False}],
        )
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        report = reconcile()
    assert report.requeued == [] and callbacks == []


def test_a_dry_run_only_reports(world, aws, settings, django_capture_on_commit_callbacks):
    repo = active_repo(world)
    with django_capture_on_commit_callbacks(execute=False):
        access_set(actor=world.users["member"], repo=repo, robots=[{"name": "ci"}], users=[])
    age(RobotAccount, settings)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        report = reconcile(dry_run=True)
    assert report.requeued == ["acp/web access"] and callbacks == []
