"""`manage.py hub_reencrypt`: every stored secret moves onto the first key of
HUB_FERNET_KEYS, so an old key can be dropped; counts only, never a secret; audited."""

import io

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.apps import apps
from django.core.management import call_command

from docker_repos.models import DockerRepo, RobotAccount
from hub.crypto import decrypt, encrypt
from hub.models import AuditEvent
from identities.models import EcrIdentity

OLD, NEW, OTHER = (Fernet.generate_key().decode() for _ in range(3))
SECRETS = {f"person-{i}": f"wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKE{i}" for i in range(3)}
ROBOT_SECRET = "je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY"


def run(*args) -> tuple[int, str]:
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("hub_reencrypt", *args, stdout=out, stderr=err)
        code = 0
    except SystemExit as exc:
        code = exc.code
    return code, out.getvalue() + err.getvalue()


@pytest.fixture
def stored(world, make_user, settings):
    """Three identities and a robot whose secrets were written under the OLD key, and one
    identity without a key yet."""
    settings.HUB_FERNET_KEYS = [OLD]
    for username, secret in SECRETS.items():
        EcrIdentity.objects.create(
            user=make_user(username),
            iam_username=f"hub-user-{username}",
            access_key_id="AKIA" + username,
            secret_access_key_encrypted=encrypt(secret),
        )
    EcrIdentity.objects.create(user=make_user("nokey"), iam_username="hub-user-nokey")
    repo = DockerRepo.objects.create(project=world.project, service=world.service, name="web")
    RobotAccount.objects.create(
        repo=repo,
        name="ci",
        iam_username="hub-robot-acp-web-ci",
        access_key_id="AKIAROBOT",
        secret_access_key_encrypted=encrypt(ROBOT_SECRET),
    )


def ciphertexts() -> list[str]:
    return [
        *EcrIdentity.objects.exclude(secret_access_key_encrypted="").values_list(
            "secret_access_key_encrypted", flat=True
        ),
        *RobotAccount.objects.values_list("secret_access_key_encrypted", flat=True),
    ]


def plaintexts() -> dict[str, str]:
    found = {
        row.user.username: decrypt(row.secret_access_key_encrypted)
        for row in EcrIdentity.objects.exclude(secret_access_key_encrypted="").select_related(
            "user"
        )
    }
    found["robot"] = decrypt(RobotAccount.objects.get().secret_access_key_encrypted)
    return found


def test_rotation_new_key_first_reencrypt_then_drop_the_old_key(stored, settings):
    settings.HUB_FERNET_KEYS = [NEW, OLD]  # step 1: the new key first, the old one still there
    before = ciphertexts()

    code, output = run("--check")
    assert code == 1
    assert "identities.EcrIdentity.secret_access_key_encrypted: 3 not on the first key" in output
    assert "docker_repos.RobotAccount.secret_access_key_encrypted: 1 not on the first key" in output
    assert ciphertexts() == before  # --check changes nothing
    assert not AuditEvent.objects.filter(action="secrets.reencrypt").exists()

    code, output = run()
    assert code == 0, output
    assert "identities.EcrIdentity.secret_access_key_encrypted: 3 re-encrypted, 0 already" in output
    assert "docker_repos.RobotAccount.secret_access_key_encrypted: 1 re-encrypted" in output
    for value in [*SECRETS.values(), ROBOT_SECRET, *before, OLD, NEW]:
        assert value not in output
    event = AuditEvent.objects.get(action="secrets.reencrypt")
    assert event.detail["identities.EcrIdentity.secret_access_key_encrypted"]["reencrypted"] == 3
    assert not any(value in str(event.detail) for value in [*SECRETS.values(), ROBOT_SECRET])

    # Idempotent: nothing left to do, nothing rewritten.
    after = ciphertexts()
    code, output = run()
    assert code == 0 and "0 re-encrypted, 3 already on the first key" in output
    assert ciphertexts() == after
    code, output = run("--check")
    assert code == 0 and "0 secrets not on the first key" in output

    settings.HUB_FERNET_KEYS = [NEW]  # step 2: the old key dropped
    assert plaintexts() == {**SECRETS, "robot": ROBOT_SECRET}


def test_without_reencrypting_dropping_the_old_key_loses_the_secrets(stored, settings):
    """Why the command exists (and why the procedure runs it before dropping a key)."""
    settings.HUB_FERNET_KEYS = [NEW]
    with pytest.raises(InvalidToken):
        plaintexts()
    code, output = run("--check")
    assert code == 1
    assert "3 UNREADABLE with every configured key" in output


def test_small_batches_cover_every_row(stored, settings):
    settings.HUB_FERNET_KEYS = [NEW, OLD]
    code, output = run("--batch-size", "1")
    assert code == 0 and "3 re-encrypted" in output
    settings.HUB_FERNET_KEYS = [NEW]
    assert plaintexts() == {**SECRETS, "robot": ROBOT_SECRET}


def test_a_secret_no_key_decrypts_is_reported_and_left_alone(stored, settings):
    settings.HUB_FERNET_KEYS = [OTHER]
    stray = encrypt("je7MtGbClwBF/2Zp9Utk/h3yCo8nvbSTRAYSTRAY")
    RobotAccount.objects.update(secret_access_key_encrypted=stray)
    settings.HUB_FERNET_KEYS = [NEW, OLD]
    code, output = run()
    assert code == 1
    assert (
        "docker_repos.RobotAccount.secret_access_key_encrypted: 0 re-encrypted, 0 already "
        "on the first key, 1 UNREADABLE" in output
    )
    assert RobotAccount.objects.get().secret_access_key_encrypted == stray


def test_every_encrypted_column_is_listed(settings):
    """A new encrypted column must be added to HUB_ENCRYPTED_FIELDS, or hub_reencrypt would
    leave it on the old key (and dropping that key would lose it)."""
    found = {
        f"{model._meta.label}.{field.name}"
        for model in apps.get_models()
        for field in model._meta.get_fields()
        if "encrypted" in field.name
    }
    assert found == set(settings.HUB_ENCRYPTED_FIELDS)
