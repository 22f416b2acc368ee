"""WeasyPrint in a child process, for the site archive (render.py explains why).

The parent (``PdfWorkers``) starts ``python pdf_worker.py BASE_URL`` with ``subprocess``, sends
it HTML documents one at a time and reads back each PDF; after ``batch`` documents it closes
the child and starts a new one, so whatever WeasyPrint and its font stack keep between
documents is given back to the system with the process. The child imports WeasyPrint and the
standard library, never Django: it touches no database connection and needs no settings.

The pipe carries frames. A request is 8 bytes of length (big-endian) and the HTML in UTF-8.
The answer is ``P``, 4 bytes of page count, 8 bytes of length and the PDF; or ``E``, 8 bytes
of length and the child's traceback in UTF-8 when the render raised. A child that dies, or
answers anything else, is an error in the parent: the archive fails, it never hangs waiting.
"""

from __future__ import annotations

import io
import logging
import os
import struct
import subprocess
import sys
import traceback
from typing import IO, Protocol

_LENGTH = struct.Struct(">Q")
_PAGES = struct.Struct(">I")
_CHUNK = 1 << 16


class Writable(Protocol):
    def write(self, data: bytes, /) -> int: ...


class PdfWorkerError(RuntimeError):
    """The child failed to render a document, or stopped."""


def _read(stream: IO[bytes], size: int) -> bytes:
    data = stream.read(size)
    if data is None or len(data) != size:
        raise EOFError
    return data


def worker_start(base_url: str) -> subprocess.Popen[bytes]:
    """A new child, run by the parent's interpreter. ``-P``: the script's folder is not put on
    ``sys.path``, where ``selectors.py`` would hide the standard library's; ``close_fds``: the
    child inherits no socket of the parent's (its database connection stays the parent's)."""
    return subprocess.Popen(  # noqa: S603 - our interpreter, our script, a path of ours
        [sys.executable, "-P", os.path.abspath(__file__), base_url],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        close_fds=True,
    )


class PdfWorkers:
    """Renders HTML to PDF in a child process replaced after every ``batch`` documents.

    Use as a context manager: leaving it closes the last child and waits for it, or kills it
    when leaving on an error."""

    def __init__(self, *, base_url: str, batch: int) -> None:
        if batch < 1:
            raise ValueError("batch must be at least 1")
        self.base_url = base_url
        self.batch = batch
        self._child: subprocess.Popen[bytes] | None = None
        self._rendered = 0  # documents rendered by the current child

    def __enter__(self) -> PdfWorkers:
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        self._stop(kill=exc_type is not None)

    def _stop(self, *, kill: bool) -> None:
        child, self._child = self._child, None
        if child is None:
            return
        assert child.stdin is not None and child.stdout is not None
        try:
            if kill:
                child.kill()
            child.stdin.close()
        except BrokenPipeError:
            pass
        try:
            child.wait(timeout=30)
        except subprocess.TimeoutExpired:
            child.kill()
            child.wait()
        finally:
            child.stdout.close()
        if not kill and child.returncode != 0:
            raise PdfWorkerError(f"The PDF worker exited with code {child.returncode}.")

    def render(self, html: str, out: Writable) -> int:
        """Write ``html`` as a PDF to ``out``, in chunks; returns its page count."""
        if self._child is not None and self._rendered >= self.batch:
            self._stop(kill=False)
        if self._child is None:
            self._child = worker_start(self.base_url)
            self._rendered = 0
        child = self._child
        assert child.stdin is not None and child.stdout is not None
        data = html.encode()
        try:
            child.stdin.write(_LENGTH.pack(len(data)))
            child.stdin.write(data)
            child.stdin.flush()
            kind = _read(child.stdout, 1)
            if kind == b"E":
                (size,) = _LENGTH.unpack(_read(child.stdout, _LENGTH.size))
                message = _read(child.stdout, size).decode(errors="replace")
                raise PdfWorkerError(f"The PDF worker failed:\n{message}")
            if kind != b"P":
                raise PdfWorkerError(f"The PDF worker answered {kind!r}.")
            (pages,) = _PAGES.unpack(_read(child.stdout, _PAGES.size))
            (size,) = _LENGTH.unpack(_read(child.stdout, _LENGTH.size))
            while size:
                chunk = _read(child.stdout, min(size, _CHUNK))
                out.write(chunk)
                size -= len(chunk)
        except (BrokenPipeError, EOFError):
            code = child.wait(timeout=30)
            raise PdfWorkerError(f"The PDF worker stopped with code {code}.") from None
        self._rendered += 1
        return pages


def pdf_write(html: str, out: Writable, *, base_url: str) -> int:
    """Lay ``html`` out with WeasyPrint and write the PDF to ``out``; returns its page count.
    Both the child and render.py (a single casebook) call it."""
    from weasyprint import HTML

    document = HTML(string=html, base_url=base_url).render()
    document.write_pdf(out)
    return len(document.pages)


def _serve(base_url: str, requests: IO[bytes], answers: IO[bytes]) -> None:
    while header := requests.read(_LENGTH.size):
        (size,) = _LENGTH.unpack(header)
        html = _read(requests, size).decode()
        pdf = io.BytesIO()
        try:
            pages = pdf_write(html, pdf, base_url=base_url)
        except Exception:
            message = traceback.format_exc().encode()
            answers.write(b"E" + _LENGTH.pack(len(message)) + message)
        else:
            body = pdf.getbuffer()
            answers.write(b"P" + _PAGES.pack(pages) + _LENGTH.pack(len(body)))
            answers.write(body)
            del body  # a view on the buffer: released before the buffer goes
        answers.flush()


def main() -> None:
    # The answers keep the real stdout; anything a library prints goes to stderr instead of
    # into a frame.
    answers = os.fdopen(os.dup(sys.stdout.fileno()), "wb")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    # As the settings' LOGGING has it: WeasyPrint's and fontTools' warnings are noise.
    logging.basicConfig(level=logging.WARNING)
    for name in ("weasyprint", "fontTools"):
        logging.getLogger(name).setLevel(logging.ERROR)
    _serve(sys.argv[1], sys.stdin.buffer, answers)


if __name__ == "__main__":
    main()
