"""Between "Randomise now" and the confirmation of the opened envelope, no page, JSON answer or
export says or implies the arm, to any role; once confirmed, the arm is shown.

Every named URL of the project is requested as each role with the ids of two participants
waiting for their envelope's confirmation, one allocated to each arm. A page that depended on
the arm would differ between them in how often it names an arm (the labels of the Arm
choices in Danish and English, their short forms and codes); pages about no one participant
are compared with themselves before anyone was randomised. Counting, instead of looking for
absence, keeps the words that every page carries (the confirm form offers both arms, the
dashboard's columns are named after them) from making the test pass or fail by accident.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path

import pytest
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import translation

from randomization import services
from randomization.models import Allocation, Arm
from tests.conftest import verified_client
from tests.factories import AdverseEventFactory, query_raised, w1_contact_id
from tests.randomization.conftest import make_batch, make_ready
from trial.exports.writer import ExportSpec, write_export
from trial.models import ExportRun, Role

# Some thousand requests and whole exports: run on PostgreSQL, left out of the fast suite.
pytestmark = pytest.mark.slow

# Public pages of patients and of the login; the admin is covered by its own matrix test and
# never shows allocations (Allocation is not registered there).
SKIPPED_PREFIXES = ("admin:", "account:")


def _walk(resolver: URLResolver, namespaces: tuple[str, ...] = ()):
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            ns = (*namespaces, entry.namespace) if entry.namespace else namespaces
            yield from _walk(entry, ns)
        elif isinstance(entry, URLPattern) and entry.name:
            yield ":".join((*namespaces, entry.name)), entry


PATTERNS = {
    name: pattern
    for name, pattern in _walk(get_resolver())
    if not name.startswith(SKIPPED_PREFIXES)
}
# Arguments that make a URL about one participant.
PERSONAL = {"trial_number", "contact_id", "ae_id", "token", "entry_id", "query_id"}


def arm_words() -> list[str]:
    """Every way a page could name an arm: the choices' labels in both languages, the short
    words the templates use, the stored codes."""
    words = {value for value, _label in Arm.choices}
    for language in ("da", "en"):
        with translation.override(language):
            words |= {str(label) for _value, label in Arm.choices}
            words |= {translation.gettext("PVP"), translation.gettext("Conservative")}
    return sorted(words)


WORDS = arm_words()


# Random tokens (CSRF, questionnaire links) hold any three letters now and then, "PvP" too.
TOKEN = re.compile(r"[A-Za-z0-9_-]{32,}")


def _scrub(text: str) -> str:
    return TOKEN.sub(lambda m: "" if re.search(r"\d", m.group()) else m.group(), text)


def counts(text: str) -> dict[str, int]:
    low = _scrub(text).lower()
    return {w: low.count(w.lower()) for w in WORDS}


@dataclass
class Person:
    participant: object
    allocation: Allocation | None = None
    contact_id: int = 0
    ae_id: int = 0
    query_id: int = 0
    token: str = ""
    entry_id: int = 0


def _token(participant) -> str:
    from questionnaires.links import link_issue_letter

    _link, token = link_issue_letter(participant=participant, visit_code="BL", user=None)
    return token


def _entry(participant) -> int:
    from tests.factories import ScreeningLogEntryFactory
    from trial.models import ScreeningLogEntry

    entry = ScreeningLogEntry.objects.filter(participant=participant).first()
    return (entry or ScreeningLogEntryFactory(site=participant.site)).pk


def _kwargs(pattern: URLPattern, person: Person, world, batch_id: int, run_id: int) -> dict:
    samples = {
        "trial_number": person.participant.trial_number,
        "contact_id": person.contact_id,
        "ae_id": person.ae_id,
        "query_id": person.query_id,
        "token": person.token,
        "entry_id": person.entry_id,
        "visit_code": "BL",
        "instrument": "odi",
        "step": 1,
        "control_kind": "m12",
        "batch_id": batch_id,
        "run_id": run_id,
        "user_id": world.users[Role.NURSE].pk,
    }
    from tests.factories import api_token_of, casebook_run_done

    made = {
        "casebook_id": lambda: (
            casebook_run_done(
                requested_by=world.users[Role.DATA_MANAGER], participant=person.participant
            ).id
        ),
        "archive_id": lambda: (
            casebook_run_done(requested_by=world.users[Role.DATA_MANAGER], site=world.own).id
        ),
        "token_id": lambda: api_token_of(world.users[Role.NURSE]).pk,
    }
    return {a: samples[a] if a in samples else made[a]() for a in pattern.pattern.converters}


def _get(client, url: str) -> str:
    # Followed, so that a message a redirect leaves is read with the page it belongs to.
    response = client.get(url, follow=True)
    if response.streaming:
        body = b"".join(response.streaming_content)
    elif hasattr(response, "content"):
        body = response.content
    else:  # pragma: no cover - FileResponse is streaming
        body = b""
    if response.get("Content-Type", "").startswith("application/pdf"):
        return ""  # compressed PDF streams; the verification PDF is built from the page's data
    return body.decode("utf-8", errors="replace")


def _export_bytes(tmp_path: Path, fmt: str, tag: str) -> bytes:
    spec = ExportSpec(exporter="full", format=fmt, identified=False, run_id=tag)
    target = write_export(spec, tmp_path / f"{tag}-{fmt}.zip")
    out = []

    def unzip(zf):
        for name in zf.namelist():
            data = zf.read(name)
            out.append(data)
            if data[:2] == b"PK":
                unzip(zipfile.ZipFile(io.BytesIO(data)))

    unzip(zipfile.ZipFile(target))
    return b"\n".join(out)


def test_no_page_export_or_json_answer_implies_the_arm_before_the_envelope_is_confirmed(
    world, tmp_path, settings
):
    settings.LANGUAGE_CODE = "da"
    hematologist = world.users[Role.HEMATOLOGIST]
    batch = make_batch(world.own, "A1N", 4, user=world.users[Role.COORDINATOR], block_sizes=[4])
    # One block of four holds two of each arm, so three participants reach both arms.
    people = [Person(make_ready(world.own, hematologist)) for _ in range(3)]
    # What the personal URLs point at exists before anyone is randomised, so that pages about
    # no one participant differ between the two moments by the randomisations only.
    for person in people:
        person.contact_id = w1_contact_id(person.participant)
        person.ae_id = AdverseEventFactory(participant=person.participant).pk
        person.query_id = query_raised(person.participant).pk
        person.token = _token(person.participant)
        person.entry_id = _entry(person.participant)
    run = ExportRun.objects.create(
        exporter="full", format="csv", requested_by=world.users[Role.DATA_MANAGER], status="done"
    )
    clients = {role: verified_client(world.users[role]) for role in Role}

    def global_pages() -> dict[tuple[Role, str], dict[str, int]]:
        # Fresh sessions: the patient pages answer from the session's questionnaire link.
        fresh = {role: verified_client(world.users[role]) for role in Role}
        seen = {}
        for name, pattern in PATTERNS.items():
            # The whole trail pages by time, so new entries push old ones off its first page;
            # it is compared per participant below instead.
            if PERSONAL & set(pattern.pattern.converters) or name == "trial:audit_log":
                continue
            url = reverse(name, kwargs=_kwargs(pattern, people[0], world, batch.pk, run.pk))
            for role, client in fresh.items():
                seen[(role, name)] = counts(_get(client, url))
        return seen

    before = global_pages()
    export_before = {
        fmt: counts(_export_bytes(tmp_path, fmt, "s0").decode("utf-8", errors="replace"))
        for fmt in ("csv", "xlsx")
    }

    by_arm: dict[str, Person] = {}
    for person in people:
        person.allocation = services.participant_randomize(
            participant=person.participant, user=hematologist
        )
        by_arm.setdefault(person.allocation.arm, person)
        if len(by_arm) == 2:
            break
    pvp, conservative = by_arm[Arm.PVP], by_arm[Arm.CONSERVATIVE]

    # Pages about one participant: the same for either arm.
    leaks = []
    requested = 0
    personal = {
        name: {
            arm: reverse(name, kwargs=_kwargs(pattern, person, world, batch.pk, run.pk))
            for arm, person in by_arm.items()
        }
        for name, pattern in PATTERNS.items()
        if PERSONAL & set(pattern.pattern.converters)
    }
    personal["trial:audit_log"] = {
        arm: reverse("trial:audit_log") + f"?participant={person.participant.trial_number}"
        for arm, person in by_arm.items()
    }
    for name, urls in personal.items():
        for role, client in clients.items():
            seen = {arm: counts(_get(client, url)) for arm, url in urls.items()}
            requested += 2
            if seen[Arm.PVP] != seen[Arm.CONSERVATIVE]:
                diff = {
                    w: (seen[Arm.PVP][w], seen[Arm.CONSERVATIVE][w])
                    for w in WORDS
                    if seen[Arm.PVP][w] != seen[Arm.CONSERVATIVE][w]
                }
                leaks.append((role.value, name, diff))
    # Pages about no one participant: unchanged by the two allocations.
    after = global_pages()
    leaks += [
        (
            role.value,
            name,
            {w: (before[(role, name)][w], c[w]) for w in WORDS if before[(role, name)][w] != c[w]},
        )
        for (role, name), c in after.items()
        if before[(role, name)] != c
    ]
    # Exports: no arm word more than before (codebooks and value labels name both arms).
    for fmt in ("csv", "xlsx"):
        now = counts(_export_bytes(tmp_path, fmt, "s1").decode("utf-8", errors="replace"))
        if now != export_before[fmt]:
            leaks.append(("export", fmt, now))
    assert leaks == [], "\n".join(map(str, leaks))
    assert requested > 300  # the walk did walk: many personal pages, every role

    # Once the envelopes are confirmed, the same walk finds the arms: the test can fail.
    for person in (pvp, conservative):
        services.allocation_confirm(
            allocation=person.allocation,
            user=hematologist,
            serial=person.allocation.envelope.serial,
            arm=person.allocation.arm,
        )
    client = clients[Role.HEMATOLOGIST]
    for person in (pvp, conservative):
        page = _get(client, person.participant.get_absolute_url())
        with translation.override("da"):
            label = str(Arm(person.allocation.arm).label)
        assert label in page
    pages = {
        arm: counts(_get(client, person.participant.get_absolute_url()))
        for arm, person in by_arm.items()
    }
    assert pages[Arm.PVP] != pages[Arm.CONSERVATIVE]
    for fmt in ("csv", "xlsx"):
        now = counts(_export_bytes(tmp_path, fmt, "s2").decode("utf-8", errors="replace"))
        assert now != export_before[fmt], fmt
