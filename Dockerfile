# Production image: gunicorn serving Django, also used for the Celery worker and beat.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
RUN apt-get update \
 && apt-get install -y --no-install-recommends libpango-1.0-0 libpangoft2-1.0-0 \
    fonts-dejavu-core gettext curl \
 && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY requirements.txt .
RUN pip install -r requirements.txt
COPY . .
# Build-time only values so that collectstatic and compilemessages can import the settings.
RUN SECRET_KEY=build-only DEBUG=0 python manage.py collectstatic --no-input \
 && SECRET_KEY=build-only DEBUG=0 python manage.py compilemessages --ignore '.venv/*'
RUN useradd --system --home /app vertebra && mkdir -p /data/media \
 && chown -R vertebra /app /data/media
USER vertebra
EXPOSE 8000
# gunicorn.conf.py: bind, workers, and an access log with patient link tokens cut short.
CMD ["gunicorn", "trial.wsgi:application", "--config", "gunicorn.conf.py"]
