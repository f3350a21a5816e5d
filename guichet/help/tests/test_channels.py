from datetime import datetime, time
from zoneinfo import ZoneInfo

import pytest
from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from guichet.help.channels import ContactChannel, Opening, parse_contact_channels

BRUSSELS = ZoneInfo("Europe/Brussels")
WEEKDAYS_9_20 = {"mon": "09:00-20:00", "tue": "09:00-20:00", "sat": "09:00-18:00"}


def at(day: int, hour: int, minute: int = 0) -> datetime:
    """A moment in the week of Monday 2026-03-02, in Brussels."""
    return datetime(2026, 3, 2 + day, hour, minute, tzinfo=BRUSSELS)


def test_seed_003_defaults_parse_into_five_channels(settings):
    channels = parse_contact_channels(settings.GUICHET_CONTACT_CHANNELS)

    assert [c.kind for c in channels] == ["chat", "whatsapp", "contact_form", "chatbot", "faq"]
    assert channels[0].hours == {
        0: (Opening(time(9), time(20)),),
        1: (Opening(time(9), time(20)),),
        2: (Opening(time(9), time(20)),),
        3: (Opening(time(9), time(20)),),
        4: (Opening(time(9), time(20)),),
        5: (Opening(time(9), time(18)),),
    }
    assert channels[2].handled == "same_day"
    assert (channels[3].always_open, channels[4].always_open) == (True, True)


def test_a_day_may_have_several_ranges_kept_in_order():
    [channel] = parse_contact_channels([{"kind": "phone", "hours": {"mon": ["13:30-17:00", "08:30-12:00"]}}])

    assert channel.hours == {0: (Opening(time(8, 30), time(12)), Opening(time(13, 30), time(17)))}


@pytest.mark.parametrize(
    ("item", "problem"),
    [
        ({"kind": "fax", "hours": "24/7"}, "unknown kind 'fax'"),
        ({"hours": "24/7"}, "unknown kind None"),
        ({"kind": "chat", "hours": {"monday": "09:00-17:00"}}, "unknown day 'monday'"),
        ({"kind": "chat", "hours": {"mon": "9:00-17:00"}}, "bad range '9:00-17:00' for mon"),
        ({"kind": "chat", "hours": {"mon": "09:00-24:00"}}, "bad range '09:00-24:00' for mon"),
        ({"kind": "chat", "hours": {"mon": "17:00-09:00"}}, "bad range '17:00-09:00' for mon"),
        ({"kind": "chat", "hours": {"mon": "09:00-09:00"}}, "bad range '09:00-09:00' for mon"),
        ({"kind": "chat", "hours": {"mon": 9}}, "bad range 9 for mon"),
        ({"kind": "chat", "hours": {"mon": []}}, "empty or overlapping ranges for mon"),
        (
            {"kind": "chat", "hours": {"mon": ["09:00-13:00", "12:00-17:00"]}},
            "empty or overlapping ranges for mon",
        ),
        ({"kind": "chat", "hours": "24/24"}, '"hours" must be "24/7"'),
        ({"kind": "chat", "hours": "7/24"}, '"hours" must be "24/7"'),
        ({"kind": "chat", "hours": {}}, '"hours" must be "24/7"'),
        ({"kind": "chat"}, '"hours" must be "24/7"'),
        ({"kind": "chat", "hours": "24/7", "colour": "red"}, "unknown key(s) colour"),
        ({"kind": "contact_form", "hours": "24/7", "handled": "soon"}, '"handled" must be one of'),
        (
            {"kind": "chat", "hours": "24/7", "url": "http://chat.example"},
            '"url" must be an https:// address',
        ),
        ("chat", 'expected an object with "kind" and "hours"'),
    ],
)
def test_a_bad_item_is_refused_naming_the_setting_and_the_item(item, problem):
    channels = [{"kind": "faq", "hours": "24/7"}, item]

    with pytest.raises(ImproperlyConfigured) as error:
        parse_contact_channels(channels)

    message = str(error.value)
    assert message.startswith(f"Setting GUICHET_CONTACT_CHANNELS item 1 ({item!r}) is invalid: ")
    assert problem in message


def test_a_kind_may_appear_only_once():
    with pytest.raises(ImproperlyConfigured, match=r"item 1 .* kind 'faq' appears more than once"):
        parse_contact_channels([{"kind": "faq", "hours": "24/7"}, {"kind": "faq", "hours": "24/7"}])


def test_the_setting_must_be_a_list():
    with pytest.raises(
        ImproperlyConfigured, match=r"^Setting GUICHET_CONTACT_CHANNELS is invalid: expected a list"
    ):
        parse_contact_channels({"kind": "faq", "hours": "24/7"})


def test_a_bad_setting_stops_the_app_at_start():
    bad = [{"kind": "chat", "hours": {"mon": "09:00-25:00"}}]

    with override_settings(GUICHET_CONTACT_CHANNELS=bad), pytest.raises(ImproperlyConfigured) as error:
        apps.get_app_config("help").ready()

    assert "GUICHET_CONTACT_CHANNELS item 0" in str(error.value)
    assert "bad range '09:00-25:00' for mon" in str(error.value)


@pytest.mark.parametrize(
    ("moment", "open_now"),
    [
        (at(0, 8, 59), False),
        (at(0, 9, 0), True),
        (at(1, 19, 59), True),
        (at(1, 20, 0), False),  # the end time is the closing time
        (at(2, 12, 0), False),  # Wednesday is not configured: closed
        (at(5, 17, 59), True),
        (at(6, 12, 0), False),
    ],
)
def test_is_open_reads_the_hours_in_local_time(moment, open_now):
    [channel] = parse_contact_channels([{"kind": "chat", "hours": WEEKDAYS_9_20}])

    assert channel.is_open(moment) is open_now


def test_is_open_converts_other_time_zones_first():
    [channel] = parse_contact_channels([{"kind": "chat", "hours": WEEKDAYS_9_20}])
    utc_eight = datetime(2026, 3, 2, 8, 0, tzinfo=ZoneInfo("UTC"))  # 09:00 in Brussels (CET)

    assert channel.is_open(utc_eight.astimezone(BRUSSELS)) is True


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (at(0, 7, 0), at(0, 9, 0)),  # later today
        (at(0, 21, 0), at(1, 9, 0)),  # tomorrow
        (at(1, 21, 0), at(5, 9, 0)),  # Saturday, skipping the closed days
        (at(5, 19, 0), at(7, 9, 0)),  # over the weekend, to next Monday
    ],
)
def test_next_opening(moment, expected):
    [channel] = parse_contact_channels([{"kind": "chat", "hours": WEEKDAYS_9_20}])

    assert channel.next_opening(moment) == expected


def test_an_always_open_channel_is_open_at_any_time():
    channel = ContactChannel(kind="faq", hours=None)

    assert [channel.is_open(at(6, 23, 59)), channel.is_open(at(0, 0, 0))] == [True, True]
