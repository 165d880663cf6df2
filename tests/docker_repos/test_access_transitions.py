"""The desired-state transitions of a repository's access list, end to end against moto:
after every step the repository policy in ECR matches the database."""

import pytest

from docker_repos import services
from docker_repos.access import access_set
from docker_repos.models import RepoAccess, RobotAccount
from docker_repos.policy_sync import _record_written, access_sync
from docker_repos.selectors import repo_access_state, repo_policy_plan
from hub.choices import Status
from hub.exceptions import Conflict, InvalidInput, NotAllowed
from hub.models import AuditEvent
from identities.models import EcrIdentity
from identities.tasks import provision_identity
from projects import services as project_services
from projects.models import Membership
from tests.access_helpers import (
    active_repo,
    converging,
    db_grants,
    iam_keys,
    iam_users,
    policy_grants,
    repository_policy,
)
from tests.helpers import db_state

PULL_ROLE = "arn:aws:iam::123456789012:role/cluster-node"


@pytest.fixture
def repo(world, aws, settings):
    settings.HUB_ECR_PULL_PRINCIPALS = [PULL_ROLE]
    return active_repo(world)


def statuses(repo):
    robots = dict(RobotAccount.objects.filter(repo=repo).values_list("name", "status"))
    people = {
        a.user.username: (a.status, a.writable)
        for a in RepoAccess.objects.filter(repo=repo).select_related("user")
    }
    return robots, people


def test_grant_change_and_remove_keep_ecr_matching_the_database(
    world, repo, django_capture_on_commit_callbacks
):
    manager = world.users["member"]  # `acp` lets every member manage repositories
    with converging(django_capture_on_commit_callbacks):
        access_set(
            actor=manager,
            repo=repo,
            robots=[{"name": "drone-ci"}],
            users=[
                {"username": "member", "writable": False},
                {"username": "padmin", "writable": True},
            ],
        )
    assert statuses(repo) == (
        {"drone-ci": Status.ACTIVE},
        {"member": (Status.ACTIVE, False), "padmin": (Status.ACTIVE, True)},
    )
    robot = RobotAccount.objects.get(repo=repo)
    member_arn = EcrIdentity.objects.get(user=world.users["member"]).iam_arn
    padmin_arn = EcrIdentity.objects.get(user=world.users["project_admin"]).iam_arn
    assert (
        policy_grants("acp/web")
        == db_grants(repo)
        == {"pull": {PULL_ROLE, member_arn}, "push": {padmin_arn, robot.iam_arn}}
    )
    assert iam_users() == {"hub-robot-acp-web-drone-ci", "hub-user-member", "hub-user-padmin"}
    assert iam_keys("hub-robot-acp-web-drone-ci") == [robot.access_key_id]

    # Change: member may push now; padmin and the robot go.
    with converging(django_capture_on_commit_callbacks):
        access_set(
            actor=manager, repo=repo, robots=[], users=[{"username": "member", "writable": True}]
        )
    assert statuses(repo) == ({}, {"member": (Status.ACTIVE, True)})
    assert (
        policy_grants("acp/web") == db_grants(repo) == {"pull": {PULL_ROLE}, "push": {member_arn}}
    )
    # The robot's IAM user is gone; people keep theirs (it serves every project).
    assert iam_users() == {"hub-user-member", "hub-user-padmin"}

    # Nobody: only the cluster principals are left.
    with converging(django_capture_on_commit_callbacks):
        access_set(actor=manager, repo=repo, robots=[], users=[])
    assert statuses(repo) == ({}, {})
    assert policy_grants("acp/web") == db_grants(repo) == {"pull": {PULL_ROLE}, "push": set()}


def test_without_cluster_principals_an_empty_list_removes_the_policy(
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
    assert repository_policy("acp/web") is not None
    with converging(django_capture_on_commit_callbacks):
        access_set(actor=world.users["member"], repo=repo, robots=[], users=[])
    assert repository_policy("acp/web") is None


def test_new_entries_are_pending_missing_ones_removing_changed_ones_pending_again(
    world, repo, django_capture_on_commit_callbacks
):
    manager = world.users["project_admin"]
    with converging(django_capture_on_commit_callbacks):
        access_set(
            actor=manager,
            repo=repo,
            robots=[{"name": "ci"}],
            users=[
                {"username": "member", "writable": False},
                {"username": "padmin", "writable": False},
            ],
        )
    # Nothing runs now: the request only writes the desired state.
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        access_set(
            actor=manager,
            repo=repo,
            robots=[{"name": "ci"}, {"name": "gha"}],
            users=[{"username": "member", "writable": True}],
        )
    assert statuses(repo) == (
        {"ci": Status.ACTIVE, "gha": Status.PENDING},
        {"member": (Status.PENDING, True), "padmin": (Status.REMOVING, False)},
    )
    # One policy sync, plus the new robot's IAM user.
    assert len(callbacks) == 2
    event = AuditEvent.objects.filter(action="docker_repo.access_changed").first()
    assert event.detail == {
        "robots_added": ["gha"],
        "robots_removed": [],
        "users_granted": {"member": "pull+push"},
        "users_removed": ["padmin"],
    }


def test_the_same_state_again_changes_nothing(world, repo, django_capture_on_commit_callbacks):
    desired = {"robots": [{"name": "ci"}], "users": [{"username": "member", "writable": True}]}
    with converging(django_capture_on_commit_callbacks):
        access_set(actor=world.users["member"], repo=repo, **desired)
    before = db_state()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        access_set(actor=world.users["member"], repo=repo, **desired)
    assert db_state() == before
    assert callbacks == []


def test_granting_a_person_creates_their_identity_first(
    world, repo, django_capture_on_commit_callbacks
):
    assert not EcrIdentity.objects.exists()
    with django_capture_on_commit_callbacks(execute=False):
        access_set(
            actor=world.users["member"],
            repo=repo,
            robots=[],
            users=[{"username": "padmin", "writable": False}],
        )
    identity = EcrIdentity.objects.get(user=world.users["project_admin"])
    assert identity.status == Status.PENDING
    assert identity.iam_username == "hub-user-padmin"
    # Until the IAM user exists the policy cannot name them: the entry waits, pending.
    access_sync(repo.pk)
    assert RepoAccess.objects.get().status == Status.PENDING
    # The identity becoming ready sends the sync that activates it.
    with converging(django_capture_on_commit_callbacks):
        provision_identity.apply(args=[identity.pk])
    assert RepoAccess.objects.get().status == Status.ACTIVE
    assert policy_grants("acp/web")["pull"] >= {EcrIdentity.objects.get().iam_arn}


@pytest.mark.parametrize(
    ("robots", "users", "error", "message"),
    [
        ([{"name": "CI"}], [], InvalidInput, "lowercase letters"),
        ([{"name": "1ci"}], [], InvalidInput, "starting with a letter"),
        ([{"name": "ci_bot"}], [], InvalidInput, "lowercase letters"),
        ([{"name": "ci"}, {"name": "ci"}], [], InvalidInput, "given twice"),
        ([{"name": "x" * 60}], [], InvalidInput, "must fit IAM's 64"),
        ([{}], [], InvalidInput, "needs a name"),
        ([], [{"username": "outsider", "writable": False}], InvalidInput, "Not a member"),
        ([], [{"username": "nobody-at-all", "writable": False}], InvalidInput, "Not a member"),
        ([], [{"username": "hubadmin", "writable": False}], InvalidInput, "Not a member"),
        (
            [],
            [{"username": "member", "writable": True, "read": False}],
            InvalidInput,
            "without pull",
        ),
        ([], [{"username": "member", "writable": "yes"}], InvalidInput, "true or false"),
        (
            [],
            [{"username": "member"}, {"username": "member", "writable": True}],
            InvalidInput,
            "given twice",
        ),
    ],
)
def test_bad_input_is_refused_and_nothing_changes(
    world, repo, robots, users, error, message, django_capture_on_commit_callbacks
):
    # Something valid alongside, to show it is not applied either.
    robots = [*robots, {"name": "valid-robot"}]
    before = db_state()
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        with pytest.raises(error) as caught:
            access_set(actor=world.users["project_admin"], repo=repo, robots=robots, users=users)
    assert message in caught.value.message
    assert db_state() == before
    assert callbacks == []


def test_a_robot_name_that_fits_iam_exactly_is_accepted(
    world, repo, django_capture_on_commit_callbacks
):
    room = 64 - len("hub-robot-acp-web-")
    with django_capture_on_commit_callbacks(execute=False):
        access_set(actor=world.users["member"], repo=repo, robots=[{"name": "r" * room}], users=[])
    assert len(RobotAccount.objects.get().iam_username) == 64


def test_the_length_error_says_how_long_a_name_may_be(world, repo):
    with pytest.raises(InvalidInput) as caught:
        access_set(actor=world.users["member"], repo=repo, robots=[{"name": "r" * 47}], users=[])
    assert "at most 46 characters" in caught.value.message
    assert caught.value.fields["robots"]


def test_nested_repository_names_make_valid_iam_user_names(
    world, aws, django_capture_on_commit_callbacks
):
    repo = active_repo(world, "team/api.v2")
    with converging(django_capture_on_commit_callbacks):
        access_set(actor=world.users["member"], repo=repo, robots=[{"name": "ci"}], users=[])
    robot = RobotAccount.objects.get(repo=repo)
    assert robot.iam_username == "hub-robot-acp-team-api.v2-ci"
    assert robot.status == Status.ACTIVE


def test_two_repositories_cannot_give_robots_the_same_iam_user(
    world, aws, django_capture_on_commit_callbacks
):
    nested, flat = active_repo(world, "a/b"), active_repo(world, "a-b")
    with django_capture_on_commit_callbacks(execute=False):
        access_set(actor=world.users["member"], repo=nested, robots=[{"name": "ci"}], users=[])
    with pytest.raises(InvalidInput) as caught:
        access_set(actor=world.users["member"], repo=flat, robots=[{"name": "ci"}], users=[])
    assert "hub-robot-acp-a-b-ci" in caught.value.message


def test_only_an_active_repository_takes_changes(world, aws):
    repo = services.repo_request(
        actor=world.users["member"], project=world.project, service=world.service, name="web"
    )
    with pytest.raises(Conflict):
        access_set(actor=world.users["member"], repo=repo, robots=[], users=[])


def test_only_repo_managers_change_access(world, repo):
    world.project.repo_management = "admins"
    world.project.save()
    for role in ("member", "non_member", "other_admin"):
        with pytest.raises(NotAllowed):
            access_set(actor=world.users[role], repo=repo, robots=[], users=[])
    access_set(actor=world.users["project_admin"], repo=repo, robots=[], users=[])
    access_set(actor=world.users["hub_admin"], repo=repo, robots=[], users=[])


def test_a_robot_being_removed_cannot_be_added_back_yet(
    world, repo, django_capture_on_commit_callbacks
):
    with converging(django_capture_on_commit_callbacks):
        access_set(actor=world.users["member"], repo=repo, robots=[{"name": "ci"}], users=[])
    with django_capture_on_commit_callbacks(execute=False):
        access_set(actor=world.users["member"], repo=repo, robots=[], users=[])
    with pytest.raises(Conflict):
        access_set(actor=world.users["member"], repo=repo, robots=[{"name": "ci"}], users=[])


def test_a_person_being_removed_can_be_granted_again(
    world, repo, django_capture_on_commit_callbacks
):
    grant = [{"username": "member", "writable": False}]
    with converging(django_capture_on_commit_callbacks):
        access_set(actor=world.users["member"], repo=repo, robots=[], users=grant)
    with django_capture_on_commit_callbacks(execute=False):
        access_set(actor=world.users["member"], repo=repo, robots=[], users=[])
    assert RepoAccess.objects.get().status == Status.REMOVING
    with converging(django_capture_on_commit_callbacks):
        access_set(actor=world.users["member"], repo=repo, robots=[], users=grant)
    assert RepoAccess.objects.get().status == Status.ACTIVE
    assert policy_grants("acp/web") == db_grants(repo)


def test_member_removed_from_the_project_loses_access_to_every_repository(
    world, aws, django_capture_on_commit_callbacks
):
    web, api = active_repo(world, "web"), active_repo(world, "api")
    grant = [{"username": "member", "writable": True}]
    with converging(django_capture_on_commit_callbacks):
        for repo in (web, api):
            access_set(actor=world.users["project_admin"], repo=repo, robots=[], users=grant)
    member_arn = EcrIdentity.objects.get(user=world.users["member"]).iam_arn
    assert member_arn in policy_grants("acp/web")["push"]
    with converging(django_capture_on_commit_callbacks):
        project_services.membership_remove(
            actor=world.users["project_admin"], project=world.project, user=world.users["member"]
        )
    assert not RepoAccess.objects.exists()
    for name in ("acp/web", "acp/api"):
        assert member_arn not in policy_grants(name)["push"] | policy_grants(name)["pull"]
    assert AuditEvent.objects.filter(action="repo_access.removal_requested").count() == 2
    assert AuditEvent.objects.filter(action="repo_access.removed").count() == 2


def test_deleting_the_repository_deletes_its_robots_iam_users(
    world, repo, django_capture_on_commit_callbacks
):
    with converging(django_capture_on_commit_callbacks):
        access_set(
            actor=world.users["member"],
            repo=repo,
            robots=[{"name": "ci"}, {"name": "gha"}],
            users=[{"username": "member", "writable": False}],
        )
    assert iam_users() == {"hub-robot-acp-web-ci", "hub-robot-acp-web-gha", "hub-user-member"}
    with converging(django_capture_on_commit_callbacks):
        services.repo_delete(actor=world.users["member"], repo=repo)
    assert iam_users() == {"hub-user-member"}
    assert not RobotAccount.objects.exists() and not RepoAccess.objects.exists()


def test_repo_access_state_costs_two_queries_whatever_the_size(
    world, repo, make_user, django_assert_num_queries, django_capture_on_commit_callbacks
):
    users = []
    for n in range(6):
        user = make_user(f"dev{n}")
        Membership.objects.create(project=world.project, user=user)
        users.append({"username": user.username, "writable": n % 2 == 0})
    with django_capture_on_commit_callbacks(execute=False):
        access_set(
            actor=world.users["member"],
            repo=repo,
            robots=[{"name": f"bot{n}"} for n in range(5)],
            users=users,
        )
    with django_assert_num_queries(2):
        robots, accesses = repo_access_state(repo)
        for access in accesses:
            _ = access.user.username, getattr(access.user, "ecr_identity", None)
    assert len(robots) == 5 and len(accesses) == 6


def test_a_change_made_while_the_policy_is_written_is_written_too(
    world, repo, boto_events, django_capture_on_commit_callbacks
):
    """The sync re-reads the access list after writing; if it changed meanwhile (another
    request, another sync), it writes again, so an older document never stays in AWS."""
    with converging(django_capture_on_commit_callbacks):
        access_set(
            actor=world.users["member"],
            repo=repo,
            robots=[],
            users=[{"username": "member", "writable": False}],
        )
    RepoAccess.objects.update(status=Status.PENDING)
    writes = []

    def change_during_the_first_write(model, **kwargs):
        writes.append(model.name)
        if len(writes) == 1:  # someone makes member a writer while AWS takes the policy
            RepoAccess.objects.update(writable=True, status=Status.PENDING)

    boto_events.register("before-call.ecr.SetRepositoryPolicy", change_during_the_first_write)
    access_sync(repo.pk)
    assert writes == ["SetRepositoryPolicy", "SetRepositoryPolicy"]
    access = RepoAccess.objects.get()
    assert (access.status, access.writable) == (Status.ACTIVE, True)
    assert policy_grants("acp/web") == db_grants(repo)
    assert access.user.ecr_identity.iam_arn in policy_grants("acp/web")["push"]


def test_only_entries_unchanged_since_the_write_are_moved_on(
    world, repo, django_capture_on_commit_callbacks
):
    """The compare-and-set after a write: an entry changed since the plan was made is left
    for the next sync (which its change enqueued)."""

    with converging(django_capture_on_commit_callbacks):
        access_set(
            actor=world.users["member"],
            repo=repo,
            robots=[],
            users=[
                {"username": "member", "writable": False},
                {"username": "padmin", "writable": False},
            ],
        )
    member_access = RepoAccess.objects.get(user=world.users["member"])
    padmin_access = RepoAccess.objects.get(user=world.users["project_admin"])
    RepoAccess.objects.filter(pk=member_access.pk).update(status=Status.PENDING)
    RepoAccess.objects.filter(pk=padmin_access.pk).update(
        status=Status.REMOVING, removal_requested=True
    )
    plan = repo_policy_plan(repo)  # what the sync wrote
    assert member_access.pk in plan.readers and padmin_access.pk in plan.removing_accesses
    # Meanwhile: member becomes a writer; padmin is granted again.
    RepoAccess.objects.filter(pk=member_access.pk).update(writable=True)
    RepoAccess.objects.filter(pk=padmin_access.pk).update(
        status=Status.PENDING, removal_requested=False
    )
    _record_written(repo, plan)
    member_access.refresh_from_db()
    assert member_access.status == Status.PENDING, "not active as a writer on a pull policy"
    assert RepoAccess.objects.filter(pk=padmin_access.pk, status=Status.PENDING).exists()
