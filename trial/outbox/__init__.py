"""The transactional outbox: background work that survives a broker outage.

A write that needs follow-up work (an e-mail, a PDF, an export) records a PendingTask row in
its own transaction (``trial.outbox.services.task_enqueue``). After the commit the row is
published to Celery with a short timeout; if the broker is down the row simply stays pending
and the sweeper (beat job ``trial.outbox_sweep``, command ``manage.py outbox_sweep``, or the
in-process sweep of the embedded default) publishes it later. The worker marks the row done.

Kept free of imports: trial/models.py imports the model from here while apps load.
"""
