"""Every URL of the project is in the permission matrix, and behaves as the matrix says for
every role, at the user's own site and at another site."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse

from tests.conftest import verified_client
from tests.factories import query_raised, w1_contact_id
from tests.trial.api.conftest import token_client
from trial.access import matrix_markdown, rule_for
from trial.access_matrix import MATRIX
from trial.models import CENTRAL_ROLES, Role

# Hundreds of requests or whole exports: run on PostgreSQL, left out of the SQLite fast suite.
pytestmark = pytest.mark.slow


def _walk(resolver: URLResolver, namespaces: tuple[str, ...] = ()):
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            ns = (*namespaces, entry.namespace) if entry.namespace else namespaces
            yield from _walk(entry, ns)
        elif isinstance(entry, URLPattern):
            if entry.name:
                yield ":".join((*namespaces, entry.name)), entry
            elif namespaces and f"{namespaces[0]}:*" in MATRIX:
                # Unnamed patterns inside a wildcard namespace (the admin's redirects) are
                # guarded by the wildcard: the middleware resolves them as "admin:<view>".
                continue
            else:
                yield None, entry


ALL_PATTERNS = list(_walk(get_resolver()))
NAMED = sorted({name for name, _ in ALL_PATTERNS if name})
# URL names we request in the role x site tests; admin is covered by its wildcard and index.
CHECKED = [n for n in NAMED if not n.startswith("admin:")] + ["admin:index"]

# How to fill a URL's arguments: own-site and other-site samples for each argument name.
SAMPLES = {
    "trial_number": lambda w, own: (w.own_participant if own else w.other_participant).trial_number,
    # Questionnaires: a valid personal-link token of the participant, a visit code, an
    # instrument and a screen of the patient's path.
    "token": lambda w, own: _questionnaire_token(w.own_participant if own else w.other_participant),
    "visit_code": lambda w, own: "BL",
    "instrument": lambda w, own: "odi",
    "step": lambda w, own: 1,
    # Screening: a screening-log entry of the own or the other site.
    "entry_id": lambda w, own: _screening_entry(w.own if own else w.other).pk,
    # Randomisation: an envelope batch of the own or the other site.
    "batch_id": lambda w, own: _envelope_batch(w.own if own else w.other),
    # Follow-up: an open contact of the own or the other site's participant.
    "contact_id": lambda w, own: w1_contact_id(w.own_participant if own else w.other_participant),
    # --- treatment and clinical events: an adverse event of the participant, and
    # the kind of radiographic control.
    "ae_id": lambda w, own: _adverse_event(w.own_participant if own else w.other_participant),
    "control_kind": lambda w, own: "m12",
    # --- monitoring: a query on an item of the participant.
    "query_id": lambda w, own: query_raised(w.own_participant if own else w.other_participant).pk,
    # --- casebooks: a finished casebook of the participant, and a site archive.
    "casebook_id": lambda w, own: _casebook_run(
        w, w.own_participant if own else w.other_participant
    ),
    "archive_id": lambda w, own: _casebook_run(w, None, site=w.own if own else w.other),
    # --- exports: a logged export run (central, so own and other are the same).
    "run_id": lambda w, own: _export_run(w),
    # --- staff pages: a member of staff the coordinator may manage (staff are central), and
    # the account part of an invitation link (its token is the questionnaire sample above,
    # so the public page answers "no longer valid").
    "user_id": lambda w, own: w.users[Role.NURSE].pk,
    "uidb64": lambda w, own: _uidb64(w.users[Role.NURSE]),
    # --- API tokens: one of the nurse's (revoking is a POST; a GET answers 405).
    "token_id": lambda w, own: _api_token(w.users[Role.NURSE]),
}


# Arguments that name one's own things, not a site's: no own-site / other-site pair.
UNSCOPED_ARGS = {"token_id"}


def _api_token(user) -> int:
    from trial.api.services import api_token_create

    return api_token_create(user=user, name="matrix", scopes=["read"])[0].pk


def _uidb64(user) -> str:
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    return urlsafe_base64_encode(force_bytes(user.pk))


def _export_run(world):
    """A finished export with a (tiny) file, so that its download answers 200 when allowed."""
    from pathlib import Path

    from django.conf import settings

    from trial.models import ExportRun, Role

    run = ExportRun.objects.create(
        exporter="full",
        format="csv",
        requested_by=world.users[Role.DATA_MANAGER],
        status="done",
        file_name="access-matrix-sample.zip",
    )
    Path(settings.EXPORT_ROOT).mkdir(parents=True, exist_ok=True)
    (Path(settings.EXPORT_ROOT) / run.file_name).write_bytes(b"PK\x05\x06" + bytes(18))
    return run.id


def _casebook_run(world, participant, *, site=None):
    """A finished, pseudonymised casebook (or site archive) with a tiny file, so that its
    download answers 200 when allowed."""
    from trial.models import CasebookRun, Role
    from trial.monitoring.casebook.services import casebook_root

    run = CasebookRun.objects.create(
        kind="participant" if participant else "site_archive",
        participant=participant,
        site=site,
        language="en",
        requested_by=world.users[Role.DATA_MANAGER],
        status="done",
        file_name="access-matrix-sample.pdf",
    )
    casebook_root().mkdir(parents=True, exist_ok=True)
    (casebook_root() / run.file_name).write_bytes(b"%PDF-1.7\n%%EOF\n")
    return run.id


def _adverse_event(participant) -> int:
    from tests.factories import AdverseEventFactory

    return AdverseEventFactory(participant=participant).pk


def _envelope_batch(site) -> int:
    from randomization.models import EnvelopeBatch
    from randomization.services import envelope_batch_generate

    batch = EnvelopeBatch.objects.filter(site=site).first() or envelope_batch_generate(
        site=site, stratum="A1N", count=4, user=None
    )
    return batch.pk


def _screening_entry(site):
    from tests.factories import ScreeningLogEntryFactory

    return ScreeningLogEntryFactory(site=site)


def _questionnaire_token(participant) -> str:
    from questionnaires.links import link_issue_letter

    _link, token = link_issue_letter(participant=participant, visit_code="BL", user=None)
    return token


def test_every_url_pattern_has_a_name():
    unnamed = [str(p.pattern) for name, p in ALL_PATTERNS if name is None]
    assert unnamed == [], f"Name these URL patterns, add them to trial/access_matrix.py: {unnamed}"


def test_every_url_is_in_the_matrix():
    missing = [name for name in NAMED if rule_for(name) is None]
    assert missing == [], f"Add these views to trial.access_matrix.MATRIX: {missing}"


def test_the_matrix_has_no_stale_entries():
    stale = [k for k in MATRIX if not k.endswith(":*") and k not in NAMED]
    assert stale == []


def test_the_monitor_can_never_write_clinical_data():
    for name, rule in MATRIX.items():
        if rule.kind in ("clinical", "central", "admin"):
            assert Role.MONITOR not in rule.roles, name


def test_the_readme_shows_the_current_matrix():
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert matrix_markdown() in readme, "Paste `python manage.py permission_matrix` into README"


def _url(name: str, world, own: bool) -> tuple[str, bool]:
    pattern = next(p for n, p in ALL_PATTERNS if n == name)
    args = list(pattern.pattern.converters)
    unknown = [a for a in args if a not in SAMPLES]
    assert not unknown, f"{name}: add a sample for URL argument(s) {unknown} in SAMPLES"
    kwargs = {a: SAMPLES[a](world, own) for a in args}
    return reverse(name, kwargs=kwargs), bool(set(args) - UNSCOPED_ARGS)


@pytest.mark.parametrize("name", CHECKED)
def test_anonymous_users_are_sent_to_login_except_on_public_pages(client, world, name):
    url, _ = _url(name, world, own=True)
    response = client.get(url)
    if rule_for(name).kind == "api":
        # The web API: no login page, a 401 in JSON asking for a token.
        assert response.status_code == 401, (name, response.status_code)
        return
    if rule_for(name).kind == "public":
        assert response.status_code in (200, 302, 405)
        if response.status_code == 302:
            assert "/account/login/" not in response["Location"]
    else:
        assert response.status_code == 302
        assert response["Location"].startswith(reverse("account:login"))


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("name", CHECKED)
def test_each_role_gets_what_the_matrix_says(world, name, role):
    rule = rule_for(name)
    user = world.users[role]
    # API routes are opened with a personal token holding every scope, never a session.
    client = token_client(user) if rule.kind == "api" else verified_client(user)
    url, scoped = _url(name, world, own=True)
    response = client.get(url)
    if rule.kind == "public":
        assert response.status_code in (200, 302, 405)
        return
    if not rule.allows(role, "GET"):
        assert response.status_code == 403, (name, role, response.status_code)
        return
    assert response.status_code in (200, 302, 405), (name, role, response.status_code)
    if response.status_code == 302:
        assert "/account/login/" not in response["Location"]

    # A POST-only API route answers 405 to GET before any lookup; the outsider test below
    # posts to it instead.
    if scoped and response.status_code != 405:
        other_url, _ = _url(name, world, own=False)
        other = client.get(other_url)
        expected = 200 if role in CENTRAL_ROLES else 404
        assert other.status_code == expected, (name, role, other.status_code)


def _takes_participant(name: str) -> bool:
    pattern = next(p for n, p in ALL_PATTERNS if n == name)
    return "trial_number" in pattern.pattern.converters


# A view the hematologist's role may not open at all answers 403 before any lookup, which
# tells nothing about which trial numbers exist.
@pytest.mark.parametrize(
    "name",
    [n for n in CHECKED if _takes_participant(n) and rule_for(n).allows(Role.HEMATOLOGIST, "GET")],
)
def test_an_outsider_hematologist_gets_404_for_own_site_participants(world, name):
    url, _ = _url(name, world, own=True)
    if rule_for(name).kind == "api":
        client = token_client(world.outsider)
        response = client.get(url)
        if response.status_code == 405:
            response = client.post(url)
    else:
        response = verified_client(world.outsider).get(url)
    assert response.status_code == 404


@pytest.mark.parametrize("name", [n for n in CHECKED if rule_for(n).kind != "public"])
def test_the_monitor_posts_only_on_own_account_and_queries(world, name):
    url, _ = _url(name, world, own=True)
    monitor = world.users[Role.MONITOR]
    client = token_client(monitor) if rule_for(name).kind == "api" else verified_client(monitor)
    response = client.post(url, {})
    rule = rule_for(name)
    if rule.kind == "account" or (rule.kind == "monitoring" and rule.allows(Role.MONITOR, "POST")):
        assert response.status_code not in (403, 500)
    else:
        assert response.status_code == 403


def test_a_view_missing_from_the_matrix_is_refused(world, monkeypatch):
    from trial import access

    # rule_for reads the matrix through trial.access's name for it; a copy without the entry
    # (rather than deleting it from the shared dict) keeps the matrix's order for other tests.
    without = {k: v for k, v in access.MATRIX.items() if k != "trial:participant_list"}
    monkeypatch.setattr(access, "MATRIX", without)
    response = verified_client(world.users[Role.COORDINATOR]).get(reverse("trial:participant_list"))
    assert response.status_code == 403


def test_unverified_staff_must_set_up_the_second_factor_first(world, client):
    client.force_login(world.users[Role.HEMATOLOGIST])
    response = client.get(reverse("trial:participant_list"))
    assert response.status_code == 302
    assert response["Location"] == reverse("account:otp_setup")


def test_a_setting_dependent_role_follows_the_setting_at_request_time(world, settings):
    coordinator = verified_client(world.users[Role.COORDINATOR])
    url = reverse("randomization:allocation_list")
    settings.RANDOMISATION_COORDINATOR_SEES_ALLOCATIONS = False
    assert coordinator.get(url).status_code == 403
    settings.RANDOMISATION_COORDINATOR_SEES_ALLOCATIONS = True
    assert coordinator.get(url).status_code == 200
