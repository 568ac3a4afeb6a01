"""Browser tests: Debian's chromium driven by playwright against a live server. No browser is
ever downloaded; without /usr/bin/chromium these tests are skipped and say why."""

import os
import shutil

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


@pytest.fixture
def page(browser):
    context = browser.new_context(locale="en-US", viewport={"width": 390, "height": 844})
    page = context.new_page()
    violations = _watch_csp(page)
    yield page
    context.close()
    assert violations == [], "the Content-Security-Policy blocked something"


@pytest.fixture
def admin_page(browser):
    """A staff member's desktop browser."""
    context = browser.new_context(locale="en-US", viewport={"width": 1400, "height": 900})
    page = context.new_page()
    violations = _watch_csp(page)
    yield page
    context.close()
    assert violations == [], "the Content-Security-Policy blocked something"
