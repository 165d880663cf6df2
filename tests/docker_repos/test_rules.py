"""Rules of repositories and their access that the rest of the suite could lose unnoticed,
each pinned through the services, with what they enqueued run (Celery's eager mode + the
test transaction's on-commit callbacks), never a task run by hand."""

import json

import pytest

from docker_repos import services
from docker_repos.access import access_retry, access_set
from docker_repos.models import DockerRepo, RepoAccess, RobotAccount
from docker_repos.policy import (
    ECR_POLICY_MAX_CHARS,
    PolicyTooLarge,
    placeholder_user_arn,
    render_access_policy,
    same_policy,
)
from docker_repos.reconcile import reconcile
from hub.choices import Status
from hub.exceptions import InvalidInput, NotAllowed, NotFound
from hub.models import AuditEvent
from identities import services as identity_services
from identities.models import EcrIdentity
from projects.choices import RepoManagement
from tests.access_helpers import converging, fake_active_repo, own_client, policy_grants
from tests.helpers import db_state

from .support import aws_error, ecr_repositories


class Refusal:
    """A botocore `before-call` handler that makes AWS refuse the call while `on`."""

    def __init__(self, code: str, status: int = 400, message: str = "refused in this test"):
        self.on, self.calls = True, 0
        self.answer = aws_error(code, status, message)

    def __call__(self, **kwargs):
        if self.on:
            self.calls += 1
            return self.answer
        return None


def converged_repo(world, capture, name: str = "web") -> DockerRepo:
    """A repository requested by a member, its provisioning run as the request enqueued."""
    with converging(capture):
        repo = services.repo_request(
            actor=world.users["member"], project=world.project, service=world.service, name=name
        )
    repo.refresh_from_db()
    assert repo.status == Status.ACTIVE, repo.status_detail
    return repo


@pytest.fixture
def repo(world, aws, django_capture_on_commit_callbacks):
    return converged_repo(world, django_capture_on_commit_callbacks)


def arns(grants: dict[str, set[str]]) -> set[str]:
    return grants["pull"] | grants["push"]


# --- 1. A failed removal stays out of the policy ------------------------------------------


def test_a_person_whose_removal_failed_is_not_put_back_into_the_policy(
    world, repo, boto_events, django_capture_on_commit_callbacks
):
    capture, manager = django_capture_on_commit_callbacks, world.users["member"]
    with converging(capture):
        access_set(
            actor=manager, repo=repo, robots=[], users=[{"username": "padmin", "writable": True}]
        )
    padmin_arn = EcrIdentity.objects.get(user=world.users["project_admin"]).iam_arn
    assert policy_grants("acp/web")["push"] == {padmin_arn}

    # Removing padmin fails: AWS refuses the policy without them (nobody left: removed).
    refusal = Refusal("InvalidParameterException")
    boto_events.register("before-call.ecr.DeleteRepositoryPolicy", refusal)
    with converging(capture):
        access_set(actor=manager, repo=repo, robots=[], users=[])
    access = RepoAccess.objects.get(repo=repo, user=world.users["project_admin"])
    assert (access.status, access.removal_requested) == (Status.FAILED, True)
    assert refusal.calls == 1

    # The next change writes the policy again: padmin, whose removal was asked for, stays
    # out of it (a failed entry otherwise keeps its grant).
    refusal.on = False
    with converging(capture):
        access_set(
            actor=manager, repo=repo, robots=[], users=[{"username": "member", "writable": False}]
        )
    member_arn = EcrIdentity.objects.get(user=world.users["member"]).iam_arn
    assert policy_grants("acp/web") == {"pull": {member_arn}, "push": set()}
    access.refresh_from_db()
    assert access.status == Status.FAILED  # its Retry finishes the removal


# --- 2. Deactivated accounts get no access ------------------------------------------------


@pytest.mark.parametrize(
    "had_credentials", [True, False], ids=["had-credentials", "never-had-credentials"]
)
def test_a_deactivated_account_cannot_be_granted_access(
    world, repo, had_credentials, django_capture_on_commit_callbacks
):
    capture, padmin = django_capture_on_commit_callbacks, world.users["project_admin"]
    if had_credentials:
        with converging(capture):
            identity_services.ecr_identity_request(user=padmin)
    with converging(capture):
        padmin.is_active = False
        padmin.save()  # the admin's "active" unticked: the keys are deleted
    if had_credentials:
        identity = EcrIdentity.objects.get(user=padmin)
        assert (identity.status, identity.access_key_id) == (Status.FAILED, "")
        assert identity.iam_arn  # the IAM user stays: a policy could still name it
    before = db_state()

    with capture(execute=False) as enqueued:
        with pytest.raises(InvalidInput) as refused:
            access_set(
                actor=world.users["member"],
                repo=repo,
                robots=[],
                users=[{"username": "padmin", "writable": False}],
            )

    message = "Deactivated accounts cannot be given access: padmin."
    assert (refused.value.message, refused.value.fields) == (message, {"users": [message]})
    assert db_state() == before
    assert enqueued == []
    assert policy_grants("acp/web") == {"pull": set(), "push": set()}


# --- 3. An identity that failed fails the access waiting for it ---------------------------


def test_access_waiting_for_an_identity_that_failed_is_failed_too(
    world, repo, boto_events, django_capture_on_commit_callbacks
):
    refusal = Refusal("AccessDenied", 403, "not authorized to perform iam:CreateUser")
    boto_events.register("before-call.iam.CreateUser", refusal)

    with converging(django_capture_on_commit_callbacks):
        access_set(
            actor=world.users["member"],
            repo=repo,
            robots=[],
            users=[{"username": "padmin", "writable": False}],
        )

    identity = EcrIdentity.objects.get(user=world.users["project_admin"])
    assert identity.status == Status.FAILED
    assert (
        "AWS denied the hub permission to create IAM user hub-user-padmin" in identity.status_detail
    )
    access = RepoAccess.objects.get(repo=repo)
    assert access.status == Status.FAILED, "left pending forever, waiting for nothing"
    assert access.status_detail == (
        f"padmin's ECR credentials could not be created: {identity.status_detail}"
    )
    event = AuditEvent.objects.get(action="repo_access.failed")
    assert event.detail == {"reason": identity.status_detail}

    # Retry on the access tries the identity again, and the grant goes through.
    refusal.on = False
    with converging(django_capture_on_commit_callbacks):
        access_retry(actor=world.users["member"], access=access)
    access.refresh_from_db()
    assert access.status == Status.ACTIVE, access.status_detail
    assert policy_grants("acp/web")["pull"] == {EcrIdentity.objects.get(pk=identity.pk).iam_arn}


# --- 4. Retry of a failed deletion deletes ------------------------------------------------


def test_retry_of_a_failed_deletion_sends_the_deletion_not_a_provision(
    world, repo, ecr, boto_events, django_capture_on_commit_callbacks
):
    capture, manager = django_capture_on_commit_callbacks, world.users["member"]
    refusal = Refusal("AccessDeniedException", 400, "not authorized to delete")
    boto_events.register("before-call.ecr.DeleteRepository", refusal)
    with converging(capture):
        services.repo_delete(actor=manager, repo=repo)
    repo.refresh_from_db()
    assert (repo.status, repo.delete_requested) == (Status.FAILED, True)
    assert "AWS denied the hub permission to delete repository acp/web" in repo.status_detail
    assert ecr_repositories(ecr) == ["acp/web"]

    refusal.on = False
    with converging(capture):
        retried = services.repo_retry(actor=manager, repo=repo)

    assert retried.status == Status.DELETING
    assert not DockerRepo.objects.filter(pk=repo.pk).exists()
    assert ecr_repositories(ecr) == []
    trail = list(
        AuditEvent.objects.filter(target_type="dockerrepo", target_id=str(repo.pk))
        .order_by("pk")
        .values_list("action", "detail")
    )
    assert trail[-2:] == [
        ("docker_repo.retried", {"status": Status.DELETING}),
        ("docker_repo.deleted", {"name": "acp/web"}),
    ]


# --- 5. One principal: a string or a one-item list ----------------------------------------


ARN = "arn:aws:iam::123456789012:user/platform-hub/hub-user-member"


def _policy(principal) -> dict:
    return {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Sid": "HubPull",
                "Effect": "Allow",
                "Principal": {"AWS": principal},
                "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer"],
            }
        ],
    }


def test_same_policy_treats_a_single_principal_string_and_a_one_item_list_as_equal():
    assert same_policy(_policy(ARN), _policy([ARN]))
    assert same_policy(_policy([ARN]), _policy(ARN))
    # Still a comparison: another principal, or a second one, differs.
    assert not same_policy(_policy(ARN), _policy([ARN.replace("member", "padmin")]))
    assert not same_policy(_policy(ARN), _policy([ARN, ARN.replace("member", "padmin")]))


def test_the_reconciler_leaves_a_policy_aws_gave_back_with_a_single_principal_string(
    world, repo, settings, django_capture_on_commit_callbacks
):
    settings.HUB_ECR_PULL_PRINCIPALS = []
    with converging(django_capture_on_commit_callbacks):
        access_set(
            actor=world.users["member"],
            repo=repo,
            robots=[],
            users=[{"username": "member", "writable": False}],
        )
    ecr = own_client("ecr")
    written = json.loads(ecr.get_repository_policy(repositoryName="acp/web")["policyText"])
    [statement] = written["Statement"]
    member_arn = EcrIdentity.objects.get(user=world.users["member"]).iam_arn
    assert statement["Principal"] == {"AWS": [member_arn]}
    # AWS answers a one-principal list as a plain string.
    statement["Principal"] = {"AWS": member_arn}
    ecr.set_repository_policy(repositoryName="acp/web", policyText=json.dumps(written))

    with converging(django_capture_on_commit_callbacks):
        report = reconcile(repo_ids=[repo.pk])

    assert report.checked == 1
    assert (report.repaired, report.errors) == ([], [])
    assert not AuditEvent.objects.filter(action="docker_repo.drift_repaired").exists()


# --- 6. and 7. repo_delete: only managers, and only once ----------------------------------


@pytest.mark.parametrize(
    ("role", "mode"),
    [
        ("non_member", RepoManagement.MEMBERS),
        ("other_admin", RepoManagement.MEMBERS),
        ("member", RepoManagement.ADMINS),
    ],
)
def test_repo_delete_refuses_a_non_manager_at_the_service_level(
    world, role, mode, django_capture_on_commit_callbacks
):
    world.project.repo_management = mode
    world.project.save()
    repo = fake_active_repo(world)
    before = db_state()

    with django_capture_on_commit_callbacks(execute=False) as enqueued:
        with pytest.raises(NotAllowed, match="Only repo managers of this project"):
            services.repo_delete(actor=world.users[role], repo=repo)

    assert db_state() == before
    assert enqueued == []


def test_a_second_delete_is_a_no_op(world, django_capture_on_commit_callbacks):
    repo = fake_active_repo(world)
    with django_capture_on_commit_callbacks(execute=False) as first:
        services.repo_delete(actor=world.users["member"], repo=repo)
    assert len(first) == 1  # the deletion's task
    before = db_state()

    # A double click, or a second manager, with the page's (stale) copy of the row.
    with django_capture_on_commit_callbacks(execute=False) as second:
        again = services.repo_delete(actor=world.users["project_admin"], repo=repo)

    assert again.status == Status.DELETING
    assert second == []
    assert db_state() == before
    assert AuditEvent.objects.filter(action="docker_repo.delete_requested").count() == 1


def test_a_delete_after_the_repository_is_gone_is_not_found(
    world, repo, ecr, django_capture_on_commit_callbacks
):
    """The page (or API view) found the repository; the worker deleted it before the
    second request's service locked it: 404 in the API, a message on the page, no crash."""
    stale = DockerRepo.objects.get(pk=repo.pk)
    with converging(django_capture_on_commit_callbacks):
        services.repo_delete(actor=world.users["member"], repo=repo)
    assert not DockerRepo.objects.filter(pk=repo.pk).exists()

    with pytest.raises(NotFound, match="acp/web has already been deleted"):
        services.repo_delete(actor=world.users["project_admin"], repo=stale)


# --- 11. The policy-size boundary ---------------------------------------------------------


def _principals_rendering_to(size: int, *, prefix: str) -> list[str]:
    """IAM user ARNs (stand-in account id, 12 digits like a real one) whose access policy,
    as pushers, is exactly `size` characters: as many as fit, the remainder spread over
    their names one character each."""
    arns_: list[str] = []
    while True:
        longer = [*arns_, placeholder_user_arn(f"{prefix}{len(arns_):03d}")]
        if _rendered_length(longer) > size:
            break
        arns_ = longer
    remainder = size - _rendered_length(arns_)
    assert remainder < len(arns_)
    return [arn + "x" if index < remainder else arn for index, arn in enumerate(arns_)]


def _rendered_length(robots: list[str]) -> int:
    try:
        document = render_access_policy(readers=[], writers=[], robots=robots, cluster=[])
    except PolicyTooLarge:
        return ECR_POLICY_MAX_CHARS + 1
    return len(json.dumps(document, separators=(",", ":")))


def test_a_policy_of_exactly_10240_characters_is_accepted_and_one_more_is_refused():
    assert ECR_POLICY_MAX_CHARS == 10240  # ECR's documented limit
    fits = _principals_rendering_to(10240, prefix="hub-robot-acp-web-r")
    document = render_access_policy(readers=[], writers=[], robots=fits, cluster=[])
    assert len(json.dumps(document, separators=(",", ":"))) == 10240

    one_over = [*fits[:-1], fits[-1] + "y"]
    with pytest.raises(
        PolicyTooLarge, match="needs a 10241-character repository policy; ECR allows 10240"
    ):
        render_access_policy(readers=[], writers=[], robots=one_over, cluster=[])


def _robot_names_for(size: int) -> list[str]:
    """Robot names of acp/web whose policy (placeholder ARNs, 12-digit account like a real
    one) is exactly `size` characters."""
    prefix = placeholder_user_arn("hub-robot-acp-web-")
    return [
        arn.removeprefix(prefix)
        for arn in _principals_rendering_to(size, prefix="hub-robot-acp-web-r")
    ]


@pytest.mark.parametrize(("size", "accepted"), [(10240, True), (10241, False)])
def test_access_set_accepts_an_access_list_whose_policy_is_exactly_the_limit(
    world, settings, size, accepted, django_capture_on_commit_callbacks
):
    settings.HUB_ECR_PULL_PRINCIPALS = []
    repo = fake_active_repo(world)
    names = _robot_names_for(10240)
    if not accepted:
        names[-1] += "y"
    assert all(len(name) <= 46 for name in names)  # IAM's 64 minus hub-robot-acp-web-

    with django_capture_on_commit_callbacks(execute=False):
        if accepted:
            access_set(
                actor=world.users["member"],
                repo=repo,
                robots=[{"name": n} for n in names],
                users=[],
            )
        else:
            with pytest.raises(
                InvalidInput, match=f"needs a {size}-character repository policy; ECR allows 10240"
            ):
                access_set(
                    actor=world.users["member"],
                    repo=repo,
                    robots=[{"name": n} for n in names],
                    users=[],
                )

    assert RobotAccount.objects.filter(repo=repo).count() == (len(names) if accepted else 0)
