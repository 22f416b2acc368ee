"""No input answers 500: every page of the project, fed malformed input by every persona.

The walk is systematic and hypothesis draws the input. Every named URL pattern (the admin's
included) is filled from the seeded demo trial; each page is opened once by a persona that may
edit it, and its HTML tells what the page reads: the fields of its forms (a GET form is a
filter, a POST form is posted to its action) and the query parameters of its own links. Then,
in each example, for every page: each filter parameter is sent malformed, each field of each
form is posted malformed while the others keep a plausible value, each path parameter is
replaced by a malformed one, and a method the page does not expect is tried, each request by a
persona drawn from those the matrix lets in (and now and then one it keeps out).

Every answer must be a 4xx, a redirect, or a page; a page answering a POST that was surely
invalid must show the error. The test client re-raises a view's exception (a 500), which is
recorded with the URL, the persona and the input. Each request runs in a savepoint that is
rolled back, so every example starts from the same demo data and hypothesis' examples are
reproducible (``derandomize``). PostgreSQL only: it, unlike SQLite, refuses NUL characters.
"""

from __future__ import annotations

import dataclasses
import re
import time
import traceback
from html.parser import HTMLParser
from http.cookies import SimpleCookie
from io import StringIO
from pathlib import Path
from urllib.parse import parse_qsl, quote, urljoin, urlsplit

import pytest
import time_machine
from django.core.management import call_command
from django.db import connection, transaction
from django.test import Client
from django.urls import (
    NoReverseMatch,
    Resolver404,
    URLPattern,
    URLResolver,
    get_resolver,
    resolve,
    reverse,
)
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from tests.clock import FIXED_DAY, noon
from tests.conftest import private_files, verified_client
from trial.access import rule_for
from trial.models import Role, User

pytestmark = [pytest.mark.django_db, pytest.mark.postgres, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
SUPERUSER, ANONYMOUS = "superuser", "anonymous"
PERSONAS = [*(r.value for r in Role), SUPERUSER, ANONYMOUS]

# Examples per group of pages: each example sends every filter parameter, form field and path
# parameter of every page one malformed value and tries one unexpected method per page (about
# 850 requests over both groups), so this bounds the run.
EXAMPLES = 3

# Pages left out of the walk, and why.
SKIPPED = {
    # Its only job is to end the session the walk's personas share between requests.
    "account:logout",
    "admin:logout",
}

# Signs of a form shown again with its errors: crispy's Bootstrap classes, Django's own error
# list (the admin's too) and the project's alerts.
ERROR_SHOWN = re.compile(
    r"is-invalid|invalid-feedback|errorlist|errornote|alert-danger|alert-warning"
)


# --- the URL registry ------------------------------------------------------------------------


def _walk(resolver: URLResolver, namespaces: tuple[str, ...] = ()):
    for entry in resolver.url_patterns:
        if isinstance(entry, URLResolver):
            ns = (*namespaces, entry.namespace) if entry.namespace else namespaces
            yield from _walk(entry, ns)
        elif isinstance(entry, URLPattern) and entry.name:
            yield ":".join((*namespaces, entry.name)), entry


PATTERNS = dict(_walk(get_resolver()))


def _group(name: str) -> str:
    """Two groups of about the same cost, so that two workers share the walk."""
    if name.startswith(("admin:", "randomization:", "followup:", "questionnaires:")):
        return "admin-randomisation-followup-questionnaires"
    return "trial-account"


GROUPS = sorted({_group(n) for n in PATTERNS})


# --- the demo trial and its personas ---------------------------------------------------------


@dataclasses.dataclass
class Demo:
    clients: dict[str, Client]
    samples: dict[str, list]


def _samples() -> dict[str, list]:
    """Valid values of every path parameter, taken from the demo trial: a few of each kind, in
    different states, so that pages show the forms of those states."""
    from axes.models import AccessAttempt, AccessFailureLog, AccessLog
    from django.contrib import admin
    from django.contrib.auth.models import Group
    from django.contrib.contenttypes.models import ContentType
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode
    from django_otp.plugins.otp_static.models import StaticDevice
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from followup.models import Contact
    from questionnaires.links import link_issue_letter
    from randomization.models import AllocationListView, BatchPrint, EnvelopeBatch
    from tests.factories import api_token_of, casebook_run_done
    from trial.models import (
        AdverseEvent,
        ExportRun,
        InformationSheetVersion,
        Participant,
        Query,
        ScreeningLogEntry,
        Site,
    )

    # The two furthest along the screening path and one of each arm, at the site whose staff
    # the demo personas are.
    aar = Participant.objects.filter(site__code="AAR").order_by("sequence")
    participants = list(aar.filter(status="screening"))[-2:]
    for arm in ("pvp", "conservative"):
        participants += list(aar.filter(status="randomised", allocation__arm=arm)[:1])
    link_target = next(
        (p for p in participants if p.status not in ("dead", "withdrawn", "not_included")),
        participants[0],
    )
    _link, token = link_issue_letter(participant=link_target, visit_code="BL", user=None)
    nurse = User.objects.get(username="nurse")
    device = TOTPDevice.objects.filter(user=nurse).first() or TOTPDevice.objects.create(
        user=nurse, name="phone", confirmed=True
    )
    static = StaticDevice.objects.create(user=nurse, name="backup", confirmed=True)
    Group.objects.get_or_create(name="readers")
    # Rows the demo leaves out, for the admin pages of their models.
    AccessAttempt.objects.create(username="x", ip_address="10.0.0.1", failures_since_start=1)
    AccessLog.objects.create(username="x", ip_address="10.0.0.1")
    AccessFailureLog.objects.create(username="x", ip_address="10.0.0.1")
    batch = EnvelopeBatch.objects.order_by("pk").first()
    AllocationListView.objects.create(user=nurse, what="list")
    BatchPrint.objects.create(batch=batch, user=nurse)
    InformationSheetVersion.objects.get_or_create(label="v-bad-input", dated="2026-01-01")
    for model in admin.site._registry:
        first = model._default_manager.order_by("pk").first()
        if hasattr(model, "history") and first is not None and not first.history.exists():
            first.save()  # a past version (rows of migrations have none) for its history page
    site = Site.objects.order_by("pk").first()
    ae = AdverseEvent.objects.filter(participant__site__code="AAR").first()
    return {
        "trial_number": [p.trial_number for p in participants],
        "token": [token],
        "uidb64": [urlsafe_base64_encode(force_bytes(nurse.pk))],
        "user_id": [nurse.pk],
        "entry_id": list(
            ScreeningLogEntry.objects.filter(site__code="AAR").values_list("pk", flat=True)[:2]
        ),
        "batch_id": list(EnvelopeBatch.objects.values_list("pk", flat=True)[:1]),
        "contact_id": list(
            Contact.objects.filter(participant__site__code="AAR", status="due").values_list(
                "pk", flat=True
            )[:1]
        ),
        "ae_id": [ae.pk] if ae else [],
        "query_id": list(
            Query.objects.filter(participant__site__code="AAR").values_list("pk", flat=True)[:2]
        ),
        "control_kind": ["surgical", "m12"],
        "visit_code": ["BL", "W4"],
        "instrument": ["odi", "vas"],
        "step": [1],
        "run_id": list(ExportRun.objects.values_list("pk", flat=True)[:1]),
        "casebook_id": [
            casebook_run_done(requested_by=nurse, participant=participants[0], site=None).id
        ],
        "archive_id": [casebook_run_done(requested_by=nurse, site=site).id],
        "token_id": [api_token_of(nurse).pk],
        # The admin's: an object of the model in the URL name (filled in _admin_object), the
        # pk of a second-factor device for django-otp's pages.
        "pk": [device.pk],
        "id": [nurse.pk],
        "_static_device": [static.pk],
        "content_type_id": [ContentType.objects.get_for_model(Site).pk],
        "object_id": [site.pk],
    }


def _tablet_token() -> str:
    """A running clinic-tablet session of a participant with a visit still to answer."""
    from questionnaires.services import tablet_session_start
    from trial.errors import ServiceError
    from trial.models import Participant
    from trial.protocol.visits import visit_codes

    nurse = User.objects.get(username="nurse")
    for participant in Participant.objects.filter(site__code="AAR").order_by("sequence"):
        for visit_code in visit_codes():
            try:
                _session, token = tablet_session_start(
                    participant=participant, visit_code=visit_code, user=nurse
                )
            except ServiceError:
                continue
            return token
    raise AssertionError("no participant of the demo can start a tablet session")


def _persona_clients(token: str) -> dict[str, Client]:
    from questionnaires.views.patient import TABLET_SESSION_KEY

    clients = {}
    for role in Role:
        user = User.objects.filter(role=role, is_active=True).order_by("username").first()
        clients[role.value] = verified_client(user)
    root = User.objects.create_superuser("root-bad-input", "root@vertebra.invalid", "x" * 16)
    clients[SUPERUSER] = verified_client(root)
    # A patient's browser: it opened a personal link and holds a clinic-tablet session, so
    # that the public questionnaire pages show their forms.
    patient = Client()
    patient.get(reverse("questionnaires:patient_start", args=[token]))
    tablet_token = _tablet_token()
    session = patient.session
    session[TABLET_SESSION_KEY] = tablet_token
    session.save()
    clients[ANONYMOUS] = patient
    return clients


def _seed_demo_without_the_export() -> None:
    """The demo trial, with a logged export in place of the demo's own: rendering a whole
    export (tested in tests/trial/exports) would take a minute of this test's time."""
    from django.conf import settings as django_settings

    from trial.models import ExportRun
    from trial.registry import registry

    steps = registry.demo_steps
    registry.demo_steps = [s for s in steps if s.code != "export"]
    try:
        call_command("seed_demo", stdout=StringIO())
    finally:
        registry.demo_steps = steps
    run = ExportRun.objects.create(
        exporter="full",
        format="csv",
        requested_by=User.objects.get(username="coordinator"),
        status="done",
        file_name="bad-input-sample.zip",
    )
    root = Path(django_settings.EXPORT_ROOT)
    root.mkdir(parents=True, exist_ok=True)
    (root / run.file_name).write_bytes(b"PK\x05\x06" + bytes(18))


@pytest.fixture(scope="module")
def demo(django_db_setup, django_db_blocker, tmp_path_factory):
    if connection.vendor != "postgresql":
        pytest.skip("NUL characters and integer ranges fail only on PostgreSQL")
    with (
        django_db_blocker.unblock(),
        private_files(tmp_path_factory.mktemp("bad-input")),
        time_machine.travel(noon(FIXED_DAY), tick=True),
    ):
        outer = transaction.atomic()
        outer.__enter__()
        try:
            _seed_demo_without_the_export()
            samples = _samples()
            yield Demo(clients=_persona_clients(samples["token"][0]), samples=samples)
        finally:
            transaction.set_rollback(True)
            outer.__exit__(None, None, None)


# --- what a page reads: its forms and its links ----------------------------------------------


@dataclasses.dataclass
class Field:
    name: str
    kind: str  # date, number, choice, multiple, check, file, password, text
    value: str  # a plausible value: the page's own, or one made for the kind
    choices: list[str] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class Form:
    action: str
    method: str
    fields: dict[str, Field]
    found_on: str


@dataclasses.dataclass
class Page:
    name: str
    url: str
    params: dict[str, str]
    query: dict[str, Field] = dataclasses.field(default_factory=dict)
    forms: list[Form] = dataclasses.field(default_factory=list)


@dataclasses.dataclass
class Tally:
    requests: int = 0
    pages: set = dataclasses.field(default_factory=set)
    names: set = dataclasses.field(default_factory=set)
    forms: set = dataclasses.field(default_factory=set)
    fields: set = dataclasses.field(default_factory=set)
    problems: list = dataclasses.field(default_factory=list)


class _PageParser(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.forms: list[dict] = []
        self.links: list[str] = []
        self._form: dict | None = None
        self._select: dict | None = None
        self._textarea: dict | None = None

    def handle_starttag(self, tag, attrs):
        a = {k: (v if v is not None else "") for k, v in attrs}
        if tag == "a" and "href" in a:
            self.links.append(a["href"])
        elif tag == "form":
            self._form = {
                "action": a.get("action", ""),
                "method": (a.get("method") or "get").lower(),
                "fields": [],
            }
            self.forms.append(self._form)
        elif self._form is None or "name" not in a or "disabled" in a:
            return
        elif tag in ("input", "button"):
            kind = a.get("type", "text" if tag == "input" else "submit").lower()
            if tag == "button" and kind in ("submit", "button", "reset") and not a.get("value"):
                return
            if kind in ("radio", "checkbox") and "checked" not in a:
                self._form["fields"].append(
                    {"name": a["name"], "type": kind, "value": None, "option": a.get("value", "on")}
                )
                return
            self._form["fields"].append(
                {
                    "name": a["name"],
                    "type": kind,
                    "value": a.get("value", ""),
                    "option": a.get("value", "on"),
                    "required": "required" in a,
                }
            )
        elif tag == "select":
            self._select = {
                "name": a["name"],
                "type": "select-multiple" if "multiple" in a else "select",
                "options": [],
                "value": None,
            }
            self._form["fields"].append(self._select)
        elif tag == "option" and self._select is not None:
            value = a.get("value", "")
            self._select["options"].append(value)
            if "selected" in a or self._select["value"] is None:
                self._select["value"] = value
        elif tag == "textarea":
            self._textarea = {"name": a["name"], "type": "textarea", "value": ""}
            self._form["fields"].append(self._textarea)

    def handle_data(self, data):
        if self._textarea is not None:
            self._textarea["value"] += data

    def handle_endtag(self, tag):
        if tag == "form":
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


_DATE_NAME = re.compile(r"(date|_on$|^on$|_from$|_to$|^from$|^to$|^week|day$|since|until)")


def _plausible(raw: dict) -> Field:
    """A field of the page and a value the page would accept, or at least could."""
    name, kind = raw["name"], raw["type"]
    if kind in ("select", "select-multiple"):
        options = [o for o in raw["options"] if o != ""] or raw["options"]
        value = raw["value"] if raw["value"] not in (None, "") else (options[0] if options else "")
        return Field(name, "multiple" if kind == "select-multiple" else "choice", value, options)
    if kind in ("radio", "checkbox"):
        return Field(name, "check", raw["value"] or raw["option"], [raw["option"]])
    value = raw.get("value") or ""
    if kind == "date" or _DATE_NAME.search(name):
        return Field(name, "date", value or FIXED_DAY.isoformat())
    if kind == "number" or re.fullmatch(r"-?\d+", value or "x"):
        return Field(name, "number", value or "1")
    if kind == "file":
        return Field(name, "file", "")
    if kind == "password":
        return Field(name, "password", value or "not-the-password-77")
    if kind == "hidden":
        return Field(name, "hidden", value)
    if kind == "email":
        return Field(name, "text", value or "someone@example.org")
    return Field(name, "text", value or "A reason long enough for the audit trail")


def _merge(fields: list[dict]) -> dict[str, Field]:
    merged: dict[str, Field] = {}
    for raw in fields:
        field = _plausible(raw)
        known = merged.get(field.name)
        if known is None:
            merged[field.name] = field
        elif field.kind == "check":
            # Radio buttons and checkbox groups: one field with the union of their values.
            known.choices = sorted({*known.choices, *field.choices})
            if raw.get("value"):
                known.value = raw["value"]
    return merged


def _path_of(url: str) -> str:
    return urlsplit(url).path


def _name_of(path: str) -> str | None:
    try:
        match = resolve(path)
    except Resolver404:
        return None
    return match.view_name if match.url_name else None


def _read(page: Page, response, pages: dict[str, Page]) -> None:
    if response.status_code != 200 or "html" not in response.get("Content-Type", ""):
        return
    parser = _PageParser()
    parser.feed(response.content.decode(errors="replace"))
    for raw in parser.forms:
        target = _path_of(urljoin(page.url, raw["action"])) if raw["action"] else page.url
        name = _name_of(target)
        if name is None or name in SKIPPED or raw["method"] not in ("get", "post"):
            continue
        owner = pages.setdefault(target, Page(name=name, url=target, params={}))
        fields = _merge(raw["fields"])
        if raw["method"] == "get":
            owner.query.update({k: v for k, v in fields.items() if k not in owner.query})
        elif not any(f.fields.keys() == fields.keys() for f in owner.forms):
            owner.forms.append(Form(target, "post", fields, found_on=page.url))
    for href in parser.links:
        parts = urlsplit(urljoin(page.url, href))
        if parts.query and not parts.netloc and parts.path in pages:
            for key, value in parse_qsl(parts.query, keep_blank_values=True):
                if key not in pages[parts.path].query:
                    pages[parts.path].query[key] = _plausible(
                        {"name": key, "type": "text", "value": value}
                    )


def _admin_object(name: str) -> object | None:
    """An object of the admin page's model (admin:<app>_<model>_<page>)."""
    from django.contrib import admin

    for model in admin.site._registry:
        prefix = f"admin:{model._meta.app_label}_{model._meta.model_name}_"
        if name.startswith(prefix):
            return model._default_manager.order_by("pk").first()
    return None


def _urls(name: str, samples: dict) -> list[tuple[str, dict[str, str]]]:
    pattern = PATTERNS[name]
    if name.endswith("_simple_history"):
        # simple-history's page of one past version: a re_path() of two unnamed groups.
        obj = _admin_object(name)
        version = obj.history.order_by("history_id").first() if obj is not None else None
        assert version is not None, f"{name}: the demo has no past version to show"
        args = [str(obj.pk), str(version.history_id)]
        return [(reverse(name, args=args), {"object_id": args[0], "history_id": args[1]})]
    # path() patterns name their converters; the admin's re_path() ones only their groups.
    args = list(pattern.pattern.converters) or list(pattern.pattern.regex.groupindex)
    if name.startswith("admin:") and "object_id" in args and name != "admin:view_on_site":
        obj = _admin_object(name)
        values = {"object_id": [obj.pk] if obj is not None else []}
    elif name == "admin:app_list":
        values = {"app_label": ["trial", "otp_totp", "axes"]}
    else:
        values = {a: samples.get(a, []) for a in args}
    if any(not values[a] for a in args):
        missing = [a for a in args if not values[a]]
        raise AssertionError(f"{name}: the demo has no sample for {missing}")
    # One URL per sample of the first parameter that has several, the others at their first.
    first = next((a for a in args if len(values[a]) > 1), None)
    combos = [{a: values[a][0] for a in args}]
    if first:
        combos = [{**combos[0], first: v} for v in values[first]]
    urls = []
    for kwargs in combos:
        try:
            urls.append((reverse(name, kwargs=kwargs), {k: str(v) for k, v in kwargs.items()}))
        except NoReverseMatch:
            continue
    return urls


def _may(persona: str, name: str, method: str) -> bool:
    rule = rule_for(name)
    if rule is None:
        return False
    if rule.kind == "public":
        return True
    if persona == ANONYMOUS:
        return False
    if persona == SUPERUSER:
        return rule.kind == "admin" or rule.allows(Role.COORDINATOR, method)
    return rule.allows(persona, method)


def _discoverer(name: str) -> str:
    for method in ("POST", "GET"):
        for persona in PERSONAS:
            if _may(persona, name, method):
                return persona
    return ANONYMOUS


def catalogue(demo: Demo, group: str, tally: Tally) -> list[Page]:
    pages: dict[str, Page] = {}
    for name in sorted(PATTERNS):
        if name in SKIPPED or _group(name) != group:
            continue
        for url, params in _urls(name, demo.samples):
            pages.setdefault(url, Page(name=name, url=url, params=params))
    for page in list(pages.values()):
        persona = _discoverer(page.name)
        response = _send(demo.clients[persona], "get", page.url, {})
        tally.requests += 1
        tally.pages.add(page.url)
        if not isinstance(response, Exception):
            _read(page, response, pages)
    # Forms found on this group's pages may post elsewhere: keep this group's own.
    return [p for p in pages.values() if _group(p.name) == group]


# --- malformed input -------------------------------------------------------------------------

DATES = ["9999-12-31", "0001-01-01", "0000-01-01", "-1", "-2026-01-01", "2026-02-30", "10000-01-01"]
NUMBERS = ["abc", "-1", "0", "1.5", "99999999999999999999", "-99999999999999999999", "1e309", "NaN"]
ANYWHERE = ["a\x00b", "x" * 10_000, "", "\x00", "__no_such_choice__", " ", "<script>x</script>"]
MISSING = object()  # the field left out of the request
PATH_VALUES = ["a%00b", "99999999999999999999", "abc", "0", "-1", "x" * 300, "..%2F..", "%C3%28"]
METHODS = ["put", "patch", "delete", "options", "trace", "head"]


def _texts():
    return st.text(st.characters(blacklist_categories=("Cs",)), max_size=30)


def malformed(field: Field):
    """A value the field should refuse (or at least survive): half the time one of the known
    troublemakers of its kind, else any of them, text, a list, or nothing at all. (Hypothesis
    starts from the first of each list: the worst case of the kind comes first.)"""
    anything = [
        st.sampled_from(ANYWHERE),
        _texts(),
        st.just(MISSING),
        # A list where the page expects one value.
        st.tuples(st.just(field.value or "1"), st.sampled_from(NUMBERS + DATES)).map(list),
    ]
    if field.kind == "date":
        anything.insert(0, st.dates().map(lambda d: d.isoformat()))
        return st.one_of(st.sampled_from(DATES), st.one_of(*anything))
    if field.kind in ("number", "choice", "multiple", "check", "hidden"):
        anything.insert(0, st.integers(-(2**70), 2**70).map(str))
        return st.one_of(st.sampled_from(NUMBERS), st.one_of(*anything))
    return st.one_of(*anything)


def _surely_invalid(field: Field, value) -> bool:
    """Values no field of the kind may accept: the page must then say what is wrong."""
    if value is MISSING or isinstance(value, list):
        return False
    if "\x00" in value:
        return True
    if field.kind == "date" and value in DATES:
        return True
    return field.kind == "choice" and value == "__no_such_choice__" and bool(field.choices)


# --- requests --------------------------------------------------------------------------------


def _send(client: Client, method: str, url: str, data: dict):
    """One request in a savepoint that is rolled back, with the client's cookies kept: every
    request sees the same demo data and the same logged-in persona. An exception the view
    raised (a 500) is returned, not raised."""
    cookies = SimpleCookie()
    cookies.load(client.cookies.output(header="", sep=";"))
    try:
        with transaction.atomic():
            try:
                call = getattr(client, method)
                if method in ("get", "head", "options", "trace"):
                    return call(url, data) if method in ("get", "head") else call(url)
                return call(url, data) if method == "post" else call(url, "")
            finally:
                transaction.set_rollback(True)
    except Exception as exc:
        return exc
    finally:
        client.cookies = cookies


def _probe(
    tally: Tally,
    demo: Demo,
    persona: str,
    page: Page,
    method: str,
    url: str,
    data,
    *,
    must_show_error: bool = False,
    what: str = "",
) -> None:
    tally.requests += 1
    tally.pages.add(page.url)
    tally.names.add(page.name)
    response = _send(demo.clients[persona], method, url, data)
    shown = {
        k: (v if len(str(v)) < 60 else f"{str(v)[:20]}...({len(str(v))} chars)")
        for k, v in (data or {}).items()
    }
    where = f"{method.upper()} {url[:200]!r} as {persona} {what} data={shown}"
    if isinstance(response, Exception):
        ours = [
            f"{f.filename.removeprefix(str(ROOT) + '/')}:{f.lineno} {f.line}"
            for f in traceback.extract_tb(response.__traceback__)
            if f.filename.startswith(str(ROOT)) and "/.venv/" not in f.filename
        ]
        tally.problems.append(
            f"{where}\n    {type(response).__name__}: {response}\n    at "
            + "\n    at ".join(ours[-2:])
        )
        return
    if response.status_code >= 500:
        tally.problems.append(f"{where}\n    answered {response.status_code}")
        return
    if (
        must_show_error
        and response.status_code == 200
        and "html" in response.get("Content-Type", "")
        and _may(persona, page.name, "POST")
        and not ERROR_SHOWN.search(response.content.decode(errors="replace"))
    ):
        tally.problems.append(f"{where}\n    answered 200 without showing an error")


def _pick_persona(data, name: str, method: str) -> str:
    allowed = [p for p in PERSONAS if _may(p, name, method.upper())]
    if not allowed:
        return data.draw(st.sampled_from(PERSONAS))
    # Mostly one who may: the view runs; now and then one who may not: the matrix answers.
    return data.draw(
        st.one_of(st.sampled_from(allowed), st.sampled_from(PERSONAS)), label="persona"
    )


def _with(base: dict, name: str, value) -> dict:
    data = dict(base)
    if value is MISSING:
        data.pop(name, None)
    else:
        data[name] = value
    return data


def _base(form: Form) -> dict:
    return {
        f.name: f.value
        for f in form.fields.values()
        if f.kind != "file" and not (f.kind == "check" and not f.value)
    }


def _broken_path(page: Page, param: str, value: str) -> str:
    """The page's URL with one path parameter replaced, as a browser would send it."""
    good = quote(page.params[param], safe="")
    bad = value if "%" in value else quote(value, safe="")
    head, sep, tail = (
        page.url.rpartition(f"/{good}/")
        if f"/{good}/" in page.url
        else (page.url.rpartition(f"/{good}"))
    )
    return f"{head}/{bad}/{tail}" if sep.endswith("/") else f"{head}/{bad}{tail}"


def _by_name(pages: list[Page]) -> dict[str, list[Page]]:
    named: dict[str, list[Page]] = {}
    for page in pages:
        named.setdefault(page.name, []).append(page)
    return named


def walk_once(demo: Demo, pages: list[Page], data, tally: Tally) -> None:
    """Every URL name once: its filters, the fields of its forms and its path parameters.

    A URL name has a page per sample (participants in different states); each field is sent
    on one of them, in turn, from an offset drawn for the example, so that every field is
    covered once per example and the states share the work.
    """
    for name, named in _by_name(pages).items():
        offset = data.draw(st.integers(0, len(named) - 1), label=f"{name} offset")

        def turn(i: int, among: list[Page] = named, offset: int = offset) -> Page:
            return among[(offset + i) % len(among)]

        # Filters: one malformed parameter at a time.
        query = {k: f for p in reversed(named) for k, f in p.query.items()}
        for i, field in enumerate(query.values()):
            page = turn(i, [p for p in named if field.name in p.query])
            value = data.draw(malformed(field), label=f"{name}?{field.name}")
            tally.fields.add((name, "GET", field.name))
            persona = _pick_persona(data, name, "GET")
            _probe(
                tally,
                demo,
                persona,
                page,
                "get",
                page.url,
                {} if value is MISSING else {field.name: value},
                what="filter",
            )
        # Forms: one malformed field at a time, the others plausible; then all of them.
        forms: dict[tuple, list[tuple[Page, Form]]] = {}
        for page in named:
            for form in page.forms:
                forms.setdefault(tuple(sorted(form.fields)), []).append((page, form))
        for key, holders in forms.items():
            tally.forms.add((name, key))
            for i, field_name in enumerate(key):
                page, form = holders[(offset + i) % len(holders)]
                field = form.fields[field_name]
                value = data.draw(malformed(field), label=f"{name} {field_name}")
                tally.fields.add((name, "POST", field_name))
                persona = _pick_persona(data, name, "POST")
                _probe(
                    tally,
                    demo,
                    persona,
                    page,
                    "post",
                    page.url,
                    _with(_base(form), field_name, value),
                    must_show_error=_surely_invalid(field, value),
                    what="form",
                )
            page, form = holders[offset % len(holders)]
            everything = {
                f.name: v
                for f in form.fields.values()
                if (v := data.draw(malformed(f))) is not MISSING
            }
            persona = _pick_persona(data, name, "POST")
            _probe(tally, demo, persona, page, "post", page.url, everything, what="form, all")
        page = turn(0)
        # Path parameters: each one malformed, read and (for a page with a form) posted.
        for param in page.params:
            value = data.draw(st.sampled_from(PATH_VALUES), label=f"{name} <{param}>")
            url = _broken_path(page, param, value)
            method = "post" if page.forms else "get"
            persona = _pick_persona(data, name, method)
            _probe(
                tally,
                demo,
                persona,
                page,
                method,
                url,
                _base(page.forms[0]) if page.forms else {},
                what=f"path <{param}>",
            )
        # A method the page does not expect; and a POST of junk to a page without a form.
        method = data.draw(st.sampled_from(METHODS), label=f"{name} method")
        _probe(
            tally, demo, _pick_persona(data, name, "GET"), page, method, page.url, {}, what="method"
        )
        if not forms:
            junk = data.draw(
                st.dictionaries(
                    st.sampled_from(["id", "pk", "q", "date", "page"]),
                    st.sampled_from(ANYWHERE + NUMBERS + DATES),
                    max_size=2,
                )
            )
            _probe(
                tally,
                demo,
                _pick_persona(data, name, "POST"),
                page,
                "post",
                page.url,
                junk,
                what="post to a page without a form",
            )


WALK = settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    database=None,
    # Shrinking would repeat the whole walk; every problem of the failing example is listed.
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)


@pytest.mark.parametrize("group", GROUPS)
def test_no_malformed_input_answers_500(demo, group):
    started = time.monotonic()
    tally = Tally()
    pages = catalogue(demo, group, tally)
    assert pages, group

    @WALK
    @given(data=st.data())
    def walk(data):
        walk_once(demo, pages, data, tally)

    walk()
    posted = {f for f in tally.fields if f[1] == "POST"}
    print(
        f"\nbad input, {group}: {tally.requests} requests, {len(tally.pages)} pages of "
        f"{len(tally.names)} URL names, {len(tally.forms)} forms with {len(posted)} fields, "
        f"{len(tally.fields) - len(posted)} filter parameters, "
        f"{time.monotonic() - started:.0f} s"
    )
    assert not tally.problems, f"{len(tally.problems)} bad answers:\n" + "\n".join(
        tally.problems[:60]
    )
    # Every URL name of the group was requested: a page the walk cannot fill fails here.
    expected = {n for n in PATTERNS if _group(n) == group and n not in SKIPPED}
    assert expected <= tally.names, sorted(expected - tally.names)
