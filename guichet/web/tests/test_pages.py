import re
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.contrib.staticfiles import finders
from django.test import Client, override_settings
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext

pytestmark = pytest.mark.django_db

LANGUAGES = ["fr", "nl", "en", "de"]
PAGES = ["home", "help:index", "help:troubleshooting", "help:browsers", "help:contact"]
WEB = Path(__file__).resolve().parent.parent


class Tags(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[tuple[str, dict[str, str]]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append((tag, {name: value or "" for name, value in attrs}))


def tags_of(html: str) -> list[tuple[str, dict[str, str]]]:
    parser = Tags()
    parser.feed(html)
    return parser.tags


def url(name: str, language: str = "fr") -> str:
    with translation.override(language):
        return reverse(name)


@pytest.mark.parametrize("language", LANGUAGES)
def test_home_is_served_in_each_language_with_landmarks(client, language):
    response = client.get(url("home", language))

    assert response.status_code == 200
    assert f'<html lang="{language}">' in response.text
    names = [tag for tag, _attrs in tags_of(response.text)]
    for landmark in ["header", "nav", "main", "footer"]:
        assert landmark in names
    assert '<a class="skip-link" href="#main">' in response.text
    assert '<main id="main" tabindex="-1">' in response.text


def test_home_links_to_help_and_contact_but_not_yet_to_a_login(client):
    response = client.get(url("home", "en"))

    hrefs = {attrs.get("href") for tag, attrs in tags_of(response.text) if tag == "a"}
    assert {"/en/help/", "/en/help/#first-logon", "/en/help/troubleshooting/", "/en/help/contact/"} <= hrefs
    assert "Log in" not in response.text


def test_home_shows_the_branding(client, settings):
    settings.GUICHET_BRAND_COLOUR = "#0a5c36"
    settings.GUICHET_BRAND_ACCENT = "#6b2c91"

    response = client.get(url("home", "en"))

    assert "Welcome to Banque Aubépine" in response.text
    assert ":root { --brand: #0a5c36; --accent: #6b2c91; }" in response.text
    assert '<img src="/static/web/img/logo.svg" alt="" width="40" height="40">' in response.text


def test_language_switcher_is_a_labelled_form_that_works_without_javascript(client):
    response = client.get(url("help:browsers", "de"))

    assert '<form class="language-switcher" action="/i18n/setlang/" method="post">' in response.text
    with translation.override("de"):
        label = gettext("Language")
    assert label == "Sprache"
    assert f'<label for="language-select">{label}</label>' in response.text
    assert '<input name="next" type="hidden" value="/de/help/browsers/">' in response.text
    options = [attrs for tag, attrs in tags_of(response.text) if tag == "option"]
    assert [(o["value"], o["lang"]) for o in options] == [(code, code) for code in LANGUAGES]
    assert [o["value"] for o in options if "selected" in o] == ["de"]


def test_choosing_a_language_redirects_to_the_same_page_in_that_language(client):
    response = client.post("/i18n/setlang/", {"language": "nl", "next": "/fr/help/contact/"})

    assert response.status_code == 302
    assert response.headers["Location"] == "/nl/help/contact/"


# --- Content Security Policy --------------------------------------------------------------


def csp_nonce(response) -> str:
    policy = response.headers["Content-Security-Policy"]
    script_src = next(part for part in policy.split(";") if part.strip().startswith("script-src"))
    [nonce] = re.findall(r"'nonce-([^']+)'", script_src)
    assert f"'nonce-{nonce}'" in next(p for p in policy.split(";") if p.strip().startswith("style-src"))
    return nonce


@pytest.mark.parametrize("name", PAGES)
def test_every_script_and_style_carries_the_nonce_and_nothing_is_inline(client, name):
    response = client.get(url(name))

    nonce = csp_nonce(response)
    tags = tags_of(response.text)
    scripts_and_styles = [attrs for tag, attrs in tags if tag in {"script", "style"}]
    assert len(scripts_and_styles) == 3  # htmx, guichet.js, the branding colours
    assert [attrs["nonce"] for attrs in scripts_and_styles] == [nonce] * 3
    assert [attrs.get("src") for attrs in scripts_and_styles if "src" in attrs] == [
        "/static/web/vendor/htmx.min.js",
        "/static/web/js/guichet.js",
    ]
    inline = [
        (tag, attrs) for tag, attrs in tags if "style" in attrs or any(a.startswith("on") for a in attrs)
    ]
    assert inline == []


def test_each_response_gets_a_fresh_nonce(client):
    assert csp_nonce(client.get(url("home"))) != csp_nonce(client.get(url("home")))


def test_nothing_is_loaded_from_another_site():
    """No CDN, web font or tracker: every asset is ours."""
    sources = [
        *WEB.glob("templates/**/*.html"),
        *WEB.glob("static/web/css/*.css"),
        *WEB.glob("static/web/js/*.js"),
    ]
    for source in sources:
        text = source.read_text()
        assert not re.search(r"(src|href)=\"(https?:)?//", text), source
        assert not re.search(r"url\(\s*['\"]?(https?:)?//", text), source
        assert "@import" not in text, source


def test_static_assets_exist():
    for path in ["web/css/guichet.css", "web/js/guichet.js", "web/img/logo.svg", settings.GUICHET_LOGO]:
        assert finders.find(path), path


def test_stylesheet_honours_reduced_motion_and_shows_focus():
    css = (WEB / "static/web/css/guichet.css").read_text()

    assert "@media (prefers-reduced-motion: reduce)" in css
    assert ":focus-visible {\n  outline: 3px solid var(--focus);" in css


# --- Error pages --------------------------------------------------------------------------


@override_settings(DEBUG=False)
# Django's own catalogues translate this msgid.
@pytest.mark.parametrize(
    ("language", "heading"), [("fr", "Page non trouvée"), ("de", "Seite nicht gefunden")]
)
def test_unknown_page_renders_the_404_template(client, language, heading):
    response = client.get(f"/{language}/no-such-page/")

    assert response.status_code == 404
    assert [t.name for t in response.templates][:2] == ["web/errors/404.html", "web/errors/_error.html"]
    assert f'<html lang="{language}">' in response.text
    assert f"<h1>{heading}</h1>" in response.text
    assert "Content-Security-Policy" in response.headers


@pytest.mark.parametrize(("handler", "status"), [("bad_request", 400), ("permission_denied", 403)])
def test_400_and_403_pages(rf, handler, status):
    from guichet.web import views

    request = rf.get("/fr/")
    request.csp_nonce = "test-nonce"

    # Called directly, past LocaleMiddleware: activate the language it would take from "/fr/",
    # rather than render in whatever language an earlier test left active in this thread.
    with translation.override("fr"):
        response = getattr(views, handler)(request, Exception())
        code = gettext("Error %(code)s") % {"code": status}

    assert code == f"Erreur {status}"
    assert response.status_code == status
    assert '<html lang="fr">' in response.content.decode()
    assert f'<p class="error-code">{code}</p>' in response.content.decode()


def boom(request):
    raise RuntimeError("boom")


def broken_context_processor(request):
    raise RuntimeError("a context processor failed")


@override_settings(DEBUG=False)
def test_server_error_renders_the_500_page():
    from django.urls import path

    import guichet.urls

    urlconf = type("Urls", (), {"urlpatterns": [path("boom/", boom)], "handler500": guichet.urls.handler500})
    with override_settings(ROOT_URLCONF=urlconf):
        response = Client(raise_request_exception=False).get("/boom/")

    with translation.override("fr"):  # /boom/ has no language prefix: the default language
        heading = gettext("Something went wrong on our side")
    assert heading == "Une erreur s'est produite de notre côté"
    assert response.status_code == 500
    assert f"<h1>{heading}</h1>" in response.content.decode()
    assert f"<code>{response.headers['X-Request-ID']}</code>" in response.content.decode()


@override_settings(DEBUG=False)
def test_500_page_renders_even_when_a_context_processor_fails():
    templates = [{**settings.TEMPLATES[0]}]
    templates[0]["OPTIONS"] = {
        **templates[0]["OPTIONS"],
        "context_processors": [
            *templates[0]["OPTIONS"]["context_processors"],
            "guichet.web.tests.test_pages.broken_context_processor",
        ],
    }
    with override_settings(TEMPLATES=templates):
        response = Client(raise_request_exception=False).get("/fr/no-such-page/")

    assert response.status_code == 500
    body = response.content.decode()
    with translation.override("fr"):
        heading = gettext("Something went wrong on our side")
    assert heading == "Une erreur s'est produite de notre côté"
    assert '<html lang="fr">' in body
    assert f"<h1>{heading}</h1>" in body
    assert "Banque Aubépine" in body
