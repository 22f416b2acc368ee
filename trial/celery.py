"""The Celery app. Beat's schedule lives in settings (CELERY_BEAT_SCHEDULE).

Start a worker:  celery -A trial worker -l info
Start beat:      celery -A trial beat -l info
Without REDIS_URL the tasks run eagerly in-process (the embedded default).
"""

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "trial.settings")

app = Celery("trial")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


# The one retry policy of the tasks that send a message. Celery retries only on the exceptions
# named in autoretry_for (max_retries alone does nothing), and only a service that raises when
# sending fails -- undoing its claim first, so the retry sends again -- can be retried:
# smtplib's errors and a refused connection are OSErrors. The backoff doubles from a minute,
# with jitter, so a mail server that is down for a while is not hammered by every worker at once.
MESSAGE_RETRY = {
    "autoretry_for": (OSError,),
    "retry_backoff": 60,
    "retry_backoff_max": 60 * 60,
    "retry_jitter": True,
    "max_retries": 5,
}
