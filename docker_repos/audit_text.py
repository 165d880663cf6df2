"""How the docker_repos app's audit events read (hub.audit_text)."""

from hub.audit_text import Said, access_words, listing, object_words, reason, renders

from .choices import TagMutability

object_words("dockerrepo", "Repositories")
object_words("robotaccount", "Robot accounts")
object_words("repoaccess", "People's access")


def _robot(said: Said) -> str:
    return said.target.rsplit(" robot ", 1)[-1]


def _who(said: Said) -> str:
    """A RepoAccess target ("bob pull acp/app"): the person."""
    return said.detail.get("user") or said.target.split(" ", 1)[0]


@renders("docker_repo.requested", kind="requested")
def _requested(said: Said) -> str:
    d = said.detail
    settings = []
    if d.get("service"):
        settings.append(f"service {d['service']}")
    if d.get("tag_mutability") == TagMutability.IMMUTABLE:
        settings.append("immutable tags")
    elif d.get("tag_mutability"):
        settings.append("mutable tags")
    if "scan_on_push" in d:
        settings.append("scan on push" if d["scan_on_push"] else "no scan on push")
    if d.get("keep_last_images"):
        settings.append(f"keep the last {d['keep_last_images']} images")
    more = f" ({', '.join(settings)})" if settings else ""
    return f"{said.actor} requested the repository {said.target}{more}"


@renders("docker_repo.active", kind="ready")
def _active(said: Said) -> str:
    return f"The repository {said.target} is active in ECR"


@renders("docker_repo.delete_requested", kind="removed")
def _delete_requested(said: Said) -> str:
    return f"{said.actor} asked to delete the repository {said.target} and its images"


@renders("docker_repo.deleted", kind="removed")
def _deleted(said: Said) -> str:
    return (
        f"The repository {said.detail.get('name') or said.target} and its images were "
        "deleted from ECR"
    )


@renders("docker_repo.retried", kind="retried")
def _retried(said: Said) -> str:
    who = said.actor if said.by_person else "The reconciler"
    return f"{who} sent the repository {said.target} to AWS again"


@renders("docker_repo.failed", kind="failed")
def _failed(said: Said) -> str:
    doing = said.detail.get("while", "creating")
    return f"The repository {said.target} failed while {doing}{reason(said)}"


@renders("docker_repo.access_changed", kind="changed")
def _access_changed(said: Said) -> str:
    d = said.detail
    parts = []
    granted = d.get("users_granted") or {}
    if granted:
        parts.append(
            "gave "
            + listing(f"{name} {access_words(mode)}" for name, mode in sorted(granted.items()))
        )
    if d.get("users_removed"):
        parts.append("took away the access of " + listing(sorted(d["users_removed"])))
    if d.get("robots_added"):
        robots = sorted(d["robots_added"])
        parts.append(f"added the robot account{'s' if len(robots) > 1 else ''} " + listing(robots))
    if d.get("robots_removed"):
        robots = sorted(d["robots_removed"])
        parts.append(
            f"removed the robot account{'s' if len(robots) > 1 else ''} " + listing(robots)
        )
    return f"{said.actor} " + ("; ".join(parts) or "saved the access unchanged")


@renders("docker_repo.access_failed", kind="failed")
def _access_failed(said: Said) -> str:
    entries = said.detail.get("entries") or []
    whose = f" for {listing(entries)}" if entries else ""
    return f"The access to {said.target} could not be written{whose}{reason(said)}"


@renders("docker_repo.drift_recreated", kind="repaired")
def _drift_recreated(said: Said) -> str:
    return f"The repository {said.target} was deleted in ECR outside the hub: it is created again"


@renders("docker_repo.drift_repaired", kind="repaired")
def _drift_repaired(said: Said) -> str:
    what = listing(said.detail.get("repaired") or []) or "its settings"
    return f"The repository {said.target} was edited in ECR outside the hub: {what} written back"


@renders("robot.credentials_revealed", kind="secrets")
def _robot_revealed(said: Said) -> str:
    return f"{said.actor} revealed the secret key of the robot account {_robot(said)}"


@renders("robot.rotation_requested", kind="secrets")
def _robot_rotation_requested(said: Said) -> str:
    if said.by_person:
        return f"{said.actor} asked for a new key for the robot account {_robot(said)}"
    return f"The hub replaces the key of the robot account {_robot(said)}{reason(said)}"


@renders("robot.rotated", kind="secrets")
def _robot_rotated(said: Said) -> str:
    key = said.detail.get("access_key_id")
    return (
        f"The robot account {_robot(said)} has a new access key"
        + (f" {key}" if key else "")
        + reason(said)
    )


@renders("robot.rotation_failed", kind="failed")
def _robot_rotation_failed(said: Said) -> str:
    return f"The key of the robot account {_robot(said)} could not be replaced{reason(said)}"


@renders("robot.active", kind="ready")
def _robot_active(said: Said) -> str:
    return f"The robot account {_robot(said)} is active"


@renders("robot.retried", kind="retried")
def _robot_retried(said: Said) -> str:
    return f"{said.actor} retried the robot account {_robot(said)}"


@renders("robot.failed", kind="failed")
def _robot_failed(said: Said) -> str:
    doing = said.detail.get("while", "creating")
    return f"The robot account {_robot(said)} failed while {doing}{reason(said)}"


@renders("robot.removed", kind="removed")
def _robot_removed(said: Said) -> str:
    return f"The robot account {_robot(said)} was removed, with its IAM user"


@renders("robot.drift_recreated", kind="repaired")
def _robot_recreated(said: Said) -> str:
    return (
        f"The IAM user of the robot account {_robot(said)} was missing: it is created "
        "again, with a new key"
    )


@renders("robot.boundary_repaired", kind="repaired")
def _robot_boundary(said: Said) -> str:
    return f"The permissions boundary of the robot account {_robot(said)} was put back"


@renders("repo_access.active", kind="ready")
def _access_active(said: Said) -> str:
    return f"{_who(said)} may now {access_words(said.detail.get('writable'))}"


@renders("repo_access.removed", kind="removed")
def _access_removed(said: Said) -> str:
    return f"{_who(said)} no longer has access"


@renders("repo_access.removal_requested", kind="removed")
def _access_removal_requested(said: Said) -> str:
    repo = said.detail.get("repo")
    return f"{_who(said)} loses access" + (f" to {repo}" if repo else "") + reason(said)


@renders("repo_access.retried", kind="retried")
def _access_retried(said: Said) -> str:
    return f"{said.actor} retried the access of {_who(said)}"


@renders("repo_access.failed", kind="failed")
def _access_failed_one(said: Said) -> str:
    return f"The access of {_who(said)} failed{reason(said)}"


@renders("reconcile.error", kind="failed")
def _reconcile_error(said: Said) -> str:
    what = said.detail.get("object") or said.target
    return f"The reconciler could not check {what}{reason(said)}"
