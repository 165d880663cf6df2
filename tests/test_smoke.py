from django.urls import reverse


def test_healthz_reports_database_and_broker(client, db):
    response = client.get(reverse("healthz"))
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "broker": "ok"}


def test_signed_out_person_is_sent_to_sign_in(client, db):
    response = client.get(reverse("projects:list"))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_member_sees_project_tabs(client, world):
    client.force_login(world.users["member"])
    response = client.get(reverse("projects:detail", args=["acp"]))
    assert response.status_code == 200
    body = response.content.decode()
    for tab in ("Overview &amp; people", "Services", "All Docker repos"):
        assert tab in body
