"""Who may do what with repositories: the project's rule (projects.permissions) applied.
The one home of "require repo manager" and of who sees a robot's access key id."""

from hub.exceptions import NotAllowed
from projects.models import Project
from projects.permissions import REPO_MANAGERS_ONLY, ProjectAccess, project_access

from .models import RobotAccount


def require_repo_manager(actor, project: Project) -> None:
    """Services call this before any change a repo manager asks for (NotAllowed, 403)."""
    if not project_access(actor, project).is_repo_manager:
        raise NotAllowed(REPO_MANAGERS_ONLY)


def visible_key_id(access: ProjectAccess, robot: RobotAccount) -> str | None:
    """The robot's access key id as the holder of `access` may see it: repo managers see
    the current key ("" while it has none; during a rotation the current key still works
    until it is replaced), anyone else never (None). The page and the API both show this."""
    if not access.is_repo_manager:
        return None
    return robot.access_key_id or ""
