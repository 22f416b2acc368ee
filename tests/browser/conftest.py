"""Playwright fixtures for the browser tests: Debian's Chromium, one browser per session.

The tests drive the real login (password and TOTP code) against pytest-django's
``live_server``; DJANGO_ALLOW_ASYNC_UNSAFE (tests/conftest.py) lets the ORM run beside
Playwright's event loop in the test thread.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from django.utils import translation
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Page, expect

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
PASSWORD = "smoke-test-pass-2026"


@pytest.fixture
def staff(world):
    """The personas of tests/conftest.py with a known password."""
    for user in [*world.users.values(), world.outsider]:
        user.set_password(PASSWORD)
        user.save(update_fields=["password"])
    return world.users


@pytest.fixture(scope="session")
def browser():
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install chromium (make test does this)")
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
    yield browser
    browser.close()
    playwright.stop()


@pytest.fixture
def context(browser):
    # A browser in a Danish hospital: Danish first, Copenhagen time.
    context = browser.new_context(locale="da-DK", timezone_id="Europe/Copenhagen")
    context.set_default_timeout(15_000)
    yield context
    context.close()


@pytest.fixture
def console_errors() -> list[str]:
    return []


@pytest.fixture
def page(context, console_errors):
    page = context.new_page()
    page.on("console", lambda msg: msg.type == "error" and console_errors.append(msg.text))
    page.on("pageerror", lambda exc: console_errors.append(f"uncaught: {exc}"))
    yield page
    page.close()


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


# --- helpers the browser journeys share ---


def totp_code(key: bytes, *, step: int = 30, t0: int = 0, digits: int = 6, drift: int = 0) -> str:
    """The code an authenticator app shows now, as the user types it (leading zeros kept)."""
    totp = TOTP(key, step, t0, digits, drift)
    totp.time = time.time()
    return f"{totp.token():0{digits}d}"


def device_code(device: TOTPDevice) -> str:
    device.refresh_from_db()
    return totp_code(
        device.bin_key, step=device.step, t0=device.t0, digits=device.digits, drift=device.drift
    )


def danish(text) -> str:
    """``text`` (a message id or a lazy label) as the Danish interface shows it."""
    with translation.override("da"):
        return translation.gettext(str(text)) if isinstance(text, str) else str(text)


def english(text) -> str:
    with translation.override("en"):
        return translation.gettext(str(text)) if isinstance(text, str) else str(text)


def assert_styled(page: Page) -> None:
    """Bootstrap's CSS and JS and our own stylesheet are loaded and applied."""
    navbar = page.locator("nav.navbar")
    expect(navbar).to_have_css("display", "flex")  # Bootstrap
    expect(navbar).to_have_css("background-color", "rgb(31, 78, 121)")  # .bg-vertebra
    assert page.evaluate("typeof window.bootstrap") == "object", "Bootstrap's JS did not load"


def assert_no_csp_errors(console_errors: list[str]) -> None:
    csp = [text for text in console_errors if "Content Security Policy" in text]
    assert not csp, "content-security-policy violations:\n" + "\n".join(csp)


def submit_main_form(page: Page) -> None:
    # The header has a form of its own (language switch); the page's form is in <main>.
    page.locator("main form button[type=submit]").click()


def log_in(page: Page, base_url: str, username: str, code: str = "") -> None:
    page.goto(f"{base_url}/account/login/")
    page.locator("#id_username").fill(username)
    page.locator("#id_password").fill(PASSWORD)
    page.locator("#id_otp_token").fill(code)
    submit_main_form(page)


def login_as(page: Page, base: str, user, device: str = "app") -> None:
    """Log ``user`` in with a code of their authenticator ``device``; a second login of the
    same user within 30 s would replay the code, so it names a device of its own."""
    totp, _ = TOTPDevice.objects.get_or_create(user=user, name=device, confirmed=True)
    log_in(page, base, user.username, device_code(totp))
    page.wait_for_url(f"{base}/")


def log_out(page: Page) -> None:
    page.get_by_test_id("account-menu").locator("button").first.click()
    page.locator("nav form[action$='/account/logout/'] button").click()
