import json
import math
from pathlib import Path

import pytest
from django.template import engines
from django.template.utils import get_app_template_dirs
from hypothesis import given
from hypothesis import strategies as st

from guichet.notifications.rendering import render_notification
from guichet.notifications.sms import sms_segments
from guichet.notifications.sms.segments import GSM7_BASIC

LANGUAGES = ["fr", "nl", "en", "de"]


@pytest.mark.parametrize(
    ("text", "segments"),
    [
        ("", 0),
        ("a", 1),
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("é" * 160, 1),  # é, è, à, ù are in the GSM-7 basic set
        ("€" * 80, 1),  # the extension table counts double
        ("€" * 81, 2),
        ("a" * 159 + "[", 2),
        ("a" * 152 + "€" + "a" * 152, 3),  # an escape sequence is never split across segments
        ("ê" * 70, 1),  # ê is not GSM-7: the whole text goes UCS-2
        ("ê" * 71, 2),
        ("a" * 133 + "ç", 2),
        ("ê" * 134, 2),
        ("ê" * 135, 3),
        ("😀" * 35, 1),  # one surrogate pair is two UCS-2 units
        ("😀" * 36, 2),  # 33 per concatenated segment, never split
        ("😀" * 67, 3),
    ],
)
def test_sms_segments(text: str, segments: int) -> None:
    assert sms_segments(text) == segments


@given(st.text(alphabet=sorted(GSM7_BASIC), min_size=1, max_size=1000))
def test_basic_gsm7_text_takes_160_then_153_characters_per_segment(text: str) -> None:
    expected = 1 if len(text) <= 160 else math.ceil(len(text) / 153)
    assert sms_segments(text) == expected


def _shipped_sms_templates() -> list[Path]:
    roots = [*get_app_template_dirs("templates"), *map(Path, engines["django"].engine.dirs)]
    return sorted({path for root in roots for path in Path(root).glob("notifications/*/sms.txt")})


def test_some_sms_templates_are_shipped() -> None:
    assert "test_message" in [path.parent.name for path in _shipped_sms_templates()]


@pytest.mark.parametrize("sms_template", _shipped_sms_templates(), ids=lambda path: path.parent.name)
@pytest.mark.parametrize("language", LANGUAGES)
def test_every_shipped_sms_fits_its_segment_budget(sms_template: Path, language: str) -> None:
    # Given the worst-case context its author declared next to it
    sample_file = sms_template.parent / "sample.json"
    assert sample_file.exists(), f"{sample_file} is missing: declare a worst-case context and budget"
    sample = json.loads(sample_file.read_text(encoding="utf-8"))

    # When the SMS is rendered in the language
    rendered = render_notification(
        template=sms_template.parent.name, context=sample["context"], language=language, channels=["sms"]
    )

    # Then it fits in its budget (one segment unless declared otherwise)
    assert sms_segments(rendered.sms) <= sample.get("sms_segments", 1), rendered.sms
