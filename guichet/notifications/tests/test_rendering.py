import copy
from datetime import date
from pathlib import Path
from typing import Any

import pytest

from guichet.notifications.error_codes import NotificationErrorCode
from guichet.notifications.exceptions import NotificationError
from guichet.notifications.rendering import Rendered, render_notification

PROBE_TEMPLATES = Path(__file__).parent / "templates"


@pytest.fixture
def probe_templates(settings: Any) -> None:
    templates = copy.deepcopy(settings.TEMPLATES)
    templates[0]["DIRS"] = [PROBE_TEMPLATES]
    settings.TEMPLATES = templates


@pytest.mark.parametrize(
    ("language", "month"),
    [("fr", "janvier"), ("nl", "januari"), ("en", "January"), ("de", "Januar")],
)
def test_every_part_is_rendered_in_the_language_asked(
    probe_templates: None, language: str, month: str
) -> None:
    # Given a template that shows the active language and a month name
    context = {"when": date(2026, 1, 15), "name": "Marie"}

    # When it is rendered for both channels
    rendered = render_notification(
        template="lang_probe", context=context, language=language, channels=["email", "sms"]
    )

    # Then every part was rendered inside that language
    assert rendered.subject == f"{language} {month}"
    assert rendered.text == f"{language} {month}\n"
    assert rendered.sms == f"{language} {month}"
    assert f'<html lang="{language}">' in rendered.html
    assert f"<p>{month} Marie</p>" in rendered.html


def test_the_shipped_test_message_renders_subject_text_html_and_sms() -> None:
    rendered = render_notification(
        template="test_message",
        context={"name": "Marie", "code": "123456"},
        language="en",
        channels=["email", "sms"],
    )

    assert rendered.subject == "Test message from Banque Aubépine"
    assert rendered.text == (
        "Hello Marie,\n\n"
        "This is a test message from Banque Aubépine. If you received it, messages reach you.\n\n"
        "Reference: 123456\n"
    )
    assert rendered.sms == "Banque Aubépine: test message for Marie. Reference 123456."
    assert "<p>Hello Marie,</p>" in rendered.html
    assert "background:#1d4e89;" in rendered.html  # the brand colour, inline: e-mail clients drop CSS
    assert "Reference: <strong>123456</strong>" in rendered.html


def test_text_is_not_html_escaped_but_html_is() -> None:
    rendered = render_notification(
        template="test_message",
        context={"name": "O'Brien & <Co>", "code": "1"},
        language="en",
        channels=["email"],
    )

    assert rendered.text.startswith("Hello O'Brien & <Co>,\n")
    assert "<p>Hello O&#x27;Brien &amp; &lt;Co&gt;,</p>" in rendered.html


def test_only_the_files_of_the_requested_channels_are_rendered() -> None:
    rendered = render_notification(
        template="test_message", context={"name": "Marie", "code": "1"}, language="en", channels=["sms"]
    )

    assert rendered == Rendered(sms="Banque Aubépine: test message for Marie. Reference 1.")


@pytest.mark.parametrize("template", ["no_such_template", "../secrets", "Test_Message", ""])
def test_an_unknown_or_malformed_template_is_a_domain_error(template: str) -> None:
    with pytest.raises(NotificationError) as raised:
        render_notification(template=template, context={}, language="en", channels=["email"])

    assert raised.value.code == NotificationErrorCode.UNKNOWN_TEMPLATE
