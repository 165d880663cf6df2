"""`make bench`: how fast the hub is, at what scale, and how close to its limits.

Every figure is printed next to a reference measured in the same run (these machines are
noisy, so a ratio means more than a time). Nothing here fails on speed: the report goes to
var/bench/report.md and var/bench/report.json.

The run uses DATABASE_URL and CELERY_BROKER_URL when set (a fresh database is created on
that PostgreSQL server and dropped afterwards); otherwise SQLite and the file-system broker
under var/bench/. AWS is a moto server started for the run.
"""

import argparse
import json
import math
import os
import platform
import shutil
import statistics
import sys
import time
import tracemalloc
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg2

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "var" / "bench"
RUN_DIR = OUT / "run"
sys.path.insert(0, str(ROOT))

from tests import procs  # noqa: E402 - process helpers shared with the integration tests


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = max(0, math.ceil(pct / 100 * len(ordered)) - 1)
    return ordered[index]


def ms(seconds: float) -> float:
    return round(seconds * 1000, 2)


# --- Environment ------------------------------------------------------------------------


class Environment:
    """The database, broker and AWS stand-in of one run, set up before Django loads."""

    def __init__(self):
        self.procs: list[procs.Proc] = []
        self.database_note = ""
        self.dropdb = None

    def prepare(self) -> None:
        shutil.rmtree(RUN_DIR, ignore_errors=True)
        RUN_DIR.mkdir(parents=True)
        os.environ["HUB_VAR_DIR"] = str(RUN_DIR)
        os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings"
        os.environ.setdefault("HUB_ENV", "development")
        for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
            os.environ[key] = "testing"
        os.environ.pop("AWS_PROFILE", None)
        url = os.environ.get("DATABASE_URL", "")
        if url.startswith(("postgres://", "postgresql://")):
            self._fresh_postgres(url)
        else:
            os.environ["DATABASE_URL"] = f"sqlite:///{RUN_DIR / 'bench.sqlite3'}"
            self.database_note = "SQLite"
        os.environ.setdefault("CELERY_BROKER_URL", "filesystem://")
        self.aws_port = procs.free_port()
        os.environ["AWS_ENDPOINT_URL"] = f"http://127.0.0.1:{self.aws_port}"
        self.procs.append(procs.start_aws(self.aws_port, log_dir=RUN_DIR))

    def _fresh_postgres(self, url: str) -> None:
        parts = urlsplit(url)
        name = f"hub_bench_{os.getpid()}"
        admin_url = urlunsplit(parts._replace(path="/postgres"))
        conn = psycopg2.connect(admin_url)
        conn.autocommit = True
        with conn.cursor() as cursor:
            cursor.execute(f'DROP DATABASE IF EXISTS "{name}"')
            cursor.execute(f'CREATE DATABASE "{name}"')
        conn.close()
        os.environ["DATABASE_URL"] = urlunsplit(parts._replace(path=f"/{name}"))
        self.database_note = "PostgreSQL"

        def drop():
            from django.db import connections

            connections.close_all()
            conn = psycopg2.connect(admin_url)
            conn.autocommit = True
            with conn.cursor() as cursor:
                cursor.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.close()

        self.dropdb = drop

    def start(self, name: str, command: list[str]) -> procs.Proc:
        proc = procs.start(name, command, log_dir=RUN_DIR)
        self.procs.append(proc)
        return proc

    def close(self) -> None:
        for proc in reversed(self.procs):
            procs.stop(proc)
        if self.dropdb:
            self.dropdb()


def setup_django() -> None:
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)


def seed_admin():
    from django.contrib.auth import get_user_model

    from identities.services import api_token_create

    user = get_user_model().objects.create_user(
        "bench-admin", "bench@example.com", "bench-password", is_staff=True
    )
    _, token = api_token_create(user=user, name="bench")
    return user, token


# --- 1. Provisioning overhead -----------------------------------------------------------


def bench_provisioning(env: Environment, admin, token: str, count: int) -> dict:
    from docker_repos.models import DockerRepo
    from hub.aws import client
    from projects.services import project_create, service_create

    project = project_create(actor=admin, shortname="prov", name="Provisioning")
    service = service_create(actor=admin, project=project, name="svc")
    web_port = procs.free_port()
    web = env.start(
        "web",
        [
            procs.bin_path("gunicorn"),
            "hub.wsgi:application",
            "-w",
            "2",
            "-b",
            f"127.0.0.1:{web_port}",
            "--log-level",
            "warning",
        ],
    )
    worker = env.start(
        "worker",
        [
            procs.bin_path("celery"),
            "-A",
            "hub",
            "worker",
            "-c",
            "2",
            "-l",
            "warning",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
        ],
    )
    procs.wait_for_port(web_port, proc=web)
    url = f"http://127.0.0.1:{web_port}/api/v1/projects/prov/docker-repos/"

    def request(name: str) -> int:
        body = json.dumps({"service": service.pk, "name": name}).encode()
        req = urllib.request.Request(
            url,
            data=body,
            method="POST",
            headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
        )
        with urllib.request.urlopen(req, timeout=30) as response:  # noqa: S310 - loopback
            return json.loads(response.read())["id"]

    def until_active(repo_id: int) -> None:
        procs.wait_until(
            lambda: DockerRepo.objects.filter(pk=repo_id, status="active").exists(),
            timeout=60,
            interval=0.003,
            proc=worker,
            what=f"repository {repo_id} active",
        )

    for i in range(6):  # warm up every web and worker process and their AWS clients
        until_active(request(f"warm-{i}"))
    hub_times, api_times, ids = [], [], []
    for i in range(count):
        started = time.perf_counter()
        repo_id = request(f"repo-{i}")
        api_times.append(time.perf_counter() - started)
        until_active(repo_id)
        hub_times.append(time.perf_counter() - started)
        ids.append(repo_id)
    # Where the time goes: the API request, then enqueue → worker → AWS → row updated.
    worker_times = [
        (r.status_changed_at - r.created_at).total_seconds()
        for r in DockerRepo.objects.filter(pk__in=ids)
    ]

    # The same AWS calls the hub makes for a new repository, straight from boto3.
    ecr = client("ecr")
    direct_times = []
    for i in range(count + 3):
        name = f"direct/repo-{i}"
        started = time.perf_counter()
        try:
            ecr.describe_repositories(repositoryNames=[name])
        except ecr.exceptions.RepositoryNotFoundException:
            pass
        ecr.create_repository(
            repositoryName=name,
            imageTagMutability="MUTABLE",
            imageScanningConfiguration={"scanOnPush": True},
            tags=[
                {"Key": "managed-by", "Value": "platform-hub"},
                {"Key": "hub-project", "Value": "direct"},
                {"Key": "hub-service", "Value": "svc"},
                {"Key": "hub-repo-id", "Value": str(i)},
            ],
        )
        if i >= 3:
            direct_times.append(time.perf_counter() - started)
    hub_p50, direct_p50 = statistics.median(hub_times), statistics.median(direct_times)
    result = {
        "repositories": count,
        "hub_p50_ms": ms(hub_p50),
        "hub_p95_ms": ms(percentile(hub_times, 95)),
        "direct_p50_ms": ms(direct_p50),
        "direct_p95_ms": ms(percentile(direct_times, 95)),
        "ratio_p50": round(hub_p50 / direct_p50, 2),
        "api_request_p50_ms": ms(statistics.median(api_times)),
        "row_created_to_active_p50_ms": ms(statistics.median(worker_times)),
        "target": "ratio_p50 <= 1.5 and hub_p95 < 1000 ms",
    }
    result["met"] = result["ratio_p50"] <= 1.5 and result["hub_p95_ms"] < 1000
    env.web_port = web_port
    return result


# --- 2. Page and API scale --------------------------------------------------------------


PEOPLE_PER_REPO = 10
ROBOTS_PER_REPO = 2


def seed_project(admin, shortname: str, repos: int) -> dict:
    """`repos` active repositories, each with 10 people and 2 robots, in bulk."""
    from django.contrib.auth import get_user_model

    from docker_repos.models import DockerRepo, RepoAccess, RobotAccount
    from hub.aws import client
    from hub.crypto import encrypt
    from identities.models import EcrIdentity
    from projects.choices import Role
    from projects.models import Membership, Project, Service

    User = get_user_model()
    project = Project.objects.create(shortname=shortname, name=shortname)
    Membership.objects.create(project=project, user=admin, role=Role.ADMIN)
    service = Service.objects.create(project=project, name="svc")
    people = User.objects.bulk_create(
        [
            User(username=f"{shortname}-u{i}", email=f"{shortname}-u{i}@example.com")
            for i in range(PEOPLE_PER_REPO)
        ]
    )
    Membership.objects.bulk_create([Membership(project=project, user=u) for u in people])
    secret = encrypt("x" * 40)
    EcrIdentity.objects.bulk_create(
        [
            EcrIdentity(
                user=u,
                status="active",
                iam_username=f"hub-user-{u.username}",
                iam_arn=f"arn:aws:iam::123456789012:user/platform-hub/hub-user-{u.username}",
                access_key_id=f"AKIA{i:016d}",
                secret_access_key_encrypted=secret,
            )
            for i, u in enumerate(people)
        ]
    )
    account = "123456789012"
    made = DockerRepo.objects.bulk_create(
        [
            DockerRepo(
                project=project,
                service=service,
                name=f"repo-{i:05d}",
                status="active",
                uri=f"{account}.dkr.ecr.eu-west-2.amazonaws.com/{shortname}/repo-{i:05d}",
                arn=f"arn:aws:ecr:eu-west-2:{account}:repository/{shortname}/repo-{i:05d}",
                requested_by=admin,
            )
            for i in range(repos)
        ]
    )
    if made[0].pk is None:  # SQLite before 3.35 does not return ids
        made = list(DockerRepo.objects.filter(project=project).order_by("pk"))
    RepoAccess.objects.bulk_create(
        [
            RepoAccess(repo=repo, user=u, writable=(j == 0), status="active")
            for repo in made
            for j, u in enumerate(people)
        ],
        batch_size=2000,
    )
    RobotAccount.objects.bulk_create(
        [
            RobotAccount(
                repo=repo,
                name=f"robot-{k}",
                status="active",
                iam_username=f"hub-robot-{shortname}-{repo.name}-robot-{k}",
                iam_arn=f"arn:aws:iam::{account}:user/platform-hub/hub-robot-{repo.pk}-{k}",
                access_key_id=f"AKIAROBOT{repo.pk:06d}{k}",
                secret_access_key_encrypted=secret,
            )
            for repo in made
            for k in range(ROBOTS_PER_REPO)
        ],
        batch_size=2000,
    )
    # The repository whose page is measured exists in ECR, so its image list is real.
    sample = made[len(made) // 2]
    client("ecr").create_repository(repositoryName=sample.full_name)
    return {"project": project, "sample": sample}


def measure_get(http, path: str, repeats: int) -> tuple[float, int]:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for _ in range(3):
        response = http.get(path)
        assert response.status_code == 200, (path, response.status_code)
    with CaptureQueriesContext(connection) as queries:
        http.get(path)
    query_count = len(queries)  # now: the log is cleared by the next request
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        http.get(path)
        times.append(time.perf_counter() - started)
    return statistics.median(times), query_count


def bench_scale(admin, token: str, sizes: list[int], repeats: int) -> dict:
    from django.test import Client
    from django.urls import reverse

    browser = Client()
    browser.force_login(admin)
    api = Client(HTTP_AUTHORIZATION=f"Token {token}")
    rows = []
    for size in sizes:
        seeded = seed_project(admin, f"scale{size}", size)
        project, sample = seeded["project"], seeded["sample"]
        pages = {
            "project repos page": (
                browser,
                reverse("docker_repos:project-repos", args=[project.shortname]),
            ),
            "repository page": (
                browser,
                reverse("docker_repos:detail", args=[project.shortname, sample.pk]),
            ),
            "access page": (
                browser,
                reverse("docker_repos:access", args=[project.shortname, sample.pk]),
            ),
            "API list": (api, f"/api/v1/projects/{project.shortname}/docker-repos/"),
        }
        for page, (http, path) in pages.items():
            p50, queries = measure_get(http, path, repeats)
            rows.append({"size": size, "page": page, "p50_ms": ms(p50), "queries": queries})
    by_page: dict[str, list[dict]] = {}
    for row in rows:
        by_page.setdefault(row["page"], []).append(row)
    summary = {}
    for page, page_rows in by_page.items():
        counts = {r["queries"] for r in page_rows}
        largest = max(page_rows, key=lambda r: r["size"])
        smallest = min(page_rows, key=lambda r: r["size"])
        summary[page] = {
            "queries_constant": len(counts) == 1,
            "queries": sorted(counts),
            "p50_ms_at_largest": largest["p50_ms"],
            "growth_p50": round(largest["p50_ms"] / smallest["p50_ms"], 2),
            "met": len(counts) == 1 and max(counts) <= 15 and largest["p50_ms"] < 50,
        }
    return {
        "rows": rows,
        "summary": summary,
        "target": "queries identical at every size and <= 15; p50 < 50 ms at the largest",
    }


# --- 3. Throughput ----------------------------------------------------------------------


def bench_throughput(
    env: Environment, token: str, project: str, seconds: float, concurrency: int
) -> dict:
    results = {}
    for label, path in (
        ("ceiling (minimal DRF endpoint)", "/bench/ceiling/"),
        ("API list", f"/api/v1/projects/{project}/docker-repos/"),
    ):
        out = RUN_DIR / f"load-{len(results)}.json"
        loader = env.start(
            f"load-{len(results)}",
            [
                sys.executable,
                "-m",
                "bench.load",
                f"http://127.0.0.1:{env.web_port}{path}",
                "--token",
                token,
                "--seconds",
                str(seconds),
                "--concurrency",
                str(concurrency),
                "--out",
                str(out),
            ],
        )
        loader.popen.wait(timeout=seconds + 60)
        results[label] = json.loads(out.read_text())
    ceiling = results["ceiling (minimal DRF endpoint)"]["rps"]
    api = results["API list"]["rps"]
    share = round(api / ceiling, 3) if ceiling else 0.0
    return {
        "runs": results,
        "share_of_ceiling": share,
        "target": ">= 0.60 of the ceiling",
        "met": share >= 0.6,
        "concurrency": concurrency,
        "seconds": seconds,
    }


# --- 4. Reconciler cost -----------------------------------------------------------------


def seed_reconcile(admin, shortname: str, count: int) -> None:
    """`count` active repositories with no drift, in the database and in ECR."""
    from docker_repos.models import DockerRepo
    from hub.aws import client
    from projects.choices import Role
    from projects.models import Membership, Project, Service

    project = Project.objects.create(shortname=shortname, name=shortname)
    Membership.objects.create(project=project, user=admin, role=Role.ADMIN)
    service = Service.objects.create(project=project, name="svc")
    made = DockerRepo.objects.bulk_create(
        [
            DockerRepo(project=project, service=service, name=f"r{i:05d}", status="active")
            for i in range(count)
        ],
        batch_size=2000,
    )
    if made[0].pk is None:
        made = list(DockerRepo.objects.filter(project=project).order_by("pk"))
    ecr = client("ecr")

    def create(repo):
        found = ecr.create_repository(
            repositoryName=repo.full_name,
            imageTagMutability="MUTABLE",
            imageScanningConfiguration={"scanOnPush": True},
            tags=[
                {"Key": "managed-by", "Value": "platform-hub"},
                {"Key": "hub-repo-id", "Value": str(repo.pk)},
            ],
        )["repository"]
        return repo.pk, found["repositoryUri"], found["repositoryArn"]

    with ThreadPoolExecutor(8) as pool:
        done = list(pool.map(create, made))
    for pk, uri, arn in done:
        DockerRepo.objects.filter(pk=pk).update(uri=uri, arn=arn)


def count_aws_calls():
    from hub import aws

    calls: dict[str, int] = {}

    def hook(made):
        def record(model, **kwargs):
            key = f"{made.meta.service_model.service_name}:{model.name}"
            calls[key] = calls.get(key, 0) + 1

        made.meta.events.register("before-call", record)

    aws.CLIENT_HOOKS[:] = [hook]
    aws.reset_clients()
    return calls


def bench_reconcile(admin, sizes: list[int]) -> dict:
    from docker_repos.models import DockerRepo
    from docker_repos.reconcile import reconcile

    rows = []
    seeded = 0
    for size in sizes:
        seed_reconcile(admin, f"rec{size}", size - seeded)
        seeded = size
        assert (
            DockerRepo.objects.filter(status="active", project__shortname__startswith="rec").count()
            >= size
        )
        counting = count_aws_calls()
        started = time.perf_counter()
        report = reconcile()
        wall = time.perf_counter() - started
        calls = dict(counting)  # this pass only
        checked = report.checked
        total_calls = sum(calls.values())
        writes = sum(
            n
            for op, n in calls.items()
            if op.split(":")[1].startswith(
                ("Put", "Set", "Create", "Delete", "Tag", "Untag", "Update", "Attach", "Detach")
            )
        )
        tracemalloc.start()
        reconcile()
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        rows.append(
            {
                "active_repositories": checked,
                "aws_calls": total_calls,
                "calls_per_repository": round(total_calls / max(checked, 1), 3),
                "aws_writes": writes,
                "changes": report.changes,
                "wall_s": round(wall, 2),
                "peak_python_memory_mb": round(peak / 2**20, 1),
                "calls_by_operation": dict(sorted(calls.items())),
            }
        )
    small, large = rows[0], rows[-1]
    factor = large["active_repositories"] / small["active_repositories"]
    return {
        "rows": rows,
        "growth": {
            "size_factor": round(factor, 2),
            "calls_factor": round(large["aws_calls"] / small["aws_calls"], 2),
            "wall_factor": round(large["wall_s"] / max(small["wall_s"], 1e-6), 2),
            "memory_factor": round(
                large["peak_python_memory_mb"] / max(small["peak_python_memory_mb"], 1e-6), 2
            ),
        },
        "target": "zero writes; at most 3 AWS calls per repository at every size; "
        "peak memory < 200 MB",
        "met": all(
            r["aws_writes"] == 0
            and r["peak_python_memory_mb"] < 200
            and r["calls_per_repository"] <= 3
            for r in rows
        ),
    }


# --- Report -----------------------------------------------------------------------------


def machine() -> dict:
    return {
        "cpu_count": os.cpu_count(),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "system": platform.platform(),
    }


def markdown(report: dict) -> str:
    out = ["# Platform Hub benchmark", ""]
    m = report["machine"]
    out.append(
        f"Machine: {m['cpu_count']} cores, {m['machine']}, Python {m['python']}; "
        f"database {report['database']}, broker {report['broker']}, AWS = moto server. "
        f"Run took {report['duration_s']} s."
    )
    out.append("")
    if "provisioning" in report:
        p = report["provisioning"]
        out += [
            "## 1. Provisioning overhead",
            "",
            "| | p50 ms | p95 ms |",
            "|---|---|---|",
            f"| hub: API request → `active` | {p['hub_p50_ms']} | {p['hub_p95_ms']} |",
            f"| same AWS calls, boto3 directly | {p['direct_p50_ms']} | {p['direct_p95_ms']} |",
            "",
            f"Ratio at p50: **{p['ratio_p50']}** ({p['repositories']} repositories, one "
            f"at a time). Target {p['target']}: {'met' if p['met'] else 'missed'}.",
            "",
        ]
    if "scale" in report:
        s = report["scale"]
        out += [
            "## 2. Page and API scale",
            "",
            "| repositories | page | p50 ms | SQL queries |",
            "|---|---|---|---|",
        ]
        out += [
            f"| {r['size']} | {r['page']} | {r['p50_ms']} | {r['queries']} |" for r in s["rows"]
        ]
        out += [
            "",
            "| page | queries constant | p50 growth (largest ÷ smallest) | target |",
            "|---|---|---|---|",
        ]
        out += [
            f"| {page} | {v['queries_constant']} ({v['queries']}) | {v['growth_p50']} | "
            f"{'met' if v['met'] else 'missed'} |"
            for page, v in s["summary"].items()
        ]
        out.append("")
    if "throughput" in report:
        t = report["throughput"]
        out += [
            "## 3. Throughput",
            "",
            f"gunicorn, 2 sync workers; load from a second process, {t['concurrency']} "
            f"connections for {t['seconds']} s each.",
            "",
            "| endpoint | requests/s | p50 ms | p99 ms | errors |",
            "|---|---|---|---|---|",
        ]
        out += [
            f"| {label} | {r['rps']} | {r['p50_ms']} | {r['p99_ms']} | {r['errors']} |"
            for label, r in t["runs"].items()
        ]
        out += [
            "",
            f"API list ÷ ceiling: **{t['share_of_ceiling']}**. Target {t['target']}: "
            f"{'met' if t['met'] else 'missed'}.",
            "",
        ]
    if "reconcile" in report:
        r = report["reconcile"]
        out += [
            "## 4. Reconciler cost (no drift)",
            "",
            "| active repositories | AWS calls | calls/repo | writes | wall s | peak Python MB |",
            "|---|---|---|---|---|---|",
        ]
        out += [
            f"| {x['active_repositories']} | {x['aws_calls']} | "
            f"{x['calls_per_repository']} | {x['aws_writes']} | {x['wall_s']} | "
            f"{x['peak_python_memory_mb']} |"
            for x in r["rows"]
        ]
        g = r["growth"]
        out += [
            "",
            "## 5. Cost growth",
            "",
            f"Reconciler, size ×{g['size_factor']}: calls ×{g['calls_factor']}, wall time "
            f"×{g['wall_factor']}, peak memory ×{g['memory_factor']}. Pages: see the "
            "growth column of section 2.",
            "",
            f"Target {r['target']}: {'met' if r['met'] else 'missed'}.",
            "",
        ]
    return "\n".join(out)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument(
        "--quick", action="store_true", help="small sizes, for checking the benchmark itself"
    )
    parser.add_argument(
        "--only",
        nargs="*",
        default=[],
        choices=["provisioning", "scale", "throughput", "reconcile"],
    )
    args = parser.parse_args()
    quick = args.quick
    wanted = set(args.only) or {"provisioning", "scale", "throughput", "reconcile"}
    started = time.perf_counter()
    env = Environment()
    report: dict = {"machine": machine(), "quick": quick}
    try:
        env.prepare()
        setup_django()
        report["database"] = env.database_note
        report["broker"] = os.environ["CELERY_BROKER_URL"].split(":", 1)[0]
        admin, token = seed_admin()
        if "reconcile" in wanted:
            # First, while the database holds only these repositories.
            report["reconcile"] = bench_reconcile(admin, [200, 1000] if quick else [1000, 5000])
            print("reconcile:", json.dumps(report["reconcile"]["growth"]), flush=True)
        if wanted & {"provisioning", "throughput"}:
            report["provisioning"] = bench_provisioning(env, admin, token, 10 if quick else 50)
            print("provisioning:", json.dumps(report["provisioning"]), flush=True)
        if "scale" in wanted or "throughput" in wanted:
            sizes = [10, 100] if quick else [10, 100, 1000]
            report["scale"] = bench_scale(admin, token, sizes, 5 if quick else 20)
            print("scale:", json.dumps(report["scale"]["summary"]), flush=True)
        if "throughput" in wanted:
            report["throughput"] = bench_throughput(env, token, "scale100", 3 if quick else 20, 8)
            print("throughput:", report["throughput"]["share_of_ceiling"], flush=True)
    finally:
        env.close()
    report["duration_s"] = round(time.perf_counter() - started, 1)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "report.json").write_text(json.dumps(report, indent=2, default=str))
    text = markdown(report)
    (OUT / "report.md").write_text(text)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
