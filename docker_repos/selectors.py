from django.conf import settings
from django.db.models import QuerySet

from hub.choices import IN_FLIGHT
from projects.models import Project

from .models import DockerRepo


def project_repos(project: Project) -> QuerySet[DockerRepo]:
    return (DockerRepo.objects.filter(project=project)
            .select_related("project", "service", "requested_by")
            .order_by("name"))


def any_in_flight(repos) -> bool:
    return any(repo.status in IN_FLIGHT for repo in repos)


def repo_pull_principals(repo: DockerRepo) -> list[str]:
    """ARNs allowed to pull the repository (the configured cluster principals)."""
    return list(settings.HUB_ECR_PULL_PRINCIPALS)


def repo_push_principals(repo: DockerRepo) -> list[str]:
    """ARNs allowed to pull and push the repository."""
    return []


def hub_tags(repo: DockerRepo) -> dict[str, str]:
    return {
        "managed-by": "platform-hub",
        "hub-project": repo.project.shortname,
        "hub-service": repo.service.name,
        "hub-repo-id": str(repo.pk),
    }
