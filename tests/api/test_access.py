"""/api/v1/docker-repos/{id}/access/ and the robots' credentials: success and every error
path. (The whole guide, with the tasks and AWS, is test_contract.py.)"""

import pytest

from docker_repos.models import RepoAccess, RobotAccount
from hub.choices import Status
from hub.crypto import encrypt
from hub.models import AuditEvent
from projects.choices import RepoManagement
from projects.models import Membership

from .matrix import MANAGER, NOWHERE, READ, Endpoint, assert_error_shape
from .support import API, Url, make_repo


def make_robot(repo, name="drone-ci", *, status=Status.ACTIVE) -> RobotAccount:
    return RobotAccount.objects.create(
        repo=repo,
        name=name,
        status=status,
        iam_username=f"hub-robot-{repo.project.shortname}-{repo.name}-{name}",
        iam_arn=f"arn:aws:iam::123456789012:user/platform-hub/hub-robot-{name}",
        access_key_id=f"AKIAROBOT{name.upper().replace('-', '')}",
        secret_access_key_encrypted=encrypt(f"secret-of-{name}"),
    )


def grant_rows(world, repo, make_user, numbers) -> None:
    """Access entries (and members) as rows, without tasks: for query counts."""
    for number in numbers:
        user = make_user(f"reader{number:02d}")
        Membership.objects.create(project=repo.project, user=user)
        RepoAccess.objects.create(
            repo=repo, user=user, writable=number % 2 == 0, status=Status.ACTIVE
        )
        make_robot(repo, f"robot-{number:02d}")


def access_url(**repo_fields) -> Url:
    return Url(
        f"{API}docker-repos/<repo>/access/",
        lambda w: f"{API}docker-repos/{make_repo(w, **repo_fields).pk}/access/",
    )


def robot_url(suffix: str) -> Url:
    def build(w):
        repo = make_repo(w)
        return f"{API}docker-repos/{repo.pk}/robots/{make_robot(repo).pk}/{suffix}"

    return Url(f"{API}docker-repos/<repo>/robots/<robot>/{suffix}", build)


def robot_of_another_repo(suffix: str) -> Url:
    def build(w):
        repo, elsewhere = make_repo(w), make_repo(w, name="elsewhere")
        return f"{API}docker-repos/{repo.pk}/robots/{make_robot(elsewhere).pk}/{suffix}"

    return Url(f"{API}docker-repos/<repo>/robots/<another repo's robot>/{suffix}", build)


def admins_manage(url: Url) -> Url:
    def build(w):
        w.project.repo_management = RepoManagement.ADMINS
        w.project.save()
        return url(w)

    return Url(f"{url!r} (repo_management=admins)", build)


ACCESS_BODY = {
    "robots": [{"name": "drone-ci"}],
    "users": [{"username": "member", "writable": True}],
}

ACCESS_ENDPOINTS = [
    Endpoint("get", access_url(), READ()),
    Endpoint(
        "get",
        Url(
            f"{API}docker-repos/<other's>/access/",
            lambda w: f"{API}docker-repos/{make_repo(w, project=w.other).pk}/access/",
        ),
        NOWHERE | {"other_admin": 200, "hub_admin": 200},
        label="another project's",
    ),
    Endpoint("put", access_url(), MANAGER(202), body=ACCESS_BODY),
    Endpoint(
        "put",
        admins_manage(access_url()),
        READ(202) | {"member": 403},
        body=ACCESS_BODY,
        label="repo_management=admins",
    ),
    Endpoint("get", robot_url("credentials/"), MANAGER(200), changes=True),
    Endpoint(
        "get",
        admins_manage(robot_url("credentials/")),
        READ(200) | {"member": 403},
        changes=True,
        label="repo_management=admins",
    ),
    Endpoint("get", robot_of_another_repo("credentials/"), NOWHERE),
    Endpoint("post", robot_url("rotate/"), MANAGER(202)),
    Endpoint("post", robot_of_another_repo("rotate/"), NOWHERE),
]


def error_of(response, status: int) -> dict:
    assert response.status_code == status, response.content
    return assert_error_shape(response)


@pytest.fixture
def repo(world):
    return make_repo(world)


def url_of(repo, suffix="access/") -> str:
    return f"{API}docker-repos/{repo.pk}/{suffix}"


# --- GET ----------------------------------------------------------------------------------


def test_get_access(api, world, repo):
    robot = make_robot(repo)
    RepoAccess.objects.create(
        repo=repo,
        user=world.users["member"],
        writable=True,
        status=Status.FAILED,
        status_detail="IAM said no",
    )
    assert api("member").get(url_of(repo)).json() == {
        "robots": [
            {
                "id": robot.pk,
                "name": "drone-ci",
                "iam_username": robot.iam_username,
                "status": "active",
                "status_detail": "",
                "access_key_id": "AKIAROBOTDRONECI",
            }
        ],
        "users": [
            {
                "username": "member",
                "writable": True,
                "status": "failed",
                "status_detail": "IAM said no",
            }
        ],
    }


def test_robot_keys_are_for_repo_managers_only(api, world, repo):
    make_robot(repo)
    world.project.repo_management = RepoManagement.ADMINS
    world.project.save()
    assert api("member").get(url_of(repo)).json()["robots"][0]["access_key_id"] is None
    assert api("project_admin").get(url_of(repo)).json()["robots"][0]["access_key_id"]


# --- PUT ----------------------------------------------------------------------------------


def test_put_sets_the_whole_desired_state(api, world, repo, django_capture_on_commit_callbacks):
    old = make_robot(repo, "old-robot")
    RepoAccess.objects.create(repo=repo, user=world.users["project_admin"], status=Status.ACTIVE)
    with django_capture_on_commit_callbacks() as callbacks:
        response = api("member").put(
            url_of(repo),
            {
                "robots": [{"name": "drone-ci"}],
                "users": [
                    {"username": "member", "writable": True},
                    {"username": "outsider-not-listed-here", "writable": False},
                ][:1],
            },
            format="json",
        )
    assert response.status_code == 202
    body = response.json()
    assert [(r["name"], r["status"]) for r in body["robots"]] == [
        ("drone-ci", "pending"),
        ("old-robot", "removing"),
    ]
    assert [(u["username"], u["writable"], u["status"]) for u in body["users"]] == [
        ("member", True, "pending"),
        ("padmin", False, "removing"),
    ]
    assert RobotAccount.objects.get(pk=old.pk).status == Status.REMOVING
    assert callbacks  # the robot, the identity and the policy sync are enqueued
    assert AuditEvent.objects.filter(action="docker_repo.access_changed").count() == 1


def test_put_the_same_state_again_changes_nothing(api, world, repo):
    body = {"robots": [], "users": [{"username": "member", "writable": False}]}
    client = api("member")
    client.put(url_of(repo), body, format="json")
    events = AuditEvent.objects.count()
    response = client.put(url_of(repo), body, format="json")
    assert response.status_code == 202
    assert AuditEvent.objects.count() == events


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"robots": [], "users": [{"username": "outsider"}]}, "users"),
        ({"robots": [], "users": [{"username": "nobody"}]}, "users"),
        ({"robots": [{"name": "Bad Name"}], "users": []}, "robots"),
        ({"robots": [{"name": "a"}, {"name": "a"}], "users": []}, "robots"),
        ({"robots": [], "users": [{"username": "member"}, {"username": "member"}]}, "users"),
        ({"robots": [{"name": "x", "colour": "red"}], "users": []}, "robots.0.colour"),
        ({"robots": [], "users": [{"username": "member", "writable": "yes"}]}, "users.0.writable"),
        ({"robots": [], "users": [{"username": 5}]}, "users.0.username"),
        ({"robots": "drone-ci", "users": []}, "robots"),
        ({"robots": [None], "users": []}, "robots.0"),
        ({"users": []}, "robots"),
        ({"robots": [], "users": [], "groups": []}, "groups"),
    ],
)
def test_put_errors_are_400_and_change_nothing(api, world, repo, body, field):
    error = error_of(api("member").put(url_of(repo), body, format="json"), 400)
    assert field in error["fields"], error
    assert not RobotAccount.objects.exists() and not RepoAccess.objects.exists()


def test_a_long_robot_name_gets_one_message_with_the_one_limit(api, world, repo):
    """80 characters: one message, with the room IAM leaves for this repository (not also
    the 64 of the column)."""
    room = 64 - len(f"hub-robot-acp-{repo.name}-")
    error = error_of(
        api("member").put(
            url_of(repo), {"robots": [{"name": "x" * 80}], "users": []}, format="json"
        ),
        400,
    )
    assert error["code"] == "invalid"
    assert len(error["fields"]["robots"]) == 1, error
    assert f"Use at most {room} characters for a robot account" in error["fields"]["robots"][0]
    assert "64 characters" not in str(error)


@pytest.mark.parametrize("state", [Status.PENDING, Status.FAILED, Status.DELETING])
def test_put_unless_active_is_409(api, world, state):
    repo = make_repo(world, status=state)
    error = error_of(api("member").put(url_of(repo), ACCESS_BODY, format="json"), 409)
    assert "once it is active" in error["message"]


def test_put_as_a_member_when_admins_manage_is_403(api, world, repo):
    world.project.repo_management = RepoManagement.ADMINS
    world.project.save()
    error_of(api("member").put(url_of(repo), {"bogus": 1}, format="json"), 403)


# --- robots' credentials --------------------------------------------------------------------


def test_robot_credentials_are_audited_and_not_cached(api, world, repo):
    robot = make_robot(repo)
    response = api("member").get(url_of(repo, f"robots/{robot.pk}/credentials/"))
    assert response.status_code == 200
    assert response.json() == {
        "access_key_id": "AKIAROBOTDRONECI",
        "secret_access_key": "secret-of-drone-ci",
    }
    assert response["Cache-Control"] == "no-store"
    event = AuditEvent.objects.get(action="robot.credentials_revealed")
    assert event.actor == world.users["member"] and "secret" not in str(event.detail)


@pytest.mark.parametrize("state", [Status.PENDING, Status.REMOVING, Status.FAILED])
def test_robot_credentials_unless_active_are_409(api, world, repo, state):
    robot = make_robot(repo, status=state)
    error_of(api("member").get(url_of(repo, f"robots/{robot.pk}/credentials/")), 409)


@pytest.mark.parametrize("robot_id", ["abc", "0", "999999", "1" * 25])
def test_unknown_robots_are_404(api, world, repo, robot_id):
    error_of(api("member").get(url_of(repo, f"robots/{robot_id}/credentials/")), 404)


def test_rotate_a_robot(api, world, repo, django_capture_on_commit_callbacks):
    robot = make_robot(repo)
    with django_capture_on_commit_callbacks() as callbacks:
        response = api("member").post(url_of(repo, f"robots/{robot.pk}/rotate/"))
    assert response.status_code == 202
    assert response.json()["status"] == "pending"
    assert response.json()["access_key_id"] == "AKIAROBOTDRONECI"  # until replaced
    assert len(callbacks) == 1
    error_of(api("member").post(url_of(repo, f"robots/{robot.pk}/rotate/")), 409)
    error_of(
        api("member").post(
            url_of(repo, f"robots/{robot.pk}/rotate/"), {"now": True}, format="json"
        ),
        400,
    )
