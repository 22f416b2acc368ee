import pytest
from django.core.cache import cache

from questionnaires.sms import LocmemSmsBackend


@pytest.fixture(autouse=True)
def _fresh_cache_and_sms(settings):
    cache.clear()
    LocmemSmsBackend.outbox = []
    settings.SMS_BACKEND = "questionnaires.sms.LocmemSmsBackend"
    yield
    cache.clear()
