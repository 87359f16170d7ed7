import os
import tempfile
from pathlib import Path

import pytest

from conftest import TEST_REDIS_URL
from tests.e2e.stack import running_stack, sign_in

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
HOLD_TTL = 4


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/e2e" in str(item.fspath):
            item.add_marker(pytest.mark.e2e)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.when == "call":
        item.failed_call = report.failed


@pytest.fixture(scope="module")
def stack():
    with running_stack(redis_url=TEST_REDIS_URL, hold_ttl=HOLD_TTL, web_processes=2) as urls:
        yield urls


@pytest.fixture(scope="module")
def maildir():
    """A module's outbox: its stack sends email here (`mail_env`), `sent_email` reads it."""
    with tempfile.TemporaryDirectory() as path:
        yield Path(path)


@pytest.fixture(scope="module")
def mail_env(maildir):
    """The environment that makes a stack send its email into `maildir`."""
    return {"EMAIL_URL": f"file:///{maildir}"}  # dj-email-url drops one slash


@pytest.fixture(autouse=True)
def redis_db(redis_db):
    """The server shares the test Redis database: start every browser test with it empty."""
    return redis_db


@pytest.fixture(scope="module")
def browser():
    if not os.path.exists(CHROMIUM):
        pytest.skip(
            f"browser tests need Debian's chromium at {CHROMIUM} (apt-get install chromium)"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        yield browser
        browser.close()


@pytest.fixture
def open_page(browser, stack, request):
    """open_page(user, path) -> a signed-in page; screenshots of every page if the test fails."""
    pages = []

    def open_as(username: str, path: str, base: str | None = None):
        context = browser.new_context(viewport={"width": 1280, "height": 900})
        page = context.new_page()
        page.console_messages = []
        page.on("console", lambda message: page.console_messages.append(message))
        base = base or stack[0]
        sign_in(page, base=base, username=username, path=path)
        pages.append((username, page))
        return page

    yield open_as
    if getattr(request.node, "failed_call", False):
        ARTIFACTS.mkdir(exist_ok=True)
        for username, page in pages:
            page.screenshot(
                path=str(ARTIFACTS / f"{request.node.name}-{username}.png"), full_page=True
            )
    for _, page in pages:
        page.context.close()
