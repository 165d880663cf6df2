"""Figure 1: AWS goes down while 50 repositories are requested. After AWS comes back, one
reconciler pass brings all 50 to `active`: 50 repositories in ECR, each exactly once,
each tagged with its own row; none lost, none duplicated.

AWS is moto in-process; "down" is the hub's endpoint pointed at a closed port (botocore
gets "connection refused", exactly as when AWS cannot be reached), with one try per call
(HUB_AWS_MAX_ATTEMPTS=1) and Celery retries without waiting (eager mode, retry base 0).

After the last retry a repository is `failed` with the reason and a Retry (UI, API, the
admin's bulk action). The reconciler re-sends what is still `pending` (a lost message)
once it is older than HUB_RECONCILE_STUCK_AFTER, and, once ECR answers its listing again,
sends again the repositories that failed only because AWS stayed unreachable."""

import re

import pytest
from django.urls import reverse

from docker_repos import services
from docker_repos.models import DockerRepo
from docker_repos.reconcile import reconcile
from hub.choices import Status
from tests.access_helpers import converging
from tests.procs import free_port

from .support import NODE_ROLE, audit_counts, ecr_repo_ids, ecr_repository_names, status_counts

REPOS = 50
BEFORE_OUTAGE = 5  # AWS goes down right after ECR created the 5th repository
LOST = 10  # the last 10 requests' messages are lost: nothing is on its way for them
MAX_RETRIES = 2  # so 3 attempts per task
FAILED = REPOS - LOST - (BEFORE_OUTAGE - 1)  # 36: the 5th (half made) and the next 35

UNREACHABLE_DETAIL = "gave up after 3 attempts; press Retry to try again"


@pytest.fixture
def outage(settings, boto_events):
    """`outage.start()` points the hub at a closed port; AWS is up again with `end()`.
    The outage starts by itself once ECR has created BEFORE_OUTAGE repositories. Every
    call the hub sends while AWS is down is counted (`refused`)."""
    closed = f"http://127.0.0.1:{free_port()}"

    class Outage:
        created = 0
        refused = 0

        def start(self):
            settings.AWS_ENDPOINT_URL = closed

        def end(self):
            settings.AWS_ENDPOINT_URL = ""

    state = Outage()

    def after_create(**kwargs):
        state.created += 1
        if state.created == BEFORE_OUTAGE:
            state.start()  # in the middle of the 5th provisioning: its policy is next

    def count_refused(request, **kwargs):
        if request.url.startswith(closed):
            state.refused += 1

    boto_events.register("after-call.ecr.CreateRepository", after_create)
    boto_events.register("before-send.ecr", count_refused)
    return state


def test_aws_down_while_50_repositories_are_requested_then_all_50_end_active(
    world, aws, ecr, outage, settings, client, django_capture_on_commit_callbacks
):
    """Figure: 50 requested during an AWS outage -> 4 active, 36 failed, 10 pending (lost)
    while it lasts; after AWS is back, one reconciler pass re-sends the 10 pending and the
    admin's bulk Retry the 36 failed -> 50 active, 50 repositories in ECR, 0 duplicates,
    0 lost; a final reconciler pass finds 0 changes in 50."""
    settings.HUB_ECR_PULL_PRINCIPALS = [NODE_ROLE]  # every repository gets a policy
    settings.HUB_TASK_MAX_RETRIES = MAX_RETRIES
    settings.HUB_TASK_RETRY_BASE = 0
    settings.HUB_AWS_MAX_ATTEMPTS = 1
    settings.HUB_AWS_CONNECT_TIMEOUT = 0.2
    member = world.users["member"]
    names = [f"app-{n:02d}" for n in range(REPOS)]

    def request(name):
        return services.repo_request(
            actor=member, project=world.project, service=world.service, name=name
        )

    # Requested one after another; each task runs at once (eager) with its retries.
    with converging(django_capture_on_commit_callbacks):
        for name in names[: REPOS - LOST]:
            request(name)
    # The last ten commit, but their messages never reach a worker.
    with django_capture_on_commit_callbacks(execute=False) as lost_messages:
        for name in names[REPOS - LOST :]:
            request(name)
    assert len(lost_messages) == LOST

    # --- While AWS is down ------------------------------------------------------------
    assert outage.created == BEFORE_OUTAGE
    assert status_counts() == {
        Status.ACTIVE: BEFORE_OUTAGE - 1,
        Status.FAILED: FAILED,
        Status.PENDING: LOST,
    }
    # 1 policy write of the 5th + 2 retries of it + 35 repositories x 3 attempts.
    assert outage.refused == 1 + MAX_RETRIES + (FAILED - 1) * (MAX_RETRIES + 1) == 108
    for repo in DockerRepo.objects.filter(status=Status.FAILED):
        assert repo.status_detail.startswith("AWS unreachable while trying to ")
        assert repo.status_detail.endswith(UNREACHABLE_DETAIL)
    assert audit_counts("docker_repo.failed") == {"docker_repo.failed": FAILED}
    # A beat pass during the outage: fresh pending rows are left to their task, and the
    # drift check cannot list ECR (nor the credential check IAM's users), so it reports
    # both and changes nothing (no false "deleted").
    during = reconcile()
    assert (during.requeued, during.recreated, during.repaired) == ([], [], [])
    assert [error.object for error in during.errors] == [
        "listing the hub's IAM users",
        "listing the ECR repositories",
    ]
    assert all("unreachable" in error.reason for error in during.errors)
    assert status_counts()[Status.ACTIVE] == BEFORE_OUTAGE - 1
    outage.end()
    assert sorted(ecr_repository_names(ecr)) == [f"acp/{n}" for n in names[:BEFORE_OUTAGE]]

    # --- AWS is back: one reconciler pass ---------------------------------------------
    settings.HUB_RECONCILE_STUCK_AFTER = 0
    with converging(django_capture_on_commit_callbacks):
        report = reconcile()
    given_up = names[BEFORE_OUTAGE - 1 : REPOS - LOST]  # the 36 that failed on the outage
    lost = names[REPOS - LOST :]
    assert sorted(report.requeued) == sorted(f"acp/{name}" for name in [*lost, *given_up])
    assert (report.recreated, report.repaired, report.errors) == ([], [], [])
    assert status_counts() == {Status.ACTIVE: REPOS}
    with converging(django_capture_on_commit_callbacks):
        again = reconcile()
    assert again.requeued == [] and again.changes == 0

    # --- The operator's bulk Retry (admin action) has nothing left to do --------------
    client.force_login(world.users["hub_admin"])
    response = client.post(
        reverse("admin:docker_repos_dockerrepo_changelist"),
        {
            "action": "retry_failed",
            "_selected_action": list(DockerRepo.objects.values_list("pk", flat=True)),
        },
        follow=True,
    )
    assert response.status_code == 200
    shown = [str(message) for message in response.context["messages"]]
    assert any(re.match(r"0 \w* ?retried", message) for message in shown), shown

    # --- Counted -----------------------------------------------------------------------
    assert status_counts() == {Status.ACTIVE: REPOS}
    in_ecr = ecr_repository_names(ecr)
    assert len(in_ecr) == REPOS and len(set(in_ecr)) == REPOS  # none duplicated
    rows = {repo.full_name: str(repo.pk) for repo in DockerRepo.objects.all()}
    assert ecr_repo_ids(ecr) == rows  # none lost, each ECR repository is its own row's
    assert audit_counts(
        "docker_repo.requested", "docker_repo.active", "docker_repo.failed", "docker_repo.retried"
    ) == {
        "docker_repo.requested": REPOS,
        "docker_repo.active": REPOS,
        "docker_repo.failed": FAILED,
        "docker_repo.retried": FAILED,
    }
    final = reconcile()
    assert (final.checked, final.changes, final.errors) == (REPOS, 0, [])
