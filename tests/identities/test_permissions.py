"""The permission matrix of the personal pages: every signed-in person has their own."""

from identities.services import api_token_create
from tests.matrix import CREATED, DONE, REFUSED, SIGNED_IN, Case, check, everyone, parametrize


def own_token(world, user):
    """A token of the person making the request (of `member` for the anonymous role)."""
    api_token, _ = api_token_create(user=user or world.users["member"], name="ci")
    return {"token_id": api_token.pk}


def members_token(world, user):
    api_token, _ = api_token_create(user=world.users["member"], name="member-ci")
    return {"token_id": api_token.pk}


CASES = [
    Case("identities:connected", SIGNED_IN),
    Case("identities:api-tokens", SIGNED_IN),
    Case("identities:api-tokens", everyone(CREATED), method="post", data={"name": "drone-ci"}),
    Case("identities:api-token-revoke", everyone(DONE), kwargs=own_token, method="post"),
    # Someone else's token: refused with a "no such token" message, nothing changed.
    Case(
        "identities:api-token-revoke",
        everyone(REFUSED) | {"member": DONE},
        kwargs=members_token,
        method="post",
        label="member's token",
    ),
]


@parametrize(CASES)
def test_permission_matrix(case, role, client, world):
    check(case, role, client, world)
