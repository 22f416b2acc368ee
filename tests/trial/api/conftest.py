import pytest
from django.test import Client

from trial.api.services import api_token_create


def token_client(user, scopes=("read", "export", "randomise")) -> Client:
    """A client that sends a fresh personal token of ``user`` (no session)."""
    _token, secret = api_token_create(user=user, name="test", scopes=list(scopes))
    return Client(HTTP_AUTHORIZATION=f"Bearer {secret}", HTTP_ACCEPT_LANGUAGE="en")


@pytest.fixture
def api_client():
    return token_client
