"""The image list of a repository, newest push first (docker_repos.ecr.list_images sorts
each page with newest_first)."""

from datetime import UTC, datetime

from docker_repos.ecr import Image, newest_first


def image(digest: str, pushed_at: datetime | None) -> Image:
    return Image(digest=digest, tags=[], pushed_at=pushed_at, size_bytes=1)


def test_newest_first_and_an_image_without_a_push_time_last():
    """ECR may leave imagePushedAt out: such an image sorts last, without comparing a
    time with anything else (a TypeError would make the images page a 500)."""
    old, new = datetime(2025, 1, 1, tzinfo=UTC), datetime(2026, 6, 1, tzinfo=UTC)
    images = [image("old", old), image("undated", None), image("new", new)]
    assert [i.digest for i in newest_first(images)] == ["new", "old", "undated"]
    assert newest_first([image("a", None), image("b", None)]) == [
        image("a", None),
        image("b", None),
    ]
