import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.core.cache import cache
from moto import mock_aws

from hub import awsstandin
from hub.aws import client, reset_clients
from identities import iam
from projects.choices import Role
from projects.models import Membership, Project, Service

User = get_user_model()


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    # The real hasher costs ~0.3 s a user by design; tests create many users.
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _fresh_cache(settings):
    """Rate-limit counts (failed sign-ins, wrong API tokens, the API throttle) live in
    Django's cache: each test starts with none, in a cache of its own (never a Redis that
    HUB_CACHE_URL may name)."""
    settings.CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache", "LOCATION": "tests"}
    }
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def make_user(db):
    def make(username, *, staff=False, **extra):
        user = User.objects.create_user(
            username=username,
            email=f"{username}@example.com",
            password="pw-" + username,
            is_staff=staff,
            **extra,
        )
        # Someone who followed their verification mail (an address counts only then).
        EmailAddress.objects.create(user=user, email=user.email, verified=True, primary=True)
        return user

    return make


@pytest.fixture
def world(db, make_user):
    """Two projects and one person in every role of the access matrix."""
    project = Project.objects.create(shortname="acp", name="ACP")
    other = Project.objects.create(shortname="other", name="Other")
    users = {
        "non_member": make_user("outsider"),
        "member": make_user("member"),
        "project_admin": make_user("padmin"),
        "other_admin": make_user("otheradmin"),
        "hub_admin": make_user("hubadmin", staff=True),
    }
    Membership.objects.create(project=project, user=users["member"], role=Role.MEMBER)
    Membership.objects.create(project=project, user=users["project_admin"], role=Role.ADMIN)
    Membership.objects.create(project=other, user=users["other_admin"], role=Role.ADMIN)
    service = Service.objects.create(project=project, name="hello-world-app")
    return type(
        "World", (), {"project": project, "other": other, "users": users, "service": service}
    )


@pytest.fixture
def aws(settings, monkeypatch):
    """ECR, IAM and STS in-process (moto, taught users' permissions boundaries by
    hub.awsstandin), with the hub pointed at it."""
    for key, value in {
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_SESSION_TOKEN": "testing",
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    settings.AWS_ENDPOINT_URL = ""
    settings.HUB_TASK_RETRY_BASE = 0
    reset_clients()
    awsstandin.install()
    with mock_aws():
        # The operator's one-time step: the boundary every hub user must carry.
        awsstandin.create_boundary_policy(client("iam"), settings.HUB_IAM_PERMISSIONS_BOUNDARY)
        yield
    reset_clients()


@pytest.fixture
def created_secrets(monkeypatch):
    """Every secret access key IAM hands the hub during the test."""
    secrets = []

    original = iam.create_access_key

    def recording(name):
        key = original(name)
        secrets.append(key.secret)
        return key

    monkeypatch.setattr(iam, "create_access_key", recording)
    return secrets
