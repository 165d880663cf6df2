"""Who may do what with repositories: the project's rule (projects.permissions) applied."""

from projects.permissions import ProjectAccess, project_access

from .models import DockerRepo


def repo_access(user, repo: DockerRepo) -> ProjectAccess:
    return project_access(user, repo.project)


def can_view_repo(user, repo: DockerRepo) -> bool:
    return repo_access(user, repo).can_view


def can_manage_repo(user, repo: DockerRepo) -> bool:
    return repo_access(user, repo).is_repo_manager
