import pytest
from moto import mock_aws


@pytest.fixture
def aws(settings, monkeypatch):
    """ECR and IAM in-process (moto), with the hub pointed at it."""
    for key, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                       "AWS_SESSION_TOKEN": "testing"}.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_ENDPOINT_URL", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    settings.AWS_ENDPOINT_URL = ""
    settings.HUB_TASK_RETRY_BASE = 0
    with mock_aws():
        yield
