"""Figure 4: repositories deleted and policies edited behind the hub's back, on several
repositories at once, are repaired by one reconciler pass, each with its audit event.

tests/docker_repos/test_reconcile.py covers one repository per kind of drift; this adds
many at once, repositories with robots and people (whose grants must come back with a
recreated repository), and exact counts of what one pass finds, writes and audits."""

import json

from docker_repos.access import access_set
from docker_repos.models import DockerRepo
from docker_repos.reconcile import reconcile
from hub.choices import Status
from hub.models import AuditEvent
from tests.access_helpers import active_repo, converging, db_grants, policy_grants

from .support import NODE_ROLE, ecr_repo_ids, ecr_repository_names, status_counts

REPOS = [f"app-{n}" for n in range(10)]
WITH_ACCESS = ["app-0", "app-1"]  # a robot and two people each
DELETED = ["app-0", "app-2", "app-3"]
POLICY_EDITED = ["app-1", "app-4", "app-5", "app-6"]
POLICY_AND_SETTINGS_EDITED = ["app-7"]
UNTOUCHED = ["app-8", "app-9"]

SNEAKY = {
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


def edit_behind_the_hubs_back(ecr) -> None:
    for name in DELETED:
        ecr.delete_repository(repositoryName=f"acp/{name}", force=True)
    ecr.set_repository_policy(repositoryName="acp/app-1", policyText=json.dumps(SNEAKY))
    ecr.set_repository_policy(repositoryName="acp/app-4", policyText=json.dumps(SNEAKY))
    ecr.delete_repository_policy(repositoryName="acp/app-5")
    widened = json.loads(ecr.get_repository_policy(repositoryName="acp/app-6")["policyText"])
    widened["Statement"][0]["Principal"]["AWS"] = [NODE_ROLE, "arn:aws:iam::999999999999:root"]
    ecr.set_repository_policy(repositoryName="acp/app-6", policyText=json.dumps(widened))
    ecr.set_repository_policy(repositoryName="acp/app-7", policyText=json.dumps(SNEAKY))
    ecr.put_image_tag_mutability(repositoryName="acp/app-7", imageTagMutability="IMMUTABLE")


def test_one_pass_repairs_deleted_repositories_and_edited_policies_with_audit_events(
    world, aws, ecr, settings, django_capture_on_commit_callbacks
):
    """Figure: 10 active repositories; behind the hub's back 3 are deleted and 5 have their
    policy edited (1 also its settings) -> the dry run plans 3 + 5 and changes nothing; 1
    pass recreates 3 (3 `drift_recreated` events) and repairs 5 (5 `drift_repaired`
    events), 10 checked -> 10 active, 10 in ECR, every policy equal to the database
    (robots' and people's grants back on the recreated ones); the next pass: 0 changes."""
    settings.HUB_ECR_PULL_PRINCIPALS = [NODE_ROLE]
    repos = {name: active_repo(world, name) for name in REPOS}
    with converging(django_capture_on_commit_callbacks):
        for name in WITH_ACCESS:
            access_set(
                actor=world.users["project_admin"],
                repo=repos[name],
                robots=[{"name": "ci"}],
                users=[
                    {"username": "member", "writable": False},
                    {"username": "padmin", "writable": True},
                ],
            )
    granted = {name: policy_grants(f"acp/{name}") for name in REPOS}
    for name in WITH_ACCESS:
        assert len(granted[name]["push"]) == 2 and len(granted[name]["pull"]) == 2

    edit_behind_the_hubs_back(ecr)
    assert len(ecr_repository_names(ecr)) == len(REPOS) - len(DELETED)

    planned = reconcile(dry_run=True)
    assert sorted(planned.recreated) == [f"acp/{n}" for n in DELETED]
    assert len(planned.repaired) == len(POLICY_EDITED) + len(POLICY_AND_SETTINGS_EDITED)
    assert len(ecr_repository_names(ecr)) == len(REPOS) - len(DELETED)  # nothing written
    assert not AuditEvent.objects.filter(action__startswith="docker_repo.drift").exists()

    with converging(django_capture_on_commit_callbacks):
        report = reconcile()

    assert report.checked == len(REPOS)
    assert sorted(report.recreated) == [f"acp/{n}" for n in DELETED]
    assert sorted(report.repaired) == sorted(
        [f"acp/{n}: repository policy" for n in POLICY_EDITED]
        + [f"acp/{n}: settings, repository policy" for n in POLICY_AND_SETTINGS_EDITED]
    )
    assert (report.requeued, report.errors) == ([], [])
    events = AuditEvent.objects.filter(action__startswith="docker_repo.drift")
    by_action = {
        action: sorted(events.filter(action=action).values_list("target_id", flat=True))
        for action in ("docker_repo.drift_recreated", "docker_repo.drift_repaired")
    }
    assert by_action == {
        "docker_repo.drift_recreated": sorted(str(repos[n].pk) for n in DELETED),
        "docker_repo.drift_repaired": sorted(
            str(repos[n].pk) for n in POLICY_EDITED + POLICY_AND_SETTINGS_EDITED
        ),
    }

    # Everything is back: the recreated repositories went through provisioning again.
    assert status_counts() == {Status.ACTIVE: len(REPOS)}
    assert ecr_repo_ids(ecr) == {r.full_name: str(r.pk) for r in DockerRepo.objects.all()}
    for name, repo in repos.items():
        assert policy_grants(f"acp/{name}") == db_grants(repo) == granted[name], name
    found = ecr.describe_repositories(repositoryNames=["acp/app-7"])["repositories"][0]
    assert found["imageTagMutability"] == "MUTABLE"
    assert "999999999999" not in json.dumps(
        [ecr.get_repository_policy(repositoryName=f"acp/{n}")["policyText"] for n in REPOS]
    )

    again = reconcile()
    assert (again.checked, again.changes) == (len(REPOS), 0)
