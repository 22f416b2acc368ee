"""Where signatures show outside their own pages: the participant page's panel, the
hematologist's home card ("casebooks to sign again"), and the audit trail's sentences."""

from __future__ import annotations

from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from trial import access
from trial.concurrency import person
from trial.models import Participant
from trial.monitoring import signatures
from trial.monitoring.signature_models import SignatureState
from trial.protocol.visits import visit_codes
from trial.registry import AuditStory


def signatures_context(request, participant: Participant) -> dict:
    if not access.can(request.user, "trial:signature_list", method="GET"):
        return {}
    standing = [
        s
        for s in signatures.participant_signatures(participant)
        if s.state != SignatureState.SUPERSEDED
    ]
    may_sign = access.can(request.user, "trial:signature_sign", participant)
    if not standing and not may_sign:
        return {}
    rows = [
        {
            "signature": s,
            "records": ngettext("%(n)s record", "%(n)s records", len(s.manifest))
            % {"n": len(s.manifest)},
            "form_label": signatures.form_label(s.renewal_model),
            "changed_by": person(s.renewal_by) or _("the system"),
        }
        for s in standing
    ]
    return {
        "participant": participant,
        "rows": rows,
        "renew": any(s.state == SignatureState.NEEDS_RENEWAL for s in standing),
        "may_sign": may_sign,
        "visit_codes": visit_codes(),
    }


def renewal_card(user) -> dict | None:
    """For the site's hematologists: signatures that data changed under, to sign again."""
    waiting = signatures.renewals_waiting(user)
    if not waiting:
        return None
    return {
        "url": reverse("trial:signature_list") + f"?state={SignatureState.NEEDS_RENEWAL}",
        "title": _("Casebooks to sign again"),
        "text": ngettext(
            "%(n)s signature needs renewal: data changed after signing",
            "%(n)s signatures need renewal: data changed after signing",
            waiting,
        )
        % {"n": waiting},
        "level": "warning",
    }


def _subject(row) -> str:
    if row.visit_code:
        return _("Signature of visit %(visit)s") % {"visit": row.visit_code}
    return _("Signature of the casebook")


def _records(value, row) -> list[tuple[str, str]]:
    return [(label, str(n)) for label, n in signatures.manifest_summary(value if value else [])]


STORY = AuditStory(
    model="trial.Signature",
    subject=_subject,
    values={"manifest": _records},
)


def condition_casebook_signed(participants) -> dict[int, str]:
    """A condition of locking a participant (trial.monitoring.locks): the investigator has
    signed the whole casebook, and nothing signed has changed since."""
    signed = signatures.casebooks_signed([p.pk for p in participants])
    message = _(
        "The casebook is not signed by the investigator, or has changed since it was signed."
    )
    return {p.pk: message for p in participants if p.pk not in signed}
