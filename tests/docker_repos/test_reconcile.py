import json
from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from docker_repos import services
from docker_repos.access import access_set
from docker_repos.models import DockerRepo, RobotAccount
from docker_repos.reconcile import reconcile
from hub.aws import client
from hub.celery import app
from hub.choices import Status
from hub.models import AuditEvent
from identities import services as identity_services
from identities.models import EcrIdentity
from tests.access_helpers import (
    active_repo,
    converging,
    iam_keys,
    own_client,
    policy_grants,
    send_enqueued,
)

from .support import aws_error


def _active_repo(world, name="web", **kwargs):
    repo = services.repo_request(
        actor=world.users["member"],
        project=world.project,
        service=world.service,
        name=name,
        **kwargs,
    )
    services.repo_provision(repo.pk)
    repo.refresh_from_db()
    assert repo.status == Status.ACTIVE
    return repo


def test_stuck_pending_request_is_sent_again_and_ends_active(
    world, aws, settings, django_capture_on_commit_callbacks
):
    # The request committed but its message was lost: nothing is on its way.
    with django_capture_on_commit_callbacks(execute=False):
        repo = services.repo_request(
            actor=world.users["member"], project=world.project, service=world.service, name="lost"
        )
    DockerRepo.objects.filter(pk=repo.pk).update(
        updated_at=timezone.now() - timedelta(seconds=settings.HUB_RECONCILE_STUCK_AFTER + 1)
    )
    settings.CELERY_TASK_ALWAYS_EAGER = True
    app.conf.task_always_eager = True
    try:
        with django_capture_on_commit_callbacks(execute=True):
            report = reconcile()
    finally:
        app.conf.task_always_eager = False
    assert report.requeued == ["acp/lost"]
    repo.refresh_from_db()
    assert repo.status == Status.ACTIVE


def test_a_recent_pending_request_is_left_to_its_task(
    world, aws, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        services.repo_request(
            actor=world.users["member"], project=world.project, service=world.service, name="fresh"
        )
    assert reconcile().requeued == []


def test_repository_deleted_outside_the_hub_is_recreated_with_an_audit_event(
    world, aws, django_capture_on_commit_callbacks
):
    repo = _active_repo(world)
    client("ecr").delete_repository(repositoryName="acp/web", force=True)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        report = reconcile()
    assert report.recreated == ["acp/web"]
    repo.refresh_from_db()
    assert repo.status == Status.PENDING
    assert len(callbacks) == 1  # the provisioning task is on its way
    services.repo_provision(repo.pk)
    repo.refresh_from_db()
    assert repo.status == Status.ACTIVE
    assert client("ecr").describe_repositories(repositoryNames=["acp/web"])["repositories"]
    assert AuditEvent.objects.filter(
        action="docker_repo.drift_recreated", target_id=str(repo.pk)
    ).exists()


def test_policy_and_settings_edited_outside_the_hub_are_written_back(world, aws, settings):
    settings.HUB_ECR_PULL_PRINCIPALS = ["arn:aws:iam::123456789012:role/nodes"]
    repo = _active_repo(world, keep_last_images=5)
    ecr = client("ecr")
    ecr.set_repository_policy(
        repositoryName="acp/web",
        policyText=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {
                        "Sid": "Sneaky",
                        "Effect": "Allow",
                        "Principal": {"AWS": "arn:aws:iam::999999999999:root"},
                        "Action": ["ecr:*"],
                    }
                ],
            }
        ),
    )
    ecr.put_image_tag_mutability(repositoryName="acp/web", imageTagMutability="IMMUTABLE")
    ecr.delete_lifecycle_policy(repositoryName="acp/web")

    dry = reconcile(dry_run=True)
    assert dry.repaired == ["acp/web: settings, lifecycle policy, repository policy"]
    assert "999999999999" in ecr.get_repository_policy(repositoryName="acp/web")["policyText"]

    report = reconcile()
    assert report.repaired == ["acp/web: settings, lifecycle policy, repository policy"]
    policy = json.loads(ecr.get_repository_policy(repositoryName="acp/web")["policyText"])
    assert "999999999999" not in json.dumps(policy)
    principals = policy["Statement"][0]["Principal"]["AWS"]
    assert principals in (
        "arn:aws:iam::123456789012:role/nodes",
        ["arn:aws:iam::123456789012:role/nodes"],
    )
    described = ecr.describe_repositories(repositoryNames=["acp/web"])["repositories"][0]
    assert described["imageTagMutability"] == "MUTABLE"
    assert ecr.get_lifecycle_policy(repositoryName="acp/web")
    assert (
        AuditEvent.objects.filter(
            action="docker_repo.drift_repaired", target_id=str(repo.pk)
        ).count()
        == 1
    )
    # Converged: the next pass finds nothing to do.
    again = reconcile()
    assert again.changes == 0 and again.checked == 1


def test_dry_run_command_prints_plans_and_changes_nothing(world, aws, capsys):
    repo = _active_repo(world)
    client("ecr").delete_repository(repositoryName="acp/web", force=True)
    call_command("hub_reconcile", "--dry-run")
    out = capsys.readouterr().out
    assert "would recreate acp/web" in out
    assert "1 active repositories checked, 1 change planned." in out
    repo.refresh_from_db()
    assert repo.status == Status.ACTIVE


def test_unreachable_aws_is_reported_not_raised(world, aws, settings):
    _active_repo(world)
    settings.AWS_ENDPOINT_URL = "http://127.0.0.1:9"
    settings.HUB_AWS_MAX_ATTEMPTS = 1
    settings.HUB_AWS_CONNECT_TIMEOUT = 0.2
    report = reconcile()
    # The two pass-wide reads failed: each is reported, and what depends on it skipped.
    assert [error.object for error in report.errors] == [
        "listing the hub's IAM users",
        "listing the ECR repositories",
    ]
    assert all("unreachable" in error.reason for error in report.errors)
    assert (report.changes, report.checked) == (0, 0)
    assert report.lines()[-1] == "0 active repositories checked, 0 changes, 2 errors."
    assert AuditEvent.objects.filter(action="reconcile.error").count() == 2


def test_iam_users_and_keys_deleted_outside_the_hub_come_back_with_a_new_key(
    world, aws, django_capture_on_commit_callbacks
):
    member, admin = world.users["member"], world.users["project_admin"]
    with converging(django_capture_on_commit_callbacks):
        identity_services.ecr_identity_request(user=member)
        identity_services.ecr_identity_request(user=admin)
    lost_user = EcrIdentity.objects.get(user=member)
    lost_key = EcrIdentity.objects.get(user=admin)
    assert lost_user.status == lost_key.status == Status.ACTIVE
    iam = own_client("iam")
    for key in iam_keys(lost_user.iam_username):
        iam.delete_access_key(UserName=lost_user.iam_username, AccessKeyId=key)
    iam.delete_user_policy(UserName=lost_user.iam_username, PolicyName="platform-hub-ecr-login")
    iam.delete_user(UserName=lost_user.iam_username)
    iam.delete_access_key(UserName=lost_key.iam_username, AccessKeyId=lost_key.access_key_id)

    dry = reconcile(dry_run=True)
    assert sorted(dry.repaired) == sorted(
        [
            f"{lost_user.iam_username}: IAM user missing in IAM, new key",
            f"{lost_key.iam_username}: access key missing in IAM, new key",
        ]
    )
    assert EcrIdentity.objects.filter(status=Status.ACTIVE).count() == 2

    with converging(django_capture_on_commit_callbacks):
        report = reconcile()
    assert len(report.repaired) == 2
    for before in (lost_user, lost_key):
        after = EcrIdentity.objects.get(pk=before.pk)
        assert after.status == Status.ACTIVE, after.status_detail
        assert after.access_key_id != before.access_key_id
        assert iam_keys(after.iam_username) == [after.access_key_id]
        actions = set(
            AuditEvent.objects.filter(
                target_type="ecridentity", target_id=str(after.pk)
            ).values_list("action", flat=True)
        )
        assert {"ecr_identity.drift_recreated", "ecr_identity.rotated"} <= actions
    assert reconcile().changes == 0


def test_a_robot_whose_key_was_deleted_outside_the_hub_gets_a_new_one(
    world, aws, django_capture_on_commit_callbacks
):
    repo = active_repo(world)
    with converging(django_capture_on_commit_callbacks):
        access_set(actor=world.users["member"], repo=repo, robots=[{"name": "ci"}], users=[])
    robot = RobotAccount.objects.get(repo=repo)
    assert robot.status == Status.ACTIVE
    own_client("iam").delete_access_key(
        UserName=robot.iam_username, AccessKeyId=robot.access_key_id
    )
    with converging(django_capture_on_commit_callbacks):
        report = reconcile()
    assert report.repaired == [f"{robot.iam_username}: access key missing in IAM, new key"]
    after = RobotAccount.objects.get(pk=robot.pk)
    assert after.status == Status.ACTIVE and after.access_key_id != robot.access_key_id
    assert iam_keys(after.iam_username) == [after.access_key_id]
    assert AuditEvent.objects.filter(
        action="robot.drift_recreated", project_id=world.project.pk, target_id=str(robot.pk)
    ).exists()
    assert AuditEvent.objects.filter(action="robot.rotated", target_id=str(robot.pk)).exists()


# --- Per-object errors, boundaries, deactivated people ----------------------------------


def test_a_pass_makes_as_many_queries_with_three_times_the_repositories(
    world, aws, django_capture_on_commit_callbacks
):
    def add(names):
        for name in names:
            repo = active_repo(world, name)
            with converging(django_capture_on_commit_callbacks):
                access_set(
                    actor=world.users["member"],
                    repo=repo,
                    robots=[{"name": "ci"}],
                    users=[{"username": "padmin", "writable": False}],
                )

    def queries_of_a_pass() -> int:
        with CaptureQueriesContext(connection) as captured:
            report = reconcile()
        assert (report.changes, report.errors) == (0, [])
        return len(captured)

    add(["a1", "a2"])
    few = queries_of_a_pass()
    add(["b1", "b2", "b3", "b4"])
    assert queries_of_a_pass() == few


def test_a_user_without_the_permissions_boundary_gets_it_in_one_pass(world, aws, settings):
    iam = own_client("iam")
    other = iam.create_policy(
        PolicyName="someone-elses",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}],
            }
        ),
    )["Policy"]["Arn"]
    rows = []
    for person, boundary in (("member", None), ("project_admin", other)):
        name = f"hub-user-{world.users[person].username}"
        created = {"PermissionsBoundary": boundary} if boundary else {}
        arn = iam.create_user(Path="/platform-hub/", UserName=name, **created)["User"]["Arn"]
        key = iam.create_access_key(UserName=name)["AccessKey"]["AccessKeyId"]
        rows.append(
            EcrIdentity.objects.create(
                user=world.users[person],
                status=Status.ACTIVE,
                iam_username=name,
                iam_arn=arn,
                access_key_id=key,
                secret_access_key_encrypted="x",
            )
        )

    def boundary(name):
        return (
            iam.get_user(UserName=name)["User"]
            .get("PermissionsBoundary", {})
            .get("PermissionsBoundaryArn")
        )

    expected = sorted(f"{row.iam_username}: permissions boundary" for row in rows)
    assert sorted(reconcile(dry_run=True).repaired) == expected
    assert boundary(rows[0].iam_username) is None

    report = reconcile()
    assert sorted(report.repaired) == expected
    assert f"repair {rows[0].iam_username}: permissions boundary" in report.lines()
    for row in rows:
        assert boundary(row.iam_username) == settings.HUB_IAM_PERMISSIONS_BOUNDARY
    events = AuditEvent.objects.filter(action="ecr_identity.boundary_repaired")
    assert sorted(events.values_list("target_id", flat=True)) == sorted(str(row.pk) for row in rows)
    assert events.get(target_id=str(rows[1].pk)).detail["found"] == other
    assert reconcile().changes == 0


def test_a_person_deactivated_by_a_queryset_update_has_no_key_after_one_pass(
    world, aws, django_capture_on_commit_callbacks
):
    member = world.users["member"]
    with converging(django_capture_on_commit_callbacks):
        identity_services.ecr_identity_request(user=member)
    identity = EcrIdentity.objects.get(user=member)
    assert identity.status == Status.ACTIVE and iam_keys(identity.iam_username)
    get_user_model().objects.filter(pk=member.pk).update(is_active=False)  # no signal

    with converging(django_capture_on_commit_callbacks):
        report = reconcile()
    line = f"{identity.iam_username}: account deactivated, access keys deleted"
    assert report.repaired == [line]
    assert iam_keys(identity.iam_username) == []
    identity.refresh_from_db()
    assert (identity.status, identity.access_key_id) == (Status.FAILED, "")
    assert reconcile().changes == 0

    # A key IAM lists that the row does not hold (made outside the hub): deleted too.
    own_client("iam").create_access_key(UserName=identity.iam_username)
    report = reconcile()
    assert report.repaired == [line]
    assert iam_keys(identity.iam_username) == []
    assert (
        AuditEvent.objects.filter(
            action="ecr_identity.keys_deleted", target_id=str(identity.pk)
        ).count()
        == 2
    )
    assert reconcile().changes == 0


def test_a_recreated_person_is_named_again_in_every_policy_granting_them(
    world, aws, django_capture_on_commit_callbacks
):
    repos = [active_repo(world, name) for name in ("one", "two")]
    with converging(django_capture_on_commit_callbacks):
        for repo in repos:
            access_set(
                actor=world.users["project_admin"],
                repo=repo,
                robots=[],
                users=[{"username": "member", "writable": True}],
            )
    identity = EcrIdentity.objects.get(user=world.users["member"])
    for repo in repos:
        assert identity.iam_arn in policy_grants(repo.full_name)["push"]
    iam = own_client("iam")
    for key in iam_keys(identity.iam_username):
        iam.delete_access_key(UserName=identity.iam_username, AccessKeyId=key)
    iam.delete_user_policy(UserName=identity.iam_username, PolicyName="platform-hub-ecr-login")
    iam.delete_user(UserName=identity.iam_username)

    with django_capture_on_commit_callbacks(execute=False) as queued:
        report = reconcile()
    # Credentials first: the recreation is queued; the policies leave the person out
    # until their IAM user exists again (AWS refuses an ARN that does not exist).
    assert sorted(report.repaired) == sorted(
        [
            f"{identity.iam_username}: IAM user missing in IAM, new key",
            "acp/one: repository policy",
            "acp/two: repository policy",
        ]
    )
    for repo in repos:
        assert identity.iam_arn not in policy_grants(repo.full_name)["push"]
    send_enqueued(django_capture_on_commit_callbacks, queued)
    identity.refresh_from_db()
    assert identity.status == Status.ACTIVE
    for repo in repos:  # the new user (a new unique id) is granted again: policies rewritten
        assert identity.iam_arn in policy_grants(repo.full_name)["push"]
    assert reconcile().changes == 0


def test_one_users_failing_iam_call_does_not_stop_the_others_repair(
    world, aws, boto_events, django_capture_on_commit_callbacks
):
    with converging(django_capture_on_commit_callbacks):
        for person in ("member", "project_admin"):
            identity_services.ecr_identity_request(user=world.users[person])
    broken, lost = (
        EcrIdentity.objects.get(user=world.users[p]) for p in ("member", "project_admin")
    )
    own_client("iam").delete_access_key(UserName=lost.iam_username, AccessKeyId=lost.access_key_id)

    def refuse(params, **kwargs):
        if params["body"].get("UserName") == broken.iam_username:  # query protocol: a dict
            return aws_error("ServiceFailure", 500, "IAM is having a bad day")
        return None

    boto_events.register("before-call.iam.ListAccessKeys", refuse)
    with converging(django_capture_on_commit_callbacks):
        report = reconcile()
    assert [error.object for error in report.errors] == [broken.iam_username]
    assert report.repaired == [f"{lost.iam_username}: access key missing in IAM, new key"]
    lost.refresh_from_db()
    assert iam_keys(lost.iam_username) == [lost.access_key_id]
    assert (
        AuditEvent.objects.filter(
            action="reconcile.error", target_type="ecridentity", target_id=str(broken.pk)
        ).count()
        == 1
    )


def test_errors_are_printed_by_the_command_and_shown_by_the_admin_action(
    world, aws, ecr, boto_events, capsys, client, make_user
):
    repo = _active_repo(world)
    ecr.put_image_tag_mutability(repositoryName="acp/web", imageTagMutability="IMMUTABLE")
    boto_events.register(
        "before-call.ecr.PutImageTagMutability",
        lambda **kwargs: aws_error("ServerException", 500, "ECR is down"),
    )

    with pytest.raises(SystemExit) as exit_code:
        call_command("hub_reconcile")
    assert exit_code.value.code == 1
    out = capsys.readouterr().out
    assert "error: acp/web: settings: " in out
    assert "1 active repositories checked, 0 changes, 1 error." in out

    client.force_login(make_user("operator", staff=True, is_superuser=True))
    response = client.post(
        reverse("admin:docker_repos_dockerrepo_changelist"),
        {"action": "reconcile_selected", "_selected_action": [repo.pk]},
        follow=True,
    )
    shown = [(m.level_tag, m.message) for m in response.context["messages"]]
    assert [m for m in shown if m[0] == "error"] == [
        ("error", next(line for line in out.splitlines() if line.startswith("error:")))
    ]
    assert AuditEvent.objects.filter(action="reconcile.error", target_id=str(repo.pk)).count() == 2
