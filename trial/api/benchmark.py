"""Benchmark of the web API: `python manage.py api_benchmark --participants N`.

Builds N participants with complete follow-up (the exports benchmark's builder,
trial/exports/benchmark.py), starts a real HTTP server in a subprocess (``runserver
--noreload --nothreading``: one process, so its peak RSS is the server's), pulls every page of
the long records of every form through ``/api/v1/records/`` as a client would, and reports the
time, the rows, the server's peak RSS (``VmHWM`` of /proc/<pid>/status) before and after the
pull, and the time of the CSV export of the same rows (the exports benchmark's CSV part, in a
forked process). Needs PostgreSQL. Not a test: nothing here asserts a time.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from django.conf import settings
from django.core.management.base import CommandError
from django.db import connection, connections

from trial.exports import benchmark as export_benchmark

USERNAME = "benchmark-exports"  # the user the exports benchmark's builder creates


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (peak) of a process, in MB."""
    out = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _sep, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            out[key] = int(value.split()[0]) // 1024
    return out


def _get(url: str, secret: str) -> dict:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {secret}"})  # noqa: S310 - our own local server
    with urllib.request.urlopen(request, timeout=600) as response:  # noqa: S310
        return json.load(response)


def _wait_until_up(base: str, secret: str, server: subprocess.Popen) -> None:
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise CommandError("The benchmark server stopped; see its output above.")
        try:
            _get(f"{base}/api/v1/metadata/", secret)
            return
        except OSError:
            time.sleep(0.5)
    raise CommandError("The benchmark server did not answer within two minutes.")


def _pull(base: str, secret: str, forms: list[str], page_size: int, server_pid: int) -> dict:
    rows = pages = 0
    peak_rss = 0
    start = time.perf_counter()
    for form in forms:
        url: str | None = f"{base}/api/v1/records/?form={form}&shape=long&page_size={page_size}"
        while url:
            page = _get(url, secret)
            rows += len(page["results"])
            pages += 1
            url = page["next"]
            peak_rss = max(peak_rss, _status(server_pid)["VmRSS"])
    return {"seconds": time.perf_counter() - start, "rows": rows, "pages": pages,
            "rss_sampled_max": peak_rss}  # fmt: skip


def run(stdout, participants: int = 10_000, page_size: int | None = None, **options) -> None:
    from trial.api.services import api_token_create
    from trial.api.views import _forms
    from trial.models import User

    if connection.vendor != "postgresql":
        raise CommandError("The API benchmark needs PostgreSQL (DATABASE_URL).")
    export_benchmark._ensure_data(participants, stdout)
    user = User.objects.get(username=USERNAME)
    _token, secret = api_token_create(user=user, name="benchmark", scopes=["read"], days=1)
    forms = [e.identifier for e in _forms()]
    page_size = page_size or settings.API_MAX_PAGE_SIZE
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {**os.environ, "API_RATE": "100000/min", "DEBUG": "1"}
    connections.close_all()
    server = subprocess.Popen(  # noqa: S603 - our own manage.py
        [sys.executable, "manage.py", "runserver", "--noreload", "--nothreading", str(port)],
        cwd=settings.BASE_DIR,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        _wait_until_up(base, secret, server)
        before = _status(server.pid)
        result = _pull(base, secret, forms, page_size, server.pid)
        after = _status(server.pid)
    finally:
        server.terminate()
        server.wait(timeout=30)
    stdout.write(
        f"API pull of the long records of {len(forms)} forms, {participants} participants, "
        f"{page_size} per page: {result['seconds']:.1f} s, {result['pages']} pages, "
        f"{result['rows']} rows ({result['rows'] / result['seconds']:.0f} rows/s)\n"
        f"  server peak RSS (VmHWM): {before['VmHWM']} MB after the first request, "
        f"{after['VmHWM']} MB after the pull; largest RSS sampled between pages "
        f"{result['rss_sampled_max']} MB"
    )
    csv = export_benchmark._run_csv_part()
    stdout.write(
        f"CSV export of the same forms (long files + analysis file): {csv['seconds']:.1f} s, "
        f"peak RSS {csv['rss_mb']:.0f} MB -> the API pull takes "
        f"{result['seconds'] / csv['seconds']:.2f}x as long"
    )
