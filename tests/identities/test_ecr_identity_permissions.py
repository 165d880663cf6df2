"""The permission matrix of the Connected Identities (Amazon ECR) views. They only ever act
on the signed-in person's own identity: the URLs name nobody, so nobody can address
someone else's (tests/identities/test_ecr_identity_pages.py checks what each page shows)."""

from hub.choices import Status
from tests.access_helpers import fake_identity
from tests.matrix import (
    DONE,
    REFUSED,
    SIGNED_IN,
    Case,
    check,
    everyone,
    parametrize,
)

# The reveal is audited, then redirected to the page that shows the secret once.
REVEALED = DONE


def own_identity(status: str):
    """The requesting person has an identity in `status` (and so does `member`)."""

    def kwargs(world, user):
        fake_identity(world.users["member"], status=status)
        if user is not None and user != world.users["member"]:
            fake_identity(user, status=status)
        return {}

    return kwargs


def members_identity_only(world, user):
    """Only `member` has an identity: everyone else acts on their own (missing) one."""
    fake_identity(world.users["member"])
    return {}


CASES = [
    Case("identities:ecr-status", SIGNED_IN),
    Case("identities:ecr-status", SIGNED_IN, kwargs=own_identity(Status.PENDING), label="pending"),
    Case("identities:ecr-create", everyone(DONE), method="post"),
    # Asking again changes nothing.
    Case(
        "identities:ecr-create",
        everyone(REFUSED),
        kwargs=own_identity(Status.ACTIVE),
        method="post",
        label="has one",
    ),
    Case(
        "identities:ecr-reveal",
        everyone(REVEALED),
        kwargs=own_identity(Status.ACTIVE),
        method="post",
    ),
    # No identity of one's own: nothing to reveal, whoever else has one.
    Case(
        "identities:ecr-reveal",
        everyone(REFUSED) | {"member": REVEALED},
        kwargs=members_identity_only,
        method="post",
        label="only member's exists",
    ),
    Case(
        "identities:ecr-reveal",
        everyone(REFUSED),
        kwargs=own_identity(Status.PENDING),
        method="post",
        label="pending",
    ),
    # The one-time page with nothing revealed just before: it says so, records nothing.
    Case("identities:ecr-secret", SIGNED_IN, kwargs=own_identity(Status.ACTIVE)),
    Case(
        "identities:ecr-rotate", everyone(DONE), kwargs=own_identity(Status.ACTIVE), method="post"
    ),
    Case(
        "identities:ecr-rotate",
        everyone(REFUSED) | {"member": DONE},
        kwargs=members_identity_only,
        method="post",
        label="only member's exists",
    ),
    Case("identities:ecr-retry", everyone(DONE), kwargs=own_identity(Status.FAILED), method="post"),
    Case(
        "identities:ecr-retry",
        everyone(REFUSED),
        kwargs=own_identity(Status.ACTIVE),
        method="post",
        label="active",
    ),
]


@parametrize(CASES)
def test_permission_matrix(case, role, client, world, aws):
    check(case, role, client, world)
