"""The errors every layer shares, and friendly error pages that never leak details and never
need the database."""

from django.shortcuts import render


class ServiceError(Exception):
    """An expected failure a user should see as a message, not as a 500."""


class DataLocked(ServiceError):
    """A write to data that a participant lock or the database lock keeps from changing.

    Raised by the write guard (trial.monitoring.locks) before anything is written; the
    message names the lock. Pages answer it with 403 and the message (trial.middleware)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


def bad_request(request, exception=None):
    return render(request, "errors/400.html", status=400)


def permission_denied(request, exception=None):
    return render(request, "errors/403.html", status=403)


def locked(request, message: str):
    return render(request, "errors/locked.html", {"message": message}, status=403)


def page_not_found(request, exception=None):
    return render(request, "errors/404.html", status=404)


def server_error(request):
    # No context processors that touch the database: the error may be the database itself.
    from django.http import HttpResponseServerError
    from django.template import loader

    return HttpResponseServerError(loader.get_template("errors/500.html").render({}))
