"""Shared fixtures.

Browser tests drive Debian's Chromium (``/usr/bin/chromium``) with Playwright
against pytest-django's ``live_server``; never a browser downloaded by
``playwright install``. When Chromium or axe-core is missing the browser tests
are skipped, except in CI (``CI=true``) where they fail: a CI run must not
pass by silently testing less.

A browser test is marked ``@pytest.mark.browser`` and
``@pytest.mark.xdist_group("browser")`` so that, under
``pytest -n 2 --dist loadgroup``, one worker runs them all with one Chromium.
"""

import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

ROOT = Path(__file__).resolve().parent
CHROMIUM = Path("/usr/bin/chromium")
AXE_JS = ROOT / "node_modules" / "axe-core" / "axe.min.js"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
WCAG_21_AA = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]
# Only the schemes that reach a server; data: and blob: URLs stay in the page.
_NETWORK_SCHEMES = {"http", "https", "ws", "wss"}


def pytest_configure(config: pytest.Config) -> None:
    # Declared by pytest-xdist; repeated here so that `-p no:xdist` runs pass --strict-markers.
    config.addinivalue_line("markers", "xdist_group(name): run all tests of the group on one xdist worker")


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("postgres"):
        from django.conf import settings

        if settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql":
            pytest.skip("needs PostgreSQL: set DATABASE_URL=postgres://…")


def _missing(what: str, remedy: str) -> None:
    if os.environ.get("CI", "").strip().lower() == "true":
        pytest.fail(f"{what}, and CI=true makes browser tests mandatory; {remedy}", pytrace=False)
    pytest.skip(f"{what}: browser tests skipped; {remedy}")


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        _missing("Debian's chromium is not installed", "apt-get install chromium")
    # Playwright's sync API keeps an asyncio loop running in this thread for as
    # long as it is open, which makes Django refuse ORM calls from the test
    # ("SynchronousOnlyOperation"). The tests are plain synchronous code, and
    # the browser lives for the whole session, so the override does too.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture(scope="session")
def axe_source() -> str:
    if not AXE_JS.exists():
        _missing(f"axe-core is not installed ({AXE_JS} is missing)", "run `npm install` in the repository")
    return AXE_JS.read_text(encoding="utf-8")


class PageWatch:
    """What a page did that a test wants to rule out: third-party requests, CSP or script errors."""

    def __init__(self, server_url: str) -> None:
        self.origin = urlsplit(server_url).netloc
        self.urls: list[str] = []
        self.errors: list[str] = []

    def attach(self, page: Any) -> None:
        page.on("request", lambda request: self.urls.append(request.url))
        page.on("pageerror", lambda error: self.errors.append(f"uncaught: {error}"))
        page.on("console", self._console)

    def _console(self, message: Any) -> None:
        if message.type == "error" and "Content Security Policy" in message.text:
            self.errors.append(f"CSP: {message.text}")

    def third_party_urls(self) -> list[str]:
        return [
            url
            for url in self.urls
            if urlsplit(url).scheme in _NETWORK_SCHEMES and urlsplit(url).netloc != self.origin
        ]


def assert_first_party_only(watch: PageWatch) -> None:
    """Every request the page made went to the live server: no CDN, font or tracker."""
    assert watch.urls, "the page made no request at all"
    assert watch.third_party_urls() == [], f"requests left for a third party: {watch.third_party_urls()}"


NewPage = Callable[..., Any]


@pytest.fixture
def new_page(browser: Any, live_server: Any) -> Iterator[NewPage]:
    """Opens a page in a fresh browser context; keyword arguments go to ``new_context``.

    After the test, each page must have talked only to the live server and
    raised no CSP violation nor uncaught script error.
    """
    opened: list[tuple[Any, PageWatch]] = []

    def open_page(**context_options: Any) -> Any:
        context_options.setdefault("base_url", live_server.url)
        context = browser.new_context(**context_options)
        context.set_default_timeout(10_000)
        page = context.new_page()
        watch = PageWatch(live_server.url)
        watch.attach(page)
        page.watch = watch
        opened.append((context, watch))
        return page

    yield open_page
    for context, _watch in opened:
        context.close()
    for _context, watch in opened:
        assert_first_party_only(watch)
        assert watch.errors == [], f"the page reported errors: {watch.errors}"


@pytest.fixture
def page(new_page: NewPage) -> Any:
    """A desktop page with JavaScript and the site's CSP enforced."""
    return new_page(viewport={"width": 1280, "height": 900})


@pytest.fixture
def axe_page(new_page: NewPage, axe_source: str) -> Any:
    """A page whose context bypasses CSP, so that axe-core can be injected into it.

    The site's strict CSP (scripts need the server's nonce) would otherwise
    block the injected script. Only the axe checks use this context.
    """
    return new_page(viewport={"width": 1280, "height": 900}, bypass_csp=True)


def _format_violations(violations: list[dict[str, Any]]) -> str:
    lines = []
    for violation in violations:
        lines.append(f"- {violation['id']} ({violation['impact']}): {violation['help']}")
        lines.extend(f"    {node['target']}: {node['failureSummary']}" for node in violation["nodes"])
    return "\n".join(lines)


@pytest.fixture
def axe_check(axe_source: str) -> Callable[[Any], None]:
    """Asserts that the page in its current state has no WCAG 2.1 A/AA violation."""

    def check(page: Any) -> None:
        from playwright.sync_api import Error as PlaywrightError

        # A form just submitted may still be navigating: the script would land in a document being
        # replaced (no <head> yet). Wait for the page to load, and once more if it was replaced.
        page.wait_for_load_state("load")
        try:
            page.add_script_tag(content=axe_source)
        except PlaywrightError:
            page.wait_for_load_state("load")
            page.add_script_tag(content=axe_source)
        result = page.evaluate(
            "tags => axe.run(document, {runOnly: {type: 'tag', values: tags}})",
            WCAG_21_AA,
        )
        violations = result["violations"]
        assert violations == [], f"axe-core found WCAG 2.1 A/AA violations on {page.url}:\n" + (
            _format_violations(violations)
        )

    return check
