"""Every page of the demo trial opens for every demo role: a crawl from each home page.

The demo grows with every capability, so this is where a template that breaks on real data
(a missing related row, a state nobody thought of) shows up: each role follows every link it
is shown, and no page may answer 500 or 403 (a link to a page one may not open is a bug too).
"""

from __future__ import annotations

import re
from collections import deque
from io import StringIO
from urllib.parse import urldefrag, urlsplit

import pytest
from django.core.management import call_command
from django.db import transaction

from tests.conftest import private_files, verified_client
from trial.models import Role, User

pytestmark = [pytest.mark.django_db, pytest.mark.slow]

HREF = re.compile(r'href="([^"#][^"]*)"')
# Links that change state or leave the app, and heavy binaries tested elsewhere.
SKIP = re.compile(r"/account/logout|/i18n/|/static/|\.pdf|/pdf/|download|/admin/.+|^mailto:")
MAX_PAGES = 250


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker, tmp_path_factory):
    with django_db_blocker.unblock(), private_files(tmp_path_factory.mktemp("crawl")):
        outer = transaction.atomic()
        outer.__enter__()
        try:
            call_command("seed_demo", stdout=StringIO())
            yield
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


def _links(html: str) -> list[str]:
    found = []
    for href in HREF.findall(html):
        href = urldefrag(href.replace("&amp;", "&"))[0]
        parts = urlsplit(href)
        if parts.scheme or parts.netloc or not href.startswith("/") or SKIP.search(href):
            continue
        found.append(href)
    return found


@pytest.mark.parametrize("role", list(Role), ids=[r.value for r in Role])
def test_every_page_a_demo_role_is_shown_opens(demo, role):
    user = User.objects.filter(role=role, is_active=True).order_by("username").first()
    assert user is not None, f"the demo has no {role}"
    client = verified_client(user)
    seen: set[str] = set()
    queue = deque(["/"])
    problems = []
    # Pages of one kind (every participant, every page of a list) are sampled, not all.
    per_shape: dict[str, int] = {}
    while queue and len(seen) < MAX_PAGES:
        url = queue.popleft()
        if url in seen:
            continue
        shape = re.sub(r"[A-Z]{3}-\d+|\d+|page=\d+", "#", url)
        per_shape[shape] = per_shape.get(shape, 0) + 1
        if per_shape[shape] > 3:
            continue
        seen.add(url)
        response = client.get(url)
        if response.status_code in (500, 403) or response.status_code >= 500:
            problems.append(f"{response.status_code} {url}")
            continue
        content_type = response.get("Content-Type", "")
        if response.status_code == 200 and content_type.startswith("text/html"):
            queue.extend(link for link in _links(response.content.decode()) if link not in seen)
    assert not problems, f"{role}: pages that failed:\n" + "\n".join(problems)
    assert len(seen) > 3, f"{role} reached only {sorted(seen)}"
