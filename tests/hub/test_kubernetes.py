"""deploy/kubernetes, checked without a cluster: the example overlay renders with
`kubectl kustomize`, every object validates strictly against the Kubernetes schemas
(kubernetes-validate), and the rules an operator relies on hold for every object rendered:
locked-down containers, resources, probes, settings only from the ConfigMap and the Secret,
beat exactly once, migrations before new pods serve, IRSA instead of AWS keys, network
policies. (checkov's checks run in `make deploy-check`.)"""

import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import kubernetes_validate
import pytest
import yaml
from cryptography.fernet import Fernet

from hub import gunicorn_conf
from tests.hub.test_deploy import SECRET_KEY, _dockerfile_env, _manage, documented_settings

ROOT = Path(__file__).resolve().parents[2]
KUBERNETES = ROOT / "deploy" / "kubernetes"
OVERLAY = KUBERNETES / "overlays" / "example"
SECRET_EXAMPLE = OVERLAY / "platform-hub-secret.example.yaml"
SECRET_NAME = "platform-hub"
# The oldest Kubernetes minor the manifests are meant for (EKS standard support).
KUBERNETES_VERSION = "1.31.0"
POD_OWNERS = ("Deployment", "Job")
UID = 10001


def _kubectl() -> str:
    kubectl = shutil.which("kubectl")
    if kubectl is None:
        if os.environ.get("CI"):
            pytest.fail("kubectl is needed to render deploy/kubernetes (it is on CI machines)")
        pytest.skip("kubectl is not installed")
    return kubectl


def render(directory: Path) -> list[dict]:
    result = subprocess.run(
        [_kubectl(), "kustomize", str(directory)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


@pytest.fixture(scope="module")
def rendered() -> list[dict]:
    return render(OVERLAY)


@pytest.fixture(scope="module")
def secret_example() -> dict:
    return yaml.safe_load(SECRET_EXAMPLE.read_text())


def named(objects: list[dict], kind: str, name: str) -> dict:
    matches = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert len(matches) == 1, f"{kind}/{name}: {len(matches)} objects"
    return matches[0]


def by_component(objects: list[dict], component: str) -> dict:
    matches = [
        o
        for o in objects
        if o["kind"] in POD_OWNERS
        and o["metadata"]["labels"].get("app.kubernetes.io/component") == component
    ]
    assert len(matches) == 1, f"{component}: {len(matches)} workloads"
    return matches[0]


def pod_specs(objects: list[dict]) -> list[tuple[str, dict]]:
    return [
        (f"{o['kind']}/{o['metadata']['name']}", o["spec"]["template"]["spec"])
        for o in objects
        if o["kind"] in POD_OWNERS
    ]


def containers(objects: list[dict], *, init: bool = True) -> list[tuple[str, dict, dict]]:
    """(where, container, pod spec) for every container, init containers included."""
    found = []
    for where, spec in pod_specs(objects):
        groups = ["containers", "initContainers"] if init else ["containers"]
        for group in groups:
            for container in spec.get(group, []):
                found.append((f"{where} {container['name']}", container, spec))
    return found


def config_map(objects: list[dict]) -> dict:
    maps = [o for o in objects if o["kind"] == "ConfigMap"]
    assert len(maps) == 1, [m["metadata"]["name"] for m in maps]
    return maps[0]


def selects(selector: dict, labels: dict) -> bool:
    """Does a label selector (matchLabels and matchExpressions In / NotIn) select labels?"""
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for expression in selector.get("matchExpressions", []):
        value = labels.get(expression["key"])
        if expression["operator"] == "In" and value not in expression["values"]:
            return False
        if expression["operator"] == "NotIn" and value in expression["values"]:
            return False
    return True


def pod_labels(workload: dict) -> dict:
    return workload["spec"]["template"]["metadata"]["labels"]


# --- Rendering and the schemas ----------------------------------------------------------


def test_every_object_validates_against_the_kubernetes_schemas(rendered, secret_example):
    base = render(KUBERNETES / "base")
    errors = []
    for doc in [*rendered, *base, secret_example]:
        try:
            kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            path = ".".join(str(p) for p in exc.path)
            errors.append(f"{doc['kind']}/{doc['metadata']['name']}: {path}: {exc.message}")
    assert not errors, "\n".join(errors)
    kinds = {o["kind"] for o in rendered}
    assert {
        "Namespace",
        "ServiceAccount",
        "ConfigMap",
        "Deployment",
        "Job",
        "Service",
        "Ingress",
        "NetworkPolicy",
        "PodDisruptionBudget",
    } <= kinds


def test_the_schema_check_is_strict(rendered):
    """A misspelt field is an error, not ignored (strict schemas refuse unknown fields)."""
    web = yaml.safe_load(yaml.safe_dump(named(rendered, "Deployment", "platform-hub-web")))
    web["spec"]["template"]["spec"]["containers"][0]["livenessprobe"] = {}
    with pytest.raises(kubernetes_validate.ValidationError, match="livenessprobe"):
        kubernetes_validate.validate(web, KUBERNETES_VERSION, strict=True)


def test_everything_lives_in_the_overlays_namespace(rendered):
    namespace = named(rendered, "Namespace", "platform-hub")
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    for obj in rendered:
        if obj["kind"] != "Namespace":
            assert obj["metadata"].get("namespace") == "platform-hub", obj["metadata"]["name"]


# --- Containers ---------------------------------------------------------------------------


def test_every_container_runs_locked_down(rendered):
    image_env = _dockerfile_env()
    writable = {"/tmp", image_env["HUB_VAR_DIR"]}
    for where, spec in pod_specs(rendered):
        pod = spec["securityContext"]
        assert pod["runAsNonRoot"] is True and pod["runAsUser"] == UID, where
        assert pod["runAsGroup"] == UID and pod["seccompProfile"] == {"type": "RuntimeDefault"}
        empty_dirs = {v["name"] for v in spec["volumes"] if "emptyDir" in v}
        assert len(spec["volumes"]) == len(empty_dirs), f"{where}: only emptyDir volumes"
    for where, container, spec in containers(rendered):
        context = container["securityContext"]
        assert context["runAsUser"] == UID and context["runAsGroup"] == UID, where
        assert context["runAsNonRoot"] is True, where
        assert context["readOnlyRootFilesystem"] is True, where
        assert context["allowPrivilegeEscalation"] is False, where
        assert context["capabilities"] == {"drop": ["ALL"]}, where
        assert context["seccompProfile"] == {"type": "RuntimeDefault"}, where
        assert "privileged" not in context or context["privileged"] is False, where
        mounts = {m["mountPath"]: m["name"] for m in container["volumeMounts"]}
        assert set(mounts) == writable, f"{where}: {sorted(mounts)}"
        volumes = {v["name"]: v for v in spec["volumes"]}
        assert all("emptyDir" in volumes[name] for name in mounts.values()), where


def test_every_container_has_requests_and_limits(rendered):
    for where, container, _ in containers(rendered):
        resources = container["resources"]
        for kind in ("requests", "limits"):
            assert set(resources.get(kind, {})) >= {"cpu", "memory"}, f"{where} {kind}"


def test_every_container_runs_the_one_pinned_image(rendered):
    images = {container["image"] for _, container, _ in containers(rendered)}
    assert len(images) == 1, images
    image = images.pop()
    assert re.fullmatch(r"[\w.-]+(:\d+)?/[\w./-]+(:[\w.-]+|@sha256:[0-9a-f]{64})", image), image
    assert not image.endswith(":latest"), image


def test_long_running_containers_have_startup_liveness_and_readiness_probes(rendered):
    for where, container, _ in containers(rendered, init=False):
        if where.startswith("Job/"):
            assert not any(k.endswith("Probe") for k in container), where  # it ends by itself
            continue
        for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
            assert probe in container, f"{where}: {probe}"


def test_web_probes_livez_for_liveness_and_readyz_for_readiness(rendered):
    web = by_component(rendered, "web")["spec"]["template"]["spec"]
    container = web["containers"][0]
    ports = {p["name"]: p["containerPort"] for p in container["ports"]}
    assert ports == {"http": 8000}
    assert gunicorn_conf.bind == "0.0.0.0:8000"
    assert container["command"] == [
        "gunicorn",
        "-c",
        "python:hub.gunicorn_conf",
        "hub.wsgi:application",
    ]
    probes = {
        name: container[name]["httpGet"]
        for name in ("startupProbe", "livenessProbe", "readinessProbe")
    }
    assert probes["livenessProbe"] == {"path": "/livez", "port": "http"}
    assert probes["startupProbe"] == {"path": "/livez", "port": "http"}
    assert probes["readinessProbe"] == {"path": "/readyz", "port": "http"}
    # Kubernetes' SIGTERM wait must outlast gunicorn's graceful shutdown and the preStop.
    pre_stop = container["lifecycle"]["preStop"]["exec"]["command"]
    assert pre_stop[0] == "sleep"
    assert web["terminationGracePeriodSeconds"] > gunicorn_conf.graceful_timeout + int(pre_stop[1])


@pytest.mark.parametrize("component", ["worker", "beat"])
def test_worker_and_beat_probe_with_hub_probe_and_expose_metrics(rendered, component):
    workload = by_component(rendered, component)
    container = workload["spec"]["template"]["spec"]["containers"][0]
    assert container["command"][:4] == ["celery", "-A", "hub", component]
    for probe in ("startupProbe", "livenessProbe", "readinessProbe"):
        assert container[probe]["exec"]["command"] == [
            "python",
            "manage.py",
            "hub_probe",
            component,
        ], probe
    assert {"name": "metrics", "containerPort": 9100} in container["ports"]


def test_prometheus_scrape_annotations_name_a_container_port(rendered):
    scraped = set()
    for obj in rendered:
        if obj["kind"] != "Deployment":
            continue
        annotations = obj["spec"]["template"]["metadata"].get("annotations", {})
        assert annotations.get("prometheus.io/scrape") == "true", obj["metadata"]["name"]
        assert annotations["prometheus.io/path"] == "/metrics"
        ports = {
            p["containerPort"]
            for c in obj["spec"]["template"]["spec"]["containers"]
            for p in c.get("ports", [])
        }
        assert int(annotations["prometheus.io/port"]) in ports, obj["metadata"]["name"]
        scraped.add(obj["metadata"]["labels"]["app.kubernetes.io/component"])
    assert scraped == {"web", "worker", "beat"}


# --- Settings -----------------------------------------------------------------------------

SECRET_LOOKING = re.compile(r"SECRET|PASSWORD|FERNET|TOKEN|_URL$|ACCESS_KEY")
# URLs that carry no credentials may be plain configuration.
PLAIN_URLS = {"HUB_OIDC_SERVER_URL", "AWS_ENDPOINT_URL"}


def test_settings_come_only_from_the_config_map_and_the_secret(rendered):
    config_name = config_map(rendered)["metadata"]["name"]
    assert not [o for o in rendered if o["kind"] == "Secret"], "no Secret is committed"
    for where, container, _ in containers(rendered):
        for item in container.get("env", []):
            source = item.get("valueFrom", {})
            assert set(source) <= {"configMapKeyRef", "secretKeyRef"} and source, (
                f"{where}: {item['name']} is not from a ConfigMap or a Secret"
            )
        refs = container["envFrom"]
        assert {"configMapRef": {"name": config_name}} in refs, where
        assert {"secretRef": {"name": SECRET_NAME}} in refs, where
        assert all(set(ref) <= {"configMapRef", "secretRef"} for ref in refs), where


def test_no_secret_lives_in_the_config_map(rendered, secret_example):
    data = config_map(rendered)["data"]
    leaked = [k for k in data if SECRET_LOOKING.search(k) and k not in PLAIN_URLS]
    assert not leaked, leaked
    assert not set(data) & set(secret_example["stringData"])
    assert not any(k.startswith("AWS_") and k != "AWS_DEFAULT_REGION" for k in data), (
        "AWS credentials come from the IRSA role, never from settings"
    )
    assert not any(k.startswith("AWS_ACCESS") for k in secret_example["stringData"])


def test_every_setting_given_is_a_documented_one(rendered, secret_example):
    documented = documented_settings()
    given = set(config_map(rendered)["data"]) | set(secret_example["stringData"])
    assert given - documented == set(), "a setting the hub does not read (a typo?)"


def test_production_settings_load_from_the_config_map_and_the_secret(
    rendered, secret_example, tmp_path
):
    """The pods' environment (the image's ENV, the ConfigMap, the Secret's keys) satisfies
    the production settings: `manage.py check --deploy` is clean, as it is on a cluster."""
    secret = dict(secret_example["stringData"])
    # The example's placeholders, made into values of the right shape.
    secret.update(SECRET_KEY=SECRET_KEY, HUB_FERNET_KEYS=Fernet.generate_key().decode())
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("HUB_", "AWS_", "DATABASE_", "CELERY_", "EMAIL_"))
    }
    env.pop("SECRET_KEY", None)
    env.update(_dockerfile_env())
    env.update(config_map(rendered)["data"])
    env.update(secret)
    env.update(
        HUB_VAR_DIR=str(tmp_path / "var"),
        HUB_STATIC_ROOT=str(tmp_path / "static"),
        PYTHONPATH=str(ROOT),
    )
    result = _manage(env, "check", "--deploy", "--fail-level", "WARNING")
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "System check identified no issues" in output, output


def test_ingress_hosts_are_allowed_and_trusted(rendered):
    ingress = named(rendered, "Ingress", "platform-hub")
    data = config_map(rendered)["data"]
    allowed = data["ALLOWED_HOSTS"].split(",")
    origins = data["CSRF_TRUSTED_ORIGINS"].split(",")
    for rule in ingress["spec"]["rules"]:
        assert rule["host"] in allowed
        assert f"https://{rule['host']}" in origins
        for path in rule["http"]["paths"]:
            service = named(rendered, "Service", path["backend"]["service"]["name"])
            assert path["backend"]["service"]["port"]["name"] in {
                p["name"] for p in service["spec"]["ports"]
            }
    assert {h for tls in ingress["spec"]["tls"] for h in tls["hosts"]} == {
        r["host"] for r in ingress["spec"]["rules"]
    }
    service = named(rendered, "Service", "platform-hub-web")
    assert selects(
        {"matchLabels": service["spec"]["selector"]}, pod_labels(by_component(rendered, "web"))
    )


# --- Processes: how many, and in which order ------------------------------------------------


def test_beat_runs_exactly_once(rendered):
    beat = by_component(rendered, "beat")
    assert beat["spec"]["replicas"] == 1
    assert beat["spec"]["strategy"] == {"type": "Recreate"}  # never two during a rollout
    for obj in rendered:
        if obj["kind"] in ("PodDisruptionBudget", "HorizontalPodAutoscaler"):
            assert not selects(obj["spec"].get("selector", {}), pod_labels(beat)), obj["metadata"][
                "name"
            ]


def test_web_keeps_serving_through_disruptions(rendered):
    web = by_component(rendered, "web")
    assert web["spec"]["replicas"] >= 2
    assert web["spec"]["strategy"]["rollingUpdate"]["maxUnavailable"] == 0
    budgets = [
        o
        for o in rendered
        if o["kind"] == "PodDisruptionBudget" and selects(o["spec"]["selector"], pod_labels(web))
    ]
    assert len(budgets) == 1
    assert 1 <= budgets[0]["spec"]["minAvailable"] < web["spec"]["replicas"]


def test_migrations_run_once_before_new_pods_start(rendered):
    job = named(rendered, "Job", "platform-hub-migrate")
    [migrate] = job["spec"]["template"]["spec"]["containers"]
    assert migrate["command"] == ["python", "manage.py", "migrate", "--noinput"]
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"
    for component in ("web", "worker"):
        spec = by_component(rendered, component)["spec"]["template"]["spec"]
        waits = spec.get("initContainers", [])
        assert len(waits) == 1, f"{component}: one init container waits for the migrations"
        [wait] = waits
        script = " ".join(wait["command"])
        assert "manage.py migrate --check" in script, component
        assert script.startswith("sh -c until "), component  # waits, never migrates itself
        for container in spec["containers"]:
            assert "migrate" not in shlex.join(container["command"]), component


# --- AWS access and the network -------------------------------------------------------------


def test_the_hub_reaches_aws_through_irsa_only(rendered):
    accounts = {o["metadata"]["name"]: o for o in rendered if o["kind"] == "ServiceAccount"}
    for name, account in accounts.items():
        assert account["automountServiceAccountToken"] is False, name
    for where, spec in pod_specs(rendered):
        assert spec["automountServiceAccountToken"] is False, where
    role = re.compile(r"arn:aws:iam::\d{12}:role/[\w+=,.@/-]+")
    for component in ("web", "worker"):
        account = accounts[
            by_component(rendered, component)["spec"]["template"]["spec"]["serviceAccountName"]
        ]
        assert role.fullmatch(account["metadata"]["annotations"]["eks.amazonaws.com/role-arn"])
    for component in ("beat", "migrate"):  # no AWS calls: no role
        account = accounts[
            by_component(rendered, component)["spec"]["template"]["spec"]["serviceAccountName"]
        ]
        assert "eks.amazonaws.com/role-arn" not in account["metadata"].get("annotations", {})


def _policies(rendered: list[dict], workload: dict, policy_type: str) -> list[dict]:
    return [
        o
        for o in rendered
        if o["kind"] == "NetworkPolicy"
        and policy_type in o["spec"]["policyTypes"]
        and selects(o["spec"]["podSelector"], pod_labels(workload))
    ]


def _allowed(policies: list[dict], direction: str) -> set[tuple[str, int]]:
    """(peer, port) pairs the policies allow: a namespace name, an address range, or
    `namespace/app` for a namespace and pod selector together."""
    allowed = set()
    for policy in policies:
        for rule in policy["spec"].get(direction, []):
            peers = rule.get("from" if direction == "ingress" else "to")
            assert peers, f"{policy['metadata']['name']}: a rule without peers allows all"
            for peer in peers:
                if "ipBlock" in peer:
                    name = peer["ipBlock"]["cidr"]
                else:
                    namespace = peer.get("namespaceSelector")
                    name = (
                        namespace["matchLabels"]["kubernetes.io/metadata.name"]
                        if namespace
                        else f"{policy['metadata']['namespace']} (own)"
                    )
                    if "podSelector" in peer:
                        pods = peer["podSelector"].get("matchLabels", {})
                        name += "/" + ("/".join(pods.values()) or "any pod")
                for port in rule["ports"]:
                    allowed.add((name, port["port"]))
    return allowed


def test_network_policies_allow_only_what_each_process_needs(rendered):
    workloads = {c: by_component(rendered, c) for c in ("web", "worker", "beat", "migrate")}
    for component, workload in workloads.items():
        deny = [p for p in _policies(rendered, workload, "Ingress") if "ingress" not in p["spec"]]
        assert deny and _policies(rendered, workload, "Egress"), component
    assert _allowed(_policies(rendered, workloads["web"], "Ingress"), "ingress") == {
        ("ingress-nginx", 8000),
        ("monitoring", 8000),
    }
    for component in ("worker", "beat"):
        assert _allowed(_policies(rendered, workloads[component], "Ingress"), "ingress") == {
            ("monitoring", 9100)
        }, component
    assert _allowed(_policies(rendered, workloads["migrate"], "Ingress"), "ingress") == set()
    for component, workload in workloads.items():
        egress = _allowed(_policies(rendered, workload, "Egress"), "egress")
        ports = {port for _, port in egress}
        assert {53, 5432, 6379} <= ports, component
        assert ("kube-system/kube-dns", 53) in egress
        # HTTPS (AWS, the OpenID provider) only for the processes that call out.
        assert (443 in ports) == (component in ("web", "worker")), component
    https = next(
        p
        for p in rendered
        if p["kind"] == "NetworkPolicy" and p["metadata"]["name"] == "platform-hub-https-egress"
    )
    assert https["spec"]["egress"][0]["to"][0]["ipBlock"]["except"] == ["169.254.169.254/32"]
