"""The documents journey in Chromium: list → filter → sort → customer number → open → request a
duplicate → its download link; with JavaScript (htmx updates the list and the address bar) and
without. axe finds no WCAG 2.1 AA violation, and a 320 px wide phone needs no sideways scrolling."""

import datetime
import re
from decimal import Decimal

import pytest
from django.conf import settings
from django.test import Client
from django.urls import reverse
from django.utils import translation
from playwright.sync_api import expect

from guichet.documents.models import Document, DocumentKind, DocumentRead, Duplicate
from guichet.documents.testing import make_document
from guichet.documents.tests.test_list import make_cast

pytestmark = [
    pytest.mark.browser,
    pytest.mark.xdist_group("browser"),
    pytest.mark.django_db(transaction=True),
]


def url(name: str, *args: object) -> str:
    with translation.override("en"):
        return reverse(name, args=args or None)


def log_in(page, live_server, user) -> None:
    client = Client()
    client.force_login(user)
    key = client.cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies([{"name": settings.SESSION_COOKIE_NAME, "value": key, "url": live_server.url}])


def fill(cast) -> Document:
    start = datetime.date(2026, 10, 1)
    for n in range(60):
        make_document(
            cast.mine if n % 2 else cast.other_mine,
            number=f"F2026-{n:04d}",
            issue_date=start - datetime.timedelta(days=n),
            amount=Decimal(100 + n),
            with_pdf=n % 10 != 0,
        )
    for n, amount in enumerate(["80.00", "40.00", "60.00"]):
        make_document(
            cast.other_mine,
            number=f"CN2026-{n}",
            kind=DocumentKind.CREDIT_NOTE,
            issue_date=start - datetime.timedelta(days=3 * n),
            amount=Decimal(amount),
        )
    return Document.objects.get(number="CN2026-1")


def rows(page):
    return page.locator("#documents tbody tr")


def test_list_filter_sort_open_and_request_a_duplicate(page, new_page, axe_page, axe_check, live_server):
    cast = make_cast()
    target = fill(cast)
    log_in(page, live_server, cast.user)

    page.goto(url("documents:list"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Documents")
    expect(rows(page)).to_have_count(50)
    expect(page.get_by_role("link", name="Next page")).to_be_visible()
    expect(rows(page).first).to_have_class("unread")

    # Filter on the type: htmx swaps the list and writes the filters into the address bar.
    page.get_by_label("Type").select_option("credit_note")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"kind=credit_note"))
    expect(rows(page)).to_have_count(3)
    expect(rows(page).locator("a")).to_have_text(["CN2026-0", "CN2026-1", "CN2026-2"])

    # Sort by amount, then again to reverse.
    page.get_by_role("link", name=re.compile(r"^Amount incl\. VAT")).click()
    expect(page).to_have_url(re.compile(r"sort=amount"))
    expect(rows(page).locator("a")).to_have_text(["CN2026-1", "CN2026-2", "CN2026-0"])
    expect(page.locator("th[aria-sort]")).to_have_attribute("aria-sort", "ascending")
    page.get_by_role("link", name=re.compile(r"^Amount incl\. VAT")).click()
    expect(page).to_have_url(re.compile(r"sort=-amount"))
    expect(rows(page).locator("a")).to_have_text(["CN2026-0", "CN2026-2", "CN2026-1"])

    # The customer-number drop-down above the amounts applies at once.
    htmx_ready(page, "#documents select")
    page.get_by_label("Customer number").select_option(label="DL2 123456")
    expect(page).to_have_url(re.compile(rf"customer={cast.mine.pk}"))
    expect(page.get_by_text("No document matches these filters.")).to_be_visible()
    htmx_ready(page, "#documents select")
    page.get_by_label("Customer number").select_option(label="DL5 654321")
    expect(rows(page)).to_have_count(3)

    # Open it: its page, then a duplicate, ready at once, with its download link.
    page.get_by_role("link", name=re.compile(r"^CN2026-1")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Credit note CN2026-1")
    assert DocumentRead.objects.filter(user=cast.user, document=target).exists()
    page.get_by_role("button", name="Request a duplicate").click()
    expect(page.get_by_text("Your duplicate is ready")).to_be_visible()
    duplicate = Duplicate.objects.get()
    link = page.get_by_role("link", name=re.compile(r"^Download the duplicate of"))
    expect(link).to_have_attribute("href", url("documents:duplicate", target.pk, duplicate.pk))
    download = page.request.get(link.get_attribute("href"))
    assert download.headers["content-type"] == "application/pdf"
    assert download.body().startswith(b"%PDF-")

    # Back on the list, the opened document is no longer bold.
    page.goto(url("documents:list") + "?kind=credit_note")
    expect(page.locator("#documents tbody tr:not(.unread) a")).to_have_text(["CN2026-1"])

    # axe: the list (plain, sorted and with a filter error) and a document's page.
    log_in(axe_page, live_server, cast.user)
    for path in (
        url("documents:list"),
        url("documents:list") + "?sort=-amount&kind=credit_note",
        url("documents:list") + "?amount_min=x",
        url("documents:detail", target.pk),
    ):
        axe_page.goto(path)
        axe_check(axe_page)

    # On a 320 px wide phone nothing scrolls sideways but the table's own box.
    phone = new_page(viewport={"width": 320, "height": 640})
    log_in(phone, live_server, cast.user)
    for path in (url("documents:list"), url("documents:detail", target.pk)):
        phone.goto(path)
        assert phone.evaluate("document.documentElement.scrollWidth") <= 320, path


def test_without_javascript_every_step_works(new_page, live_server):
    cast = make_cast()
    fill(cast)
    page = new_page(viewport={"width": 1280, "height": 900}, java_script_enabled=False)
    log_in(page, live_server, cast.user)

    page.goto(url("documents:list"))
    page.get_by_label("Document number").fill("f2026-005")
    page.get_by_role("button", name="Filter").click()
    expect(rows(page).locator("a")).to_have_text([f"F2026-{n:04d}" for n in range(50, 60)])
    page.get_by_role("link", name=re.compile(r"^Document number")).click()
    expect(page).to_have_url(re.compile(r"sort=number"))
    expect(rows(page).locator("a").first).to_have_text("F2026-0050")

    page.get_by_label("Customer number").select_option(label="DL2 123456")
    page.get_by_role("button", name="Show").click()
    expect(rows(page)).to_have_count(5)

    page.goto(url("documents:list"))
    page.get_by_role("link", name="Next page").click()
    expect(rows(page)).to_have_count(13)
    page.get_by_role("link", name="Previous page").click()
    expect(rows(page)).to_have_count(50)


def htmx_ready(page, selector: str) -> None:
    """Waits until htmx has processed an element swapped in (its triggers are bound only then: a change
    made a few milliseconds after the swap would otherwise go unheard)."""
    page.wait_for_function(
        "(s) => { const e = document.querySelector(s); return !!(e && e['htmx-internal-data'] "
        "&& e['htmx-internal-data'].initHash) && !document.querySelector('.htmx-request, .htmx-settling'); }",
        arg=selector,
    )
