"""Thin, idempotent tasks of the randomisation app: ids in, a service call, nothing else."""

from __future__ import annotations

from celery import shared_task

from randomization import oversight, printing
from randomization.printing import BATCH_PDF_RENDER_TASK
from randomization.services import DEVIATION_NOTIFY_TASK, ENVELOPE_STOCK_CHECK_TASK
from trial.celery import MESSAGE_RETRY


# The service claims each alert in the transaction that sends it, so a retry after a refused
# send sends the alerts still pending and none twice. Twin: ``manage.py envelope_stock_check``.
@shared_task(name=ENVELOPE_STOCK_CHECK_TASK, **MESSAGE_RETRY)
def envelope_stock_check(stock_id: int | None = None) -> int:
    """Tell the coordinator about low envelope stock (once per crossing of the threshold)."""
    return oversight.envelope_stock_alerts_send(stock_id=stock_id)


@shared_task(name=DEVIATION_NOTIFY_TASK, **MESSAGE_RETRY)
def deviation_notify(deviation_id: int) -> bool:
    return oversight.deviation_notice_send(deviation_id=deviation_id)


# No retry: the service records any failure on the print, where the coordinator sees it.
@shared_task(name=BATCH_PDF_RENDER_TASK, time_limit=600)
def batch_pdf_render(print_id: int) -> bool:
    """Lay out a batch's inserts and labels (tens of seconds for a few hundred envelopes)."""
    return printing.batch_print_render(print_id=print_id)
