import pytest


@pytest.fixture
def superuser(world):
    """The hub admin, with the Django permissions the admin asks for."""
    user = world.users["hub_admin"]
    user.is_superuser = True
    user.save(update_fields=["is_superuser"])
    return user
