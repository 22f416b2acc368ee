"""Casebooks as PDF (WeasyPrint): one participant's, and a site's archive of them in a ZIP.

Every render happens inside an explicit language and the trial's time zone; the page footer
says when it was generated, in UTC, and "page x of y", the header names the trial number.

The archive keeps its memory flat however many participants a site has. This process reads
the database and builds each casebook's HTML, one participant at a time; WeasyPrint turns the
HTML into PDF in a child process (``pdf_worker.PdfWorkers``) that is replaced after every
``CASEBOOK_ARCHIVE_BATCH`` documents (settings; 50). Each PDF comes back through a pipe and is
streamed into its ZIP entry while its SHA-256 is taken; only the index rows are kept.

Why a child: measured in one process, the resident size rose by about 0.25 MB a casebook
(250 MB after 50, 285 MB after 200). Python's heap stayed flat (tracemalloc), ``gc.collect()``
with glibc's ``malloc_trim(0)`` after each casebook did not stop the rise, the database reads
and templates without WeasyPrint stayed flat, and WeasyPrint alone laying out the same five
documents again and again rose alike: it is C memory that WeasyPrint's libraries (pango,
fontconfig, harfbuzz) keep between documents, out of this code's reach. A process that is
replaced gives it all back, whatever the library keeps.

Why ``subprocess`` and not a fork: the child starts fresh, so it shares no database socket,
no lock held by another thread of the parent (``make run`` renders in a request thread when
Celery runs eagerly) and no state of Django's; Celery's prefork pool processes are daemonic,
which ``multiprocessing`` refuses as parents, and ``subprocess`` does not care. The database
work stays in this process, inside its transaction: tests that run in a transaction (SQLite
or PostgreSQL) see their data, and the queries are counted where they are made. Starting a
child costs about a second, a fiftieth of a batch. A child that fails (WeasyPrint raises, or
it dies) raises ``PdfWorkerError`` here, and the run fails with its partial ZIP deleted.
One participant's casebook is rendered in this process: a single document leaves little.
"""

from __future__ import annotations

import csv
import datetime as dt
import hashlib
import io
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.template.loader import render_to_string
from django.utils import timezone, translation
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _

from trial.models import Participant, Site
from trial.monitoring.casebook.pdf_worker import PdfWorkers, Writable, pdf_write
from trial.monitoring.casebook.selectors import archive_participants, casebook_data


@dataclass(frozen=True)
class IndexRow:
    trial_number: str
    file_name: str
    pages: int
    size: int
    sha256: str


class _Digesting:
    """A write-only file that passes bytes on and keeps their SHA-256 and count."""

    def __init__(self, raw: Writable) -> None:
        self.raw = raw
        self.digest = hashlib.sha256()
        self.size = 0

    def write(self, data: bytes) -> int:
        self.digest.update(data)
        self.size += len(data)
        self.raw.write(data)
        return len(data)


def _generated_at() -> str:
    return timezone.now().astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def css_string(text: str) -> str:
    """``text`` as a quoted CSS string for the page boxes (header, footer): quotes,
    backslashes and line breaks escaped the CSS way, everything else as it is."""
    escaped = "".join(f"\\{ord(c):x} " if c in '"\\\n\r<>' else c for c in str(text))
    return mark_safe(f'"{escaped}"')  # noqa: S308 - every special character is escaped


def page_boxes(*, header: str, title: str, generated_at: str) -> dict:
    """The texts of the page margins, in the language active now."""
    return {
        "css_header": css_string(f"{settings.TRIAL_NAME} · {header}"),
        "css_title": css_string(title),
        "css_generated": css_string(_("Generated %(when)s") % {"when": generated_at}),
        "css_page": css_string(_("Page") + " "),
        "css_of": css_string(" " + _("of") + " "),
    }


def casebook_html(participant: Participant, *, language: str, identified: bool) -> str:
    """The casebook of ``participant`` as the HTML WeasyPrint lays out."""
    with translation.override(language), timezone.override(settings.TIME_ZONE):
        data = casebook_data(participant, identified=identified)
        generated_at = _generated_at()
        return render_to_string(
            "trial/monitoring/casebook/casebook_pdf.html",
            {
                "data": data,
                "participant": participant,
                "trial_name": settings.TRIAL_NAME,
                "generated_at": generated_at,
                **page_boxes(
                    header=participant.trial_number, title=_("Casebook"), generated_at=generated_at
                ),
                "time_zone": settings.TIME_ZONE,
                "language": language,
            },
        )


def casebook_render(
    participant: Participant, *, language: str, identified: bool, out: Writable
) -> int:
    """Write the casebook of ``participant`` as a PDF to ``out``; returns its page count."""
    html = casebook_html(participant, language=language, identified=identified)
    return pdf_write(html, out, base_url=str(settings.BASE_DIR))


def casebook_bytes(participant: Participant, *, language: str, identified: bool) -> bytes:
    out = io.BytesIO()
    casebook_render(participant, language=language, identified=identified, out=out)
    return out.getvalue()


INDEX_HEADER = ["trial_number", "file", "pages", "bytes", "sha256"]


def _index_html(site: Site, rows: list[IndexRow], *, language: str) -> str:
    with translation.override(language), timezone.override(settings.TIME_ZONE):
        generated_at = _generated_at()
        return render_to_string(
            "trial/monitoring/casebook/index_pdf.html",
            {
                "site": site,
                "rows": rows,
                "trial_name": settings.TRIAL_NAME,
                "generated_at": generated_at,
                **page_boxes(header=site.code, title=_("Site archive"), generated_at=generated_at),
                "pages": sum(r.pages for r in rows),
            },
        )


def site_archive_write(
    site: Site,
    *,
    language: str,
    target: Path,
    progress: Callable[[int, int], None] | None = None,
) -> list[IndexRow]:
    """Write the site's archive to ``target``: one pseudonymised casebook per participant,
    ``index.csv`` and ``index.pdf`` listing each file's pages and SHA-256. ``progress(done,
    total)`` is called after each casebook. Raises ``PdfWorkerError`` when a render fails."""
    participants = archive_participants(site)
    total = participants.count()
    rows: list[IndexRow] = []
    workers = PdfWorkers(base_url=str(settings.BASE_DIR), batch=settings.CASEBOOK_ARCHIVE_BATCH)
    with workers, zipfile.ZipFile(target, "w", zipfile.ZIP_STORED, allowZip64=True) as zf:
        # One participant at a time, not a queryset held whole: iterator() keeps no cache.
        for number, participant in enumerate(participants.iterator(chunk_size=100), start=1):
            html = casebook_html(participant, language=language, identified=False)
            name = f"casebooks/{participant.trial_number}.pdf"
            with zf.open(name, "w", force_zip64=True) as entry:
                sink = _Digesting(entry)
                pages = workers.render(html, sink)
            rows.append(
                IndexRow(participant.trial_number, name, pages, sink.size, sink.digest.hexdigest())
            )
            if progress is not None:
                progress(number, total)
        with zf.open("index.csv", "w") as raw, io.TextIOWrapper(raw, "utf-8", newline="") as text:
            writer = csv.writer(text, lineterminator="\n")
            writer.writerow(INDEX_HEADER)
            writer.writerows((r.trial_number, r.file_name, r.pages, r.size, r.sha256) for r in rows)
        with zf.open("index.pdf", "w") as raw:
            workers.render(_index_html(site, rows, language=language), raw)
    return rows
