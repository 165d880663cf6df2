"""How the identities app's audit events read (hub.audit_text)."""

from hub.audit_text import Said, object_words, reason, renders

object_words("ecridentity", "ECR credentials")
object_words("apitoken", "API tokens")


@renders("ecr_identity.requested", kind="requested")
def _requested(said: Said) -> str:
    user = said.detail.get("user") or said.target
    return f"{said.actor} asked for ECR credentials for {user}"


@renders("ecr_identity.active", kind="ready")
def _active(said: Said) -> str:
    return f"The ECR credentials {said.target} are active"


@renders("ecr_identity.credentials_revealed", kind="secrets")
def _revealed(said: Said) -> str:
    return f"{said.actor} revealed their ECR secret key"


@renders("ecr_identity.rotation_requested", kind="secrets")
def _rotation_requested(said: Said) -> str:
    return f"{said.actor} asked for a new ECR access key"


@renders("ecr_identity.rotated", kind="secrets")
def _rotated(said: Said) -> str:
    return f"The ECR credentials {said.target} have a new access key"


@renders("ecr_identity.rotation_failed", kind="failed")
def _rotation_failed(said: Said) -> str:
    return f"The ECR access key of {said.target} could not be replaced{reason(said)}"


@renders("ecr_identity.retried", kind="retried")
def _retried(said: Said) -> str:
    return f"{said.actor} retried the ECR credentials {said.target}"


@renders("ecr_identity.failed", kind="failed")
def _failed(said: Said) -> str:
    return (
        f"The ECR credentials {said.target} failed while "
        f"{said.detail.get('while', 'creating')}{reason(said)}"
    )


@renders("ecr_identity.deactivation_requested", kind="removed")
def _deactivation(said: Said) -> str:
    return (
        f"The account {said.detail.get('user') or said.target} was deactivated: its ECR "
        "keys are deleted"
    )


@renders("ecr_identity.keys_deleted", kind="removed")
def _keys_deleted(said: Said) -> str:
    return f"The ECR keys of {said.target} were deleted{reason(said)}"


@renders("ecr_identity.drift_recreated", kind="repaired")
def _recreated(said: Said) -> str:
    return f"The IAM user {said.target} was missing: it is created again, with a new key"


@renders("ecr_identity.boundary_repaired", kind="repaired")
def _boundary(said: Said) -> str:
    return f"The permissions boundary of {said.target} was put back"


@renders("api_token.created", kind="requested")
def _token_created(said: Said) -> str:
    return f"{said.actor} created the API token {said.detail.get('name') or said.target}"


@renders("api_token.revoked", kind="removed")
def _token_revoked(said: Said) -> str:
    return f"{said.actor} revoked the API token {said.target}{said.via_admin}"
