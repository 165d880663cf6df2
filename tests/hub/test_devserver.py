"""`make run` (hub.devserver): debug is off unless asked for, so people meet the hub's own
error pages; static files are served all the same."""

import pytest
from django.test import Client

from hub.devserver import process_env


def test_make_run_has_debug_off_unless_asked():
    assert process_env({})["HUB_DEBUG"] == "0"
    assert process_env({"HUB_DEBUG": "1"})["HUB_DEBUG"] == "1"  # one setting away


@pytest.mark.django_db
def test_with_debug_off_static_files_are_served_and_errors_are_the_hubs(settings, make_user):
    assert settings.DEBUG is False
    client = Client()
    for path, kind in [
        ("/static/hub/hub.css", "text/css"),
        ("/static/hub/favicon.svg", "image/svg+xml"),
    ]:
        response = client.get(path)
        assert response.status_code == 200, path
        assert response["Content-Type"].startswith(kind)
    client.force_login(make_user("someone"))
    response = client.get("/projects/no-such-project/")
    assert response.status_code == 404
    body = response.content.decode()
    assert "Nothing here" in body and "Back to your projects" in body
    assert "URLconf" not in body  # not Django's debug page
