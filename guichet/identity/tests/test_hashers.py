"""Production hashes passwords with Argon2id at or above OWASP's parameters.

The test settings use a fast hasher; these tests use the production one
explicitly, so they are the only slow-ish hashing in the suite.
"""

import pytest
from argon2 import Type
from django.contrib.auth.hashers import Argon2PasswordHasher, check_password, identify_hasher

from guichet.identity.hashers import GuichetArgon2Hasher
from guichet.settings import base as production

PRODUCTION_HASHER = "guichet.identity.hashers.GuichetArgon2Hasher"
PASSWORD = "Carte-Demo-2026!"


@pytest.fixture
def production_hashers(settings):
    settings.PASSWORD_HASHERS = production.PASSWORD_HASHERS


def test_production_uses_only_the_guichet_argon2_hasher():
    assert production.PASSWORD_HASHERS == [PRODUCTION_HASHER]


def test_parameters_meet_the_owasp_floor():
    params = GuichetArgon2Hasher().params()

    assert params.type is Type.ID
    assert params.parallelism == 1
    assert (params.memory_cost, params.time_cost) == (65_536, 3)


def test_a_hash_encodes_argon2id_with_its_parameters_and_verifies():
    hasher = GuichetArgon2Hasher()

    encoded = hasher.encode(PASSWORD, hasher.salt())

    assert encoded.startswith("argon2$argon2id$v=19$m=65536,t=3,p=1$")
    assert hasher.verify(PASSWORD, encoded)
    assert not hasher.verify(PASSWORD.lower(), encoded)
    assert not hasher.must_update(encoded)


def test_make_password_with_production_settings_uses_it(production_hashers):
    from django.contrib.auth.hashers import make_password

    encoded = make_password(PASSWORD)

    assert isinstance(identify_hasher(encoded), GuichetArgon2Hasher)
    assert check_password(PASSWORD, encoded)


@pytest.mark.django_db
def test_a_weaker_argon2_hash_is_upgraded_at_login(production_hashers, django_user_model):
    weaker = Argon2PasswordHasher()  # Django's default: t=2, p=8
    user = django_user_model.objects.create_user("CC100001")
    user.password = weaker.encode(PASSWORD, weaker.salt())
    user.save(update_fields=["password"])

    assert user.check_password(PASSWORD)

    user.refresh_from_db()
    assert user.password.startswith("argon2$argon2id$v=19$m=65536,t=3,p=1$")
