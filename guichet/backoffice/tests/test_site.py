import re
from html.parser import HTMLParser

import pytest
from django.test import Client

from guichet.audit.services import record
from guichet.backoffice.checks import app_order_warnings
from guichet.backoffice.tests.factories import make_advisor, make_customer, make_superuser

pytestmark = pytest.mark.django_db


class InlineCode(HTMLParser):
    """Collects what a strict CSP would block: inline scripts and styles without the nonce."""

    def __init__(self, nonce: str) -> None:
        super().__init__()
        self.nonce = nonce
        self.blocked: list[str] = []
        self.nonced = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if any(name.startswith("on") or name == "style" for name in attributes):
            self.blocked.append(f"<{tag} {attrs}>")
        is_inline_script = tag == "script" and "src" not in attributes
        is_data_block = attributes.get("type") == "application/json"
        if (is_inline_script and not is_data_block) or tag == "style":
            if attributes.get("nonce") == self.nonce:
                self.nonced += 1
            else:
                self.blocked.append(f"<{tag} {attrs}>")
        if any((value or "").startswith("javascript:") for value in attributes.values()):
            self.blocked.append(f"<{tag} {attrs}>")


def staff_client(user) -> Client:
    client = Client(HTTP_ACCEPT_LANGUAGE="en")
    client.force_login(user)
    return client


def test_the_back_office_carries_the_institutions_name_and_colours(settings) -> None:
    # (The login page is the customer space's own: see test_login.py.)
    response = staff_client(make_advisor()).get("/backoffice/")
    html = response.content.decode()

    assert response.status_code == 200
    assert "<title>Dashboard | Banque Aubépine back office</title>" in html
    assert '<a href="/backoffice/">Banque Aubépine back office</a>' in html
    assert '<link rel="stylesheet" href="/static/backoffice/css/admin.css">' in html
    assert f"--guichet-brand: {settings.GUICHET_BRAND_COLOUR};" in html


def test_the_dashboard_has_no_password_link() -> None:
    html = staff_client(make_superuser()).get("/backoffice/").content.decode()

    assert "Dashboard" in html
    assert "password_change" not in html
    assert "Change password" not in html


@pytest.mark.parametrize("url", ["/backoffice/password_change/", "/backoffice/password_change/done/"])
def test_nobody_changes_a_password_in_the_back_office(url: str) -> None:
    superuser = make_superuser()
    password = superuser.password

    responses = [staff_client(superuser).get(url), staff_client(superuser).post(url, {})]

    assert [response.status_code for response in responses] == [403, 403]
    superuser.refresh_from_db()
    assert superuser.password == password


def test_admin_pages_run_under_the_strict_csp() -> None:
    superuser, customer = make_superuser(), make_customer()
    event = record(action="user.created", actor=superuser, target=customer)
    client = staff_client(superuser)
    urls = [
        "/backoffice/",
        "/backoffice/identity/user/",
        "/backoffice/identity/user/add/",
        f"/backoffice/identity/user/{customer.pk}/change/",
        f"/backoffice/identity/user/{customer.pk}/history/",
        "/backoffice/audit/auditevent/",
        f"/backoffice/audit/auditevent/{event.pk}/change/",
        "/backoffice/auth/group/",
    ]

    for url in [*urls, "/backoffice/logout/"]:
        response = client.get(url) if url != "/backoffice/logout/" else client.post(url)
        header = response["Content-Security-Policy"]
        nonce = re.search(r"'nonce-([^']+)'", header).group(1)
        parser = InlineCode(nonce)
        parser.feed(response.content.decode())

        assert response.status_code == 200, url
        assert "script-src 'self' 'nonce-" in header
        assert (parser.blocked, parser.nonced) == ([], 1), url


@pytest.mark.parametrize(
    ("installed_apps", "warning_ids"),
    [
        (["guichet.backoffice", "django.contrib.admin"], []),
        (["django.contrib.admin", "guichet.backoffice"], ["backoffice.W001"]),
        (["guichet.backoffice"], []),
    ],
)
def test_the_app_order_check(installed_apps: list[str], warning_ids: list[str]) -> None:
    assert [warning.id for warning in app_order_warnings(installed_apps=installed_apps)] == warning_ids


def test_advisors_see_the_dashboard_with_their_models_only() -> None:
    response = staff_client(make_advisor()).get("/backoffice/")

    assert response.status_code == 200
    models = [model["object_name"] for app in response.context["app_list"] for model in app["models"]]
    assert sorted(models) == [
        "ActivationCode",
        "AgreementAcceptance",
        "AuditEvent",
        "Batch",
        "Card",
        "ContactMessage",
        "Customer",
        "CustomerNumber",
        "Document",
        "Entity",
        "ExportFile",
        "GrantChange",
        "Invitation",
        "Issuer",
        "Merchant",
        "Order",
        "Payment",
        "Person",
        "PrintBatch",
        "ProvisioningImport",
        "RegularisationPlan",
        "Schedule",
        "Transaction",
        "Transfer",
        "User",
        "UserAgreement",
    ]
