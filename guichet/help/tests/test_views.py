from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from django.utils import translation
from django.utils.html import escape
from django.utils.translation import gettext
from django_tasks_db.models import DBTaskResult

from guichet.audit.models import AuditEvent
from guichet.help import ratelimit
from guichet.help.models import ContactMessage
from guichet.help.tests.html import element_by_id, elements
from guichet.notifications.models import Message

pytestmark = pytest.mark.django_db

LANGUAGES = ["fr", "nl", "en", "de"]
PAGES = ["help:index", "help:troubleshooting", "help:browsers", "help:contact", "help:contact_sent"]
VALID = {
    "name": "Camille  Martin",
    "email": "camille.martin@example.com",
    "reference": " CC100001 ",
    "topic": "payments",
    "message": "Mon deuxième prélèvement a été pris deux fois.",
    "website": "",
}


def url(name: str, language: str = "fr") -> str:
    with translation.override(language):
        return reverse(name)


def stored() -> tuple[int, int, int, int]:
    """Rows written by a submission: messages, audit events, notifications, delivery tasks."""
    return (
        ContactMessage.objects.count(),
        AuditEvent.objects.count(),
        Message.objects.count(),
        DBTaskResult.objects.count(),
    )


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("name", PAGES)
def test_every_help_page_is_served_in_each_language(client, name, language):
    response = client.get(url(name, language))

    assert response.status_code == 200
    assert f'<html lang="{language}">' in response.text
    assert response.headers["Content-Language"] == language


def test_urls_carry_the_language_prefix():
    assert [url(name, "nl") for name in PAGES] == [
        "/nl/help/",
        "/nl/help/troubleshooting/",
        "/nl/help/browsers/",
        "/nl/help/contact/",
        "/nl/help/contact/sent/",
    ]


def test_faq_covers_the_four_seeds(client):
    response = client.get(url("help:index", "en"))

    for anchor in ["first-logon", "users", "invoices", "pay-later", "security"]:
        assert element_by_id(response.content, anchor)
    for text in [
        "temporary password",
        "one-time code by SMS",
        "Read and accept the user agreement.",
        "consultation, management and/or validation rights",
        "one invitation per number",
        "shared with nobody until you tick it",
        "be a Visa or Mastercard card;",
        "expire after your last scheduled instalment;",
        "at least 7 days before the next debit",
        "or in 2 or 3 monthly payments, the first one today",
    ]:
        assert text in response.text


def test_troubleshooting_covers_seed_000(client):
    response = client.get(url("help:troubleshooting", "en"))

    for text in [
        "<strong>Forgot your User ID?</strong>",
        "<strong>Reset logon credentials</strong>",
        "the e-mail address we have on file for you may need to be updated",
        "the mobile phone number we have on file may be wrong",
    ]:
        assert text in response.text


def test_troubleshooting_links_to_the_recovery_and_consumer_flows(client):
    response = client.get(url("help:troubleshooting", "en"))

    for name in [
        "identity:forgot_user_id",
        "identity:reset_credentials",
        "identity:consumer_first_login",
        "account_reset_password",
        "help:contact",
    ]:
        assert f'href="{url(name, "en")}"' in response.text, name


def test_browsers_lists_the_four_browsers(client):
    response = client.get(url("help:browsers", "en"))

    for browser in ["Microsoft Edge", "Google Chrome", "Apple Safari", "Mozilla Firefox"]:
        assert f"<li>{browser}</li>" in response.text


# --- Contact page: channels and opening hours ---------------------------------------------


def freeze(monkeypatch, moment: datetime) -> None:
    monkeypatch.setattr("guichet.help.views.institution_now", lambda: moment)


@pytest.mark.parametrize(
    ("language", "monday", "sunday"),
    [
        ("fr", "Lundi", "Dimanche"),
        ("nl", "Maandag", "Zondag"),
        ("en", "Monday", "Sunday"),
        ("de", "Montag", "Sonntag"),
    ],
)
def test_opening_hours_use_django_weekday_names_in_each_language(
    client, monkeypatch, language, monday, sunday
):
    freeze(monkeypatch, datetime(2026, 3, 4, 10, 0, tzinfo=ZoneInfo("Europe/Brussels")))  # a Wednesday

    response = client.get(url("help:contact", language))

    assert f'<th scope="row">{monday}</th>' in response.text
    assert f'<th scope="row">{sunday}</th>' in response.text


def test_contact_page_says_which_channels_are_open_now(client, monkeypatch):
    freeze(monkeypatch, datetime(2026, 3, 7, 18, 30, tzinfo=ZoneInfo("Europe/Brussels")))  # Saturday 18:30

    response = client.get(url("help:contact", "en"))

    statuses = [
        attrs["class"] for attrs in elements(response.content, "p") if "status" in attrs.get("class", "")
    ]
    assert statuses == [
        "status status-closed",  # chat: Saturday until 18:00
        "status status-closed",  # WhatsApp
        "status status-closed",  # contact form
        "status status-open",  # chatbot, 24/7
        "status status-open",  # FAQ, 24/7
    ]
    assert response.text.count("Opens on Monday at 9 a.m.<") == 3
    assert response.text.count("Available 24 hours a day, 7 days a week") == 2


def test_contact_page_shows_open_now_and_today_in_the_institution_time_zone(client, monkeypatch):
    freeze(monkeypatch, datetime(2026, 3, 4, 9, 0, tzinfo=ZoneInfo("Europe/Brussels")))

    response = client.get(url("help:contact", "fr"))

    with translation.override("fr"):
        open_now = gettext("Open now")
        today = gettext("today")
        weekdays = gettext("%(start)s to %(end)s") % {"start": "09:00", "end": "20:00"}
        saturday = gettext("%(start)s to %(end)s") % {"start": "09:00", "end": "18:00"}
    assert (open_now, today, weekdays) == ("Ouvert en ce moment", "aujourd'hui", "de 09:00 à 20:00")
    assert response.text.count(f'<p class="status status-open">{open_now}</p>') == 3
    assert response.text.count('<tr class="today">') == 3
    assert f'<th scope="row">Mercredi <span class="visually-hidden">({today})</span></th>' in response.text
    assert f"<td>{weekdays}</td>" in response.text
    assert f"<td>{saturday}</td>" in response.text


def test_contact_page_says_when_a_closed_channel_opens_today_or_tomorrow(client, monkeypatch, settings):
    settings.GUICHET_CONTACT_CHANNELS = [
        {"kind": "phone", "hours": {"wed": "14:00-17:00", "thu": "09:00-12:00"}},
        {"kind": "email", "hours": {"thu": "08:00-12:00"}},
    ]
    freeze(monkeypatch, datetime(2026, 3, 4, 10, 0, tzinfo=ZoneInfo("Europe/Brussels")))

    response = client.get(url("help:contact", "en"))

    assert "Opens today at 2 p.m.<" in response.text
    assert "Opens tomorrow at 8 a.m.<" in response.text
    assert 'Call us on <a href="tel:+3225550100">+32 2 555 01 00</a>.' in response.text
    assert (
        'Write to us at <a href="mailto:contact@aubepine.example">contact@aubepine.example</a>.'
        in response.text
    )


# --- Contact form -------------------------------------------------------------------------


def test_form_fields_are_labelled_and_described(client):
    response = client.get(url("help:contact", "en"))

    labels = {attrs["for"] for attrs in elements(response.content, "label")}
    assert {"id_name", "id_email", "id_reference", "id_topic", "id_message", "language-select"} <= labels
    assert element_by_id(response.content, "id_email")["aria-describedby"] == "id_email_helptext"
    assert element_by_id(response.content, "id_message")["maxlength"] == "2000"
    assert element_by_id(response.content, "id_email")["autocomplete"] == "email"
    assert "aria-invalid" not in element_by_id(response.content, "id_name")


def test_valid_message_is_stored_audited_and_acknowledged_then_redirects(client):
    response = client.post(url("help:contact", "nl"), VALID)

    assert response.status_code == 302
    assert response.headers["Location"] == "/nl/help/contact/sent/"
    assert stored() == (1, 1, 1, 1)
    message = ContactMessage.objects.get()
    assert (message.name, message.email, message.customer_reference) == (
        "Camille Martin",
        "camille.martin@example.com",
        "CC100001",
    )
    assert (message.topic, message.language, message.status) == ("payments", "nl", "new")
    assert message.message == VALID["message"]
    event = AuditEvent.objects.get()
    assert (event.action, event.actor_id, event.target_type, event.target_id) == (
        "help.contact_message_submitted",
        None,
        "help.contactmessage",
        str(message.pk),
    )
    assert event.details == {"topic": "payments"}
    notification = Message.objects.get()
    assert (notification.recipient, notification.template, notification.language) == (
        "camille.martin@example.com",
        "help_contact_received",
        "nl",
    )
    assert notification.idempotency_key == f"help-contact-{message.pk}:email"


def test_thank_you_page_shows_the_reference_once(client):
    client.post(url("help:contact", "en"), VALID)
    tracking_number = ContactMessage.objects.get().tracking_number

    first = client.get(url("help:contact_sent", "en"))
    again = client.get(url("help:contact_sent", "en"))

    assert f"Your reference is <strong>{tracking_number}</strong>." in first.text
    assert tracking_number not in again.text
    assert "Thank you, your message has been sent" in again.text


@pytest.mark.parametrize(
    ("change", "field", "error"),
    [
        ({"email": "camille.martin"}, "email", "Saisissez une adresse e-mail valide."),
        ({"message": ""}, "message", "Ce champ est obligatoire."),
        ({"message": "   "}, "message", "Ce champ est obligatoire."),
        (
            {"message": "x" * 2001},
            "message",
            "Assurez-vous que cette valeur comporte au plus 2000 caractères (actuellement 2001).",
        ),
        ({"topic": "mortgage"}, "topic", "Sélectionnez un choix valide. mortgage n\u2019en fait pas partie."),
        ({"name": ""}, "name", "Ce champ est obligatoire."),
        (
            {"message": "Ma carte 4111 1111 1111 1111 est bloquée."},
            "message",
            # Ours, from the project catalogue; the apostrophe is escaped like any error message.
            escape(
                "Veuillez retirer le numéro de carte de votre message\u00a0: nous n'en avons jamais besoin."
            ),
        ),
    ],
)
def test_invalid_message_stores_and_sends_nothing_and_shows_the_translated_error(
    client, change, field, error
):
    response = client.post(url("help:contact", "fr"), {**VALID, **change})

    assert response.status_code == 200
    assert stored() == (0, 0, 0, 0)
    widget = element_by_id(response.content, f"id_{field}")
    assert widget["aria-invalid"] == "true"
    assert f"id_{field}_error" in widget["aria-describedby"].split()
    assert element_by_id(response.content, f"id_{field}_error")["class"] == "errorlist"
    assert f'<ul class="errorlist" id="id_{field}_error"><li>{error}</li></ul>' in response.text
    assert f'<a href="#id_{field}">' in response.text  # the summary links to the field
    summary = element_by_id(response.content, "error-summary-title")
    assert summary == {"id": "error-summary-title"}
    assert '<div class="error-summary" role="alert" tabindex="-1" data-focus-on-load' in response.text
    with translation.override("fr"):
        title = f"{gettext('Error:')} {gettext('Contact us')}"
    assert title == "Erreur\u00a0: Nous contacter"
    assert f"<title>{title} · " in response.text


def test_a_long_but_acceptable_message_is_stored(client):
    client.post(url("help:contact", "en"), {**VALID, "message": "x" * 2000, "reference": ""})

    assert ContactMessage.objects.get().customer_reference == ""


def test_a_filled_honeypot_pretends_success_and_stores_nothing(client):
    response = client.post(url("help:contact", "en"), {**VALID, "website": "https://spam.example"})

    assert response.status_code == 302
    assert response.headers["Location"] == "/en/help/contact/sent/"
    assert stored() == (0, 0, 0, 0)


def test_honeypot_is_hidden_by_a_class_not_an_inline_style(client):
    response = client.get(url("help:contact", "en"))

    assert '<div class="hp"><label for="id_website">' in response.text
    assert element_by_id(response.content, "id_website")["tabindex"] == "-1"
    assert [attrs for attrs in elements(response.content) if "style" in attrs] == []


def test_too_many_messages_from_one_address_are_refused(client, monkeypatch):
    monkeypatch.setattr(ratelimit, "PER_EMAIL", 2)
    for _ in range(2):
        assert client.post(url("help:contact", "en"), VALID).status_code == 302

    response = client.post(url("help:contact", "en"), VALID)

    assert response.status_code == 429
    assert "You have sent several messages in a short time." in response.text
    assert stored() == (2, 2, 2, 2)
    other = client.post(url("help:contact", "en"), {**VALID, "email": "someone.else@example.com"})
    assert other.status_code == 302


def test_too_many_messages_from_one_network_address_are_refused(client, monkeypatch):
    monkeypatch.setattr(ratelimit, "PER_ADDRESS", 1)
    client.post(url("help:contact", "en"), VALID)

    response = client.post(url("help:contact", "en"), {**VALID, "email": "someone.else@example.com"})

    assert response.status_code == 429
    assert ContactMessage.objects.count() == 1


def test_behind_the_proxy_the_network_limit_is_per_client(client, monkeypatch, settings):
    settings.GUICHET_TRUSTED_PROXY_COUNT = 1
    monkeypatch.setattr(ratelimit, "PER_ADDRESS", 1)
    proxy = {"REMOTE_ADDR": "10.0.0.1"}
    first = client.post(url("help:contact", "en"), VALID, **proxy, HTTP_X_FORWARDED_FOR="203.0.113.9")

    other_client = client.post(
        url("help:contact", "en"),
        {**VALID, "email": "someone.else@example.com"},
        **proxy,
        HTTP_X_FORWARDED_FOR="198.51.100.7",
    )
    same_client = client.post(
        url("help:contact", "en"),
        {**VALID, "email": "a.third@example.com"},
        **proxy,
        HTTP_X_FORWARDED_FOR="198.51.100.66, 203.0.113.9",  # a forged entry does not reset the count
    )

    assert [first.status_code, other_client.status_code, same_client.status_code] == [302, 302, 429]
    assert ContactMessage.objects.count() == 2


def test_the_form_needs_a_csrf_token():
    from django.test import Client

    response = Client(enforce_csrf_checks=True).post(url("help:contact", "en"), VALID)

    assert response.status_code == 403
    assert stored() == (0, 0, 0, 0)


@pytest.mark.parametrize("name", ["help:index", "help:troubleshooting", "help:browsers", "help:contact_sent"])
def test_read_only_pages_refuse_post(client, name):
    assert client.post(url(name, "en")).status_code == 405
