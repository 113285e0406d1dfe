import pytest
from django.test import Client

from tests.security.world import build_lab


@pytest.fixture
def alpha(db):
    """Lab A: the lab whose records must never reach anyone else."""
    return build_lab("ALPHA")


@pytest.fixture
def beta(db):
    """Lab B: users who try to reach lab A's records."""
    return build_lab("BETA")


def body_of(response) -> bytes:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content)
    return response.content


@pytest.fixture
def client_for():
    def make(user):
        client = Client()
        client.force_login(user)
        return client

    return make
