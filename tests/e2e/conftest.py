"""Browser tests: Debian's chromium driven by playwright against a live server. No browser is
ever downloaded; without /usr/bin/chromium these tests are skipped and say why."""

import os
import shutil
from contextlib import contextmanager

import pytest

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Playwright's sync API runs an event loop in this thread; the ORM calls the tests make
# between page actions are synchronous and safe here.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture(scope="session")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.skip("chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            args=[
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
            ],
        )
        yield browser
        browser.close()


def _watch_csp(page) -> list[str]:
    """Chromium reports every resource or inline code the Content-Security-Policy blocked on
    the console; a page that needs something the policy forbids is broken for real users."""
    violations: list[str] = []
    page.on(
        "console",
        lambda msg: violations.append(msg.text) if "Content Security Policy" in msg.text else None,
    )
    return violations


@contextmanager
def browser_page(browser, *, locale: str = "en-US", width: int = 390, height: int = 844):
    """A page in a fresh browser context; the test fails if the CSP blocked anything on it."""
    context = browser.new_context(locale=locale, viewport={"width": width, "height": height})
    page = context.new_page()
    violations = _watch_csp(page)
    yield page
    context.close()
    assert violations == [], "the Content-Security-Policy blocked something"


@pytest.fixture
def page(browser):
    """A borrower's phone."""
    with browser_page(browser) as page:
        yield page


@pytest.fixture
def admin_page(browser):
    """A staff member's desktop browser."""
    with browser_page(browser, width=1400, height=900) as page:
        yield page


@pytest.fixture
def registration_codes():
    """The codes the portal asks to text to unregistered numbers (the live server runs in this
    process, so a receiver here hears them), newest last."""
    from loans import signals

    codes = []

    def capture(sender, mobile, code, request_id, **kwargs):
        codes.append((mobile, code))

    signals.registration_code_requested.connect(capture, dispatch_uid="e2e-registration-codes")
    yield codes
    signals.registration_code_requested.disconnect(dispatch_uid="e2e-registration-codes")
