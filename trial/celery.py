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
