"""The weekly query digest: each hematology site's staff who answer queries get one e-mail
listing the site's queries not closed (trial number, form, item, age in days; oldest first)
with a link to the site's query list. Trial numbers only: an e-mail leaves the system's
access control, so no name or CPR number is ever in it.

Once per site and week, however often it runs: ``query_digests_queue`` creates a
``QueryDigest`` row per site (unique site and week) and, with it, the outbox job that sends
it (so a broker outage delays the digest, never loses it); ``query_digest_send`` claims the
row by a conditional update before sending, and a failed send undoes the claim for the
retry. A site without queries not closed gets no row and no e-mail.
"""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db import transaction
from django.db.models import Q
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation

from trial import access
from trial.models import Site, SiteKind, User
from trial.monitoring import items as catalogue
from trial.monitoring import selectors
from trial.monitoring.models import Query, QueryDigest
from trial.outbox.services import task_enqueue

logger = logging.getLogger(__name__)

QUERY_DIGEST_SEND_TASK = "trial.query_digest_send"


def week_start_of(day: dt.date) -> dt.date:
    return day - dt.timedelta(days=day.weekday())


def sites_with_open_queries():
    return Site.objects.filter(
        kind=SiteKind.HEMATOLOGY,
        pk__in=Query.objects.filter(state__in=selectors.OPEN_STATES).values("participant__site_id"),
    ).order_by("code")


def query_digests_queue(*, today: dt.date | None = None) -> dict[str, int]:
    """Create this week's digest of every site with queries not closed, each with its outbox
    job; a site that has its digest for the week already is left alone."""
    week_start = week_start_of(today or timezone.localdate())
    queued = 0
    sites = list(sites_with_open_queries())
    for site in sites:
        with transaction.atomic():
            digest, created = QueryDigest.objects.get_or_create(site=site, week_start=week_start)
            if created:
                task_enqueue(
                    name=QUERY_DIGEST_SEND_TASK,
                    args=[digest.pk],
                    dedup_key=f"query-digest:{site.pk}:{week_start.isoformat()}",
                )
                queued += 1
    return {"sites": len(sites), "queued": queued}


def recipients(site: Site):
    """Active staff with an address whose role answers queries (``trial.access``), members of
    the site or of its surgical partner (the surgeons who assess its patients)."""
    return (
        access.staff_for("query_answer")
        .exclude(email="")
        .filter(Q(memberships__site=site) | Q(memberships__site_id=site.surgical_partner_id))
        .distinct()
        .order_by("pk")
    )


def language_of(user: User) -> str:
    """The recipient's language when staff have one, else the trial's."""
    return getattr(user, "language", "") or settings.LANGUAGE_CODE


def _form_label(model_label: str) -> str:
    source = catalogue.source_for(model_label)
    return str(source.form_label) if source else model_label


def _rows(user: User, site: Site, now: dt.datetime) -> list[dict]:
    # The recipient's own worklist (their site scope through trial.access), oldest first.
    return [
        {
            "trial_number": q.participant.trial_number,
            "form": _form_label(q.target_model),
            "item": catalogue.item_label(q.target_model, q.field_name),
            "visit": q.visit_code,
            "state": q.get_state_display(),
            "days": (now - q.raised_at).days,
        }
        for q in selectors.query_list(user, site_id=site.pk)
    ]


def _message(user: User, site: Site, week_start: dt.date, now: dt.datetime):
    rows = _rows(user, site, now)
    if not rows:
        return None, 0
    with translation.override(language_of(user)):
        context = {
            "site": site,
            "week_start": week_start,
            "rows": rows,
            "count": len(rows),
            "url": settings.SITE_URL + reverse("trial:query_list") + f"?site={site.pk}",
        }
        subject = render_to_string("trial/monitoring/email/digest_subject.txt", context).strip()
        body = render_to_string("trial/monitoring/email/digest_body.txt", context)
    return EmailMessage(subject=subject, body=body, to=[user.email]), len(rows)


def query_digest_send(*, digest_id: int) -> bool:
    """Claim and send one site's digest; False when it is claimed already (a second run, a
    duplicate delivery). Claim and send share a transaction: a failed send undoes the claim
    so the task's retry sends it."""
    now = timezone.now()
    with transaction.atomic():
        claimed = QueryDigest.objects.filter(pk=digest_id, claimed_at=None, sent_at=None).update(
            claimed_at=now
        )
        if claimed != 1:
            return False
        digest = QueryDigest.objects.select_related("site").get(pk=digest_id)
        messages, count = [], 0
        for user in recipients(digest.site):
            message, n = _message(user, digest.site, digest.week_start, now)
            if message is not None:
                messages.append(message)
                count = max(count, n)
        if messages:
            get_connection().send_messages(messages)
        else:
            logger.warning("Query digest of site %s: nobody to send it to", digest.site.code)
        QueryDigest.objects.filter(pk=digest_id).update(
            sent_at=timezone.now(), query_count=count, recipient_count=len(messages)
        )
    return True
