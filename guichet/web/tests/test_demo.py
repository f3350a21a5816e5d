from django.contrib.auth import get_user_model
from django.core.management import call_command

from guichet.audit.models import AuditEvent
from guichet.web.demo import PERSONAS


def test_load_demo_twice_keeps_one_row_per_persona_and_their_passwords(db, capsys):
    call_command("load_demo")
    call_command("load_demo")

    users = get_user_model().objects.filter(user_id__in=[p.user_id for p in PERSONAS])
    assert users.count() == len(PERSONAS)
    for persona in PERSONAS:
        assert users.get(user_id=persona.user_id).check_password(persona.password)
    assert AuditEvent.objects.filter(action="demo.persona_created").count() == len(PERSONAS)


def test_load_demo_prints_every_persona_and_password(db, capsys):
    call_command("load_demo")

    printed = capsys.readouterr().out
    for persona in PERSONAS:
        assert persona.user_id in printed
        assert persona.password in printed


def test_advisor_persona_is_in_the_advisor_group_and_not_superuser(db):
    call_command("load_demo")

    advisor = get_user_model().objects.get(user_id="advisor")
    assert list(advisor.groups.values_list("name", flat=True)) == ["advisor"]
    assert advisor.is_staff and not advisor.is_superuser
