from docker_repos import services
from docker_repos.models import DockerRepo
from hub.aws import client
from hub.choices import Status


def test_request_then_provision_makes_it_active(world, aws, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=False):
        repo = services.repo_request(actor=world.users["member"], project=world.project,
                                     service=world.service, name="hello-world-app",
                                     keep_last_images=5)
    assert repo.status == Status.PENDING
    services.repo_provision(repo.pk)
    repo.refresh_from_db()
    assert repo.status == Status.ACTIVE, repo.status_detail
    assert repo.uri.endswith("/acp/hello-world-app")
    described = client("ecr").describe_repositories(repositoryNames=["acp/hello-world-app"])
    assert described["repositories"][0]["imageScanningConfiguration"]["scanOnPush"] is True
    services.repo_delete(actor=world.users["member"], repo=repo)
    services.repo_destroy(repo.pk)
    assert not DockerRepo.objects.filter(pk=repo.pk).exists()
    assert client("ecr").describe_repositories()["repositories"] == []
