"""Benchmark of the site archive: `python manage.py benchmark casebook --participants 200`.

Builds (once, on PostgreSQL) a site of N randomised participants with full follow-up, reusing
the exports benchmark's generator (trial/exports/benchmark.py: screening, surgical
assessment, allocation, every questionnaire of every visit, every contact and call), and adds
what a casebook shows beyond the values: a creation row in the audit trail for every record,
one correction with a reason and one closed query per participant. Then renders the site's
archive in a forked process, so its peak RSS is its own, printing the time and the resident
memory of that process and of its PDF worker (render.py) after 25 %, 50 % and 100 % of the
casebooks, and both peaks: flat memory means one casebook at a time, and a worker replaced
before what WeasyPrint keeps between documents adds up.
"""

from __future__ import annotations

import multiprocessing
import os
import resource
import tempfile
import time
from pathlib import Path

from django.core.management.base import CommandError
from django.db import connection, connections, transaction
from simple_history.utils import get_history_model_for_model

from trial.audit import audited_models, participant_path
from trial.exports.benchmark import _ensure_data
from trial.models import Participant, Site

SITE_CODE = "BCB"


def _sql(sql: str, params=()) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def _history_rows(site_id: int, user_id: int) -> None:
    """A creation row in the trail for every record of the site's participants, as the
    services would have written it (the generator writes the records with plain SQL)."""
    for model in audited_models():
        path = participant_path(model)
        if path not in ("id", "participant_id"):
            continue
        history = get_history_model_for_model(model)
        columns = [
            f.column for f in history._meta.concrete_fields if not f.name.startswith("history_")
        ]
        where = (
            "t.site_id = %s"
            if path == "id"
            else ("t.participant_id IN (SELECT id FROM trial_participant WHERE site_id = %s)")
        )
        table, history_table = model._meta.db_table, history._meta.db_table
        names = ", ".join(connection.ops.quote_name(c) for c in columns)
        values = ", ".join(f"t.{connection.ops.quote_name(c)}" for c in columns)
        # Names and columns come from the models' metadata, never from input.
        _sql(
            f"""INSERT INTO {history_table} ({names}, history_date, history_type,
                 history_user_id, history_change_reason)
               SELECT {values}, now() - interval '380 days', '+', %s, NULL
               FROM {table} t WHERE {where}""",  # noqa: S608
            [user_id, site_id],
        )


def _corrections_and_queries(site_id: int, user_id: int) -> None:
    history = get_history_model_for_model(Participant._meta.apps.get_model("trial.ScreeningForm"))
    columns = [f.column for f in history._meta.concrete_fields if not f.name.startswith("history_")]
    names = ", ".join(connection.ops.quote_name(c) for c in columns)
    values = ", ".join(f"t.{connection.ops.quote_name(c)}" for c in columns)
    p = {"site": site_id, "user": user_id}
    _sql(
        f"""INSERT INTO {history._meta.db_table} ({names}, history_date, history_type,
             history_user_id, history_change_reason)
           SELECT {values}, now() - interval '370 days', '~', %(user)s,
             'diagnosis date corrected from the hospital chart'
           FROM trial_screeningform t JOIN trial_participant p ON p.id = t.participant_id
           WHERE p.site_id = %(site)s""",  # noqa: S608
        p,
    )
    _sql(
        """INSERT INTO trial_query (participant_id, target_model, target_id, field_name,
             visit_code, rule_code, state, value_when_raised, value_seen, raised_by_id,
             raised_at, state_changed_at, closed_by_id)
           SELECT t.participant_id, 'trial.ScreeningForm', t.id::text, 'diagnosis_date', '', '',
             'closed', '01/01/2024', '01/01/2024', %(user)s, now() - interval '372 days',
             now() - interval '369 days', %(user)s
           FROM trial_screeningform t JOIN trial_participant p ON p.id = t.participant_id
           WHERE p.site_id = %(site)s""",
        p,
    )
    for kind, text, days in (
        ("raised", "Please check the diagnosis date against the chart.", 372),
        ("answered", "Corrected from the hospital chart.", 370),
        ("closed", "Resolved.", 369),
    ):
        _sql(
            """INSERT INTO trial_querymessage (query_id, kind, text, author_id, written_at)
               SELECT q.id, %(kind)s, %(text)s, %(user)s, now() - %(days)s * interval '1 day'
               FROM trial_query q JOIN trial_participant p ON p.id = q.participant_id
               WHERE p.site_id = %(site)s""",
            {**p, "kind": kind, "text": text, "days": days},
        )


def _ensure_casebook_data(n: int, stdout) -> Site:
    fresh = not Participant.objects.filter(site__code=SITE_CODE).exists()
    _ensure_data(n, stdout, site_code=SITE_CODE)
    site = Site.objects.get(code=SITE_CODE)
    if fresh:
        from trial.models import User

        user_id = User.objects.get(username="benchmark-exports").pk
        start = time.perf_counter()
        with transaction.atomic():
            _history_rows(site.pk, user_id)
            _corrections_and_queries(site.pk, user_id)
        _sql("ANALYZE")
        stdout.write(
            f"Added trail rows, corrections and queries in {time.perf_counter() - start:.0f} s."
        )
    return site


def _status_mb(pid: int | str, field: str) -> float:
    """A memory field of /proc/<pid>/status (VmRSS: resident now; VmHWM: its peak since the
    process started its program); 0 once the process has ended."""
    try:
        lines = Path(f"/proc/{pid}/status").read_text().splitlines()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    kb = next((line.split()[1] for line in lines if line.startswith(f"{field}:")), "0")
    return int(kb) / 1024


def _children() -> list[str]:
    """This process's children: the archive's PDF worker."""
    me, found = str(os.getpid()), []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            # The command name, in parentheses, may hold spaces: the fields follow its end.
            ppid = stat.read_text().rsplit(")", 1)[1].split()[1]
        except (FileNotFoundError, ProcessLookupError, IndexError):
            continue
        if ppid == me:
            found.append(stat.parent.name)
    return found


def _render(site_id: int, queue) -> None:
    from django.conf import settings
    from django.db import connection as child_connection

    from trial.monitoring.casebook.render import site_archive_write

    connections.close_all()
    # Count the queries without keeping their text: a query log (DEBUG's, or a capture) grows
    # with every casebook and would be measured as the archive's memory.
    settings.DEBUG = False
    queries = [0]

    def count(execute, sql, params, many, context):
        queries[0] += 1
        return execute(sql, params, many, context)

    site = Site.objects.get(pk=site_id)
    marks: dict[int, tuple[float, float]] = {}
    # The workers' peak, taken after each casebook: getrusage's peak for children would
    # count this process's own size, which a child has for an instant before it runs Python.
    worker_peak = [0.0]

    def progress(done: int, total: int) -> None:
        workers = _children()
        worker_peak[0] = max([worker_peak[0], *(_status_mb(pid, "VmHWM") for pid in workers)])
        if done in {max(1, total // 4), max(1, total // 2), total}:
            marks[done] = (
                _status_mb("self", "VmRSS"),
                sum(_status_mb(pid, "VmRSS") for pid in workers),
            )

    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "archive.zip"
        start = time.perf_counter()
        with child_connection.execute_wrapper(count):
            rows = site_archive_write(site, language="en", target=target, progress=progress)
        seconds = time.perf_counter() - start
        size = target.stat().st_size
    usage = resource.getrusage(resource.RUSAGE_SELF)
    # The PDF workers, all ended and waited for by now.
    workers = resource.getrusage(resource.RUSAGE_CHILDREN)
    queue.put(
        {
            "seconds": seconds,
            # CPU time of the render: what it costs on a machine with a core to itself.
            "cpu": usage.ru_utime + usage.ru_stime + workers.ru_utime + workers.ru_stime,
            "peak_mb": usage.ru_maxrss / 1024,
            "worker_peak_mb": worker_peak[0],
            "marks": marks,
            "participants": len(rows),
            "pages": sum(r.pages for r in rows),
            "bytes": size,
            "queries": queries[0],
        }
    )


def run(stdout, participants: int = 200, **options) -> None:
    if connection.vendor != "postgresql":
        raise CommandError("The casebook benchmark needs PostgreSQL (DATABASE_URL).")
    site = _ensure_casebook_data(participants, stdout)
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    connections.close_all()
    child = ctx.Process(target=_render, args=(site.pk, queue))
    child.start()
    r = queue.get()
    child.join()
    marks = ", ".join(
        f"{n}: {own:.0f} + {worker:.0f} MB" for n, (own, worker) in sorted(r["marks"].items())
    )
    stdout.write(
        f"Site archive of {r['participants']} participants: {r['seconds']:.1f} s "
        f"({r['seconds'] / max(r['participants'], 1):.2f} s each; CPU {r['cpu']:.0f} s), "
        f"{r['pages']} pages, "
        f"ZIP {r['bytes'] / 1e6:.1f} MB, {r['queries']} queries "
        f"({r['queries'] / max(r['participants'], 1):.0f} per participant)\n"
        f"  peak RSS {r['peak_mb']:.0f} MB, PDF worker {r['worker_peak_mb']:.0f} MB; "
        f"resident (archive + PDF worker) after casebooks {marks}"
    )
