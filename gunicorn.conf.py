"""gunicorn's settings for the web container (Dockerfile and docker-compose.yml use it).

The access log goes to standard output through trial.logscrub.GunicornLogger, which cuts
patient link tokens (/q/<token>/) to a short prefix: a full token in a log would let anyone
who reads the log answer a patient's questionnaire.
"""

bind = "0.0.0.0:8000"
workers = 3
accesslog = "-"
logger_class = "trial.logscrub.GunicornLogger"
