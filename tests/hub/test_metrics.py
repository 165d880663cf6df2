"""`/metrics` (Prometheus) and the sample alert rules: counts and times only, never a name
or a secret; database figures in a fixed number of queries; every metric the alert rules
name is one the hub exports."""

import re
from pathlib import Path

import pytest
import yaml
from django.db import connection
from django.test.utils import CaptureQueriesContext
from prometheus_client.parser import text_string_to_metric_families

from docker_repos.models import DockerRepo, RepoAccess, RobotAccount
from docker_repos.reconcile import reconcile
from hub import heartbeat, metrics, worker_metrics
from hub.choices import Status
from hub.crypto import encrypt

ROOT = Path(__file__).resolve().parents[2]
ALERTS = ROOT / "deploy" / "prometheus" / "alerts.yml"
SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY"


def scrape(client, **headers) -> str:
    response = client.get("/metrics", HTTP_HOST="10.1.2.3:8000", **headers)
    assert response.status_code == 200, response.content
    assert response["Content-Type"].startswith("text/plain; version=")
    return response.content.decode()


def samples(text: str) -> dict[tuple, float]:
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


def _repo(world, name, status=Status.ACTIVE) -> DockerRepo:
    return DockerRepo.objects.create(
        project=world.project, service=world.service, name=name, status=status
    )


def test_objects_by_kind_and_status(client, world):
    active = _repo(world, "payments-api")
    _repo(world, "ledger", Status.FAILED)
    _repo(world, "search", Status.PENDING)
    RobotAccount.objects.create(
        repo=active,
        name="drone-ci",
        status=Status.ACTIVE,
        iam_username="hub-robot-acp-payments-api-drone-ci",
        access_key_id="AKIAEXAMPLE",
        secret_access_key_encrypted=encrypt(SECRET),
    )
    RepoAccess.objects.create(repo=active, user=world.users["member"], status=Status.FAILED)

    found = samples(scrape(client))

    def objects(kind, status):
        return found[("hub_objects", (("kind", kind), ("status", status)))]

    assert objects("docker_repo", "active") == 1
    assert objects("docker_repo", "failed") == 1
    assert objects("docker_repo", "pending") == 1
    assert objects("docker_repo", "deleting") == 0  # every status, so rates work
    assert objects("robot", "active") == 1
    assert objects("repo_access", "failed") == 1
    assert objects("ecr_identity", "active") == 0


def test_metrics_reveal_no_names_and_no_secrets(client, world):
    repo = _repo(world, "payments-api")
    RobotAccount.objects.create(
        repo=repo,
        name="drone-ci",
        iam_username="hub-robot-x",
        secret_access_key_encrypted=encrypt(SECRET),
    )
    client.force_login(world.users["member"])
    assert client.get(f"/projects/{world.project.shortname}/").status_code == 200
    client.logout()
    text = scrape(client)
    names = [
        world.project.shortname,
        "payments-api",
        "drone-ci",
        "hub-robot-x",
        SECRET,
        *(user.username for user in world.users.values()),
    ]
    for name in names:
        assert not re.search(rf"\b{re.escape(name)}\b", text), name


def test_request_latency_is_labelled_by_url_pattern(client, world):
    client.force_login(world.users["member"])
    client.get(f"/projects/{world.project.shortname}/")
    found = samples(scrape(client))
    key = (
        "hub_http_request_duration_seconds_count",
        (("method", "GET"), ("route", "projects/<slug:shortname>/"), ("status", "200")),
    )
    assert found.get(key, 0) >= 1, [k for k in found if k[0].startswith("hub_http")]


def test_unmatched_addresses_share_one_label(client, db):
    client.get("/no-such-page-for-alice/")
    text = scrape(client)
    assert "alice" not in text
    assert 'route="<unmatched>"' in text


def test_database_figures_take_a_fixed_number_of_queries(client, world):
    def queries() -> int:
        with CaptureQueriesContext(connection) as captured:
            scrape(client)
        return len(captured)

    _repo(world, "one")
    few = queries()
    for i in range(30):
        _repo(world, f"many-{i}", Status.FAILED if i % 3 else Status.ACTIVE)
    assert queries() == few == len(metrics.settings.HUB_METRICS_OBJECT_MODELS) + 1


def test_heartbeats_and_last_reconciler_pass(client, db):
    heartbeat.record(heartbeat.BEAT)
    heartbeat.record(
        heartbeat.RECONCILE,
        detail={"duration_seconds": 1.5, "changes": 3, "errors": 1, "checked": 10},
    )
    found = {k[0]: v for k, v in samples(scrape(client)).items() if not k[1]}
    assert found["hub_beat_heartbeat_age_seconds"] < 5
    assert found["hub_reconcile_last_pass_duration_seconds"] == 1.5
    assert found["hub_reconcile_last_pass_changes"] == 3
    assert found["hub_reconcile_last_pass_errors"] == 1
    assert found["hub_reconcile_last_success_timestamp_seconds"] == pytest.approx(
        found["hub_beat_heartbeat_timestamp_seconds"], abs=5
    )


def test_reconciler_pass_is_recorded(db, aws):
    before = worker_metrics.metrics().reconcile_passes.labels("completed")._value.get()
    report = reconcile()
    row = heartbeat.read_all()[heartbeat.RECONCILE]
    assert row.detail["changes"] == report.changes
    assert row.detail["errors"] == 0 and row.detail["duration_seconds"] >= 0
    assert worker_metrics.metrics().reconcile_passes.labels("completed")._value.get() == before + 1
    reconcile(dry_run=True)  # a dry run is not a pass: the record stays
    assert heartbeat.read_all()[heartbeat.RECONCILE].at == row.at


def test_a_token_protects_metrics_when_set(client, db, settings):
    settings.HUB_METRICS_TOKEN = "s3cret-scrape-token"
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 401
    scrape(client, HTTP_AUTHORIZATION="Bearer s3cret-scrape-token")


# --- deploy/prometheus/alerts.yml ---------------------------------------------------------

_PROMQL_WORDS = {
    "by",
    "without",
    "on",
    "ignoring",
    "group_left",
    "group_right",
    "bool",
    "and",
    "or",
    "unless",
    "offset",
}


def referenced_metrics(expr: str) -> set[str]:
    """Metric names in a PromQL expression: identifiers that are not functions, keywords,
    label names (inside {} or a by/on (...) clause), strings or ranges."""
    expr = re.sub(r'"[^"]*"|\'[^\']*\'', "", expr)
    expr = re.sub(r"\{[^}]*\}|\[[^\]]*\]", "", expr)
    expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", "", expr)
    return {
        name
        for name in re.findall(r"(?<![\w.:])([a-zA-Z_:][\w:]*)(?![\w:])(?!\s*\()", expr)
        if name not in _PROMQL_WORDS
    }


def exported_metrics() -> set[str]:
    """Every sample name the web, the worker and beat can export."""
    families = [*metrics.request_latency().describe()]
    for metric in vars(worker_metrics.metrics()).values():
        families += metric.describe()
    families += [
        *worker_metrics._Up("worker", 2).collect(),
        *worker_metrics._Up("beat", None).collect(),
    ]
    names = set()
    for family in families:
        suffixes = {"counter": ["_total"], "histogram": ["_bucket", "_sum", "_count"]}.get(
            family.type, [""]
        )
        names |= {family.name + suffix for suffix in suffixes}
    return names


def test_referenced_metrics_parser():
    assert referenced_metrics(
        'time() - max by (kind) (hub_a{status="x"}[5m] offset 15m) > 1 or absent(hub_b)'
    ) == {"hub_a", "hub_b"}


def test_alert_rules_are_prometheus_rule_groups_of_hub_metrics(client, db):
    heartbeat.record(heartbeat.BEAT)
    heartbeat.record(heartbeat.RECONCILE, detail={"duration_seconds": 1, "changes": 0, "errors": 0})
    exported = exported_metrics() | {s[0] for s in samples(scrape(client))}
    document = yaml.safe_load(ALERTS.read_text())
    assert set(document) == {"groups"}
    alerts = set()
    for group in document["groups"]:
        assert set(group) <= {"name", "interval", "rules"} and group["name"]
        for rule in group["rules"]:
            assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}, rule
            assert isinstance(rule["alert"], str) and isinstance(rule["expr"], str)
            assert re.fullmatch(r"\d+[smhd]", rule.get("for", "0s")), rule
            assert rule["labels"]["severity"] in ("warning", "critical")
            assert rule["annotations"]["summary"]
            unknown = referenced_metrics(rule["expr"]) - exported
            assert not unknown, f"{rule['alert']} names metrics the hub does not export: {unknown}"
            alerts.add(rule["alert"])
    assert {
        "HubReconcilerStale",
        "HubFailedObjectsRising",
        "HubWorkerGone",
        "HubBeatHeartbeatStale",
    } <= alerts
