from django.test import override_settings

from guichet.web.machine_keys import MachineKeys

KEYS = MachineKeys(scheme="gtk", salt="guichet.web.tests.machine_keys")


class Client:
    def __init__(self, key_prefix: str, key_hash: str, *, is_active: bool = True) -> None:
        self.key_prefix, self.key_hash, self.is_active = key_prefix, key_hash, is_active


class Clients:
    """The one query ``find`` makes, over a list."""

    def __init__(self, *clients: Client) -> None:
        self.clients = clients

    def filter(self, *, key_prefix: str) -> "Clients":
        return Clients(*(c for c in self.clients if c.key_prefix == key_prefix))

    def first(self) -> Client | None:
        return self.clients[0] if self.clients else None


def test_an_issued_key_finds_its_client_and_nothing_else_does() -> None:
    prefix, key, hashed = KEYS.issue(taken=lambda _p: False)
    client = Client(prefix, hashed)
    clients = Clients(client)

    assert key.startswith(prefix + "_") and prefix.startswith("gtk_") and len(prefix) == 12
    assert KEYS.find(key, clients) is client
    assert KEYS.find(key[:-1] + ("A" if key[-1] != "A" else "B"), clients) is None
    assert KEYS.find("gtk_00000000_" + "x" * 43, clients) is None
    assert KEYS.find("not a key", clients) is None
    client.is_active = False
    assert KEYS.find(key, clients) is None


def test_a_taken_prefix_is_never_issued_again() -> None:
    seen: list[str] = []

    def taken(prefix: str) -> bool:
        seen.append(prefix)
        return len(seen) < 3

    prefix, _key, _hash = KEYS.issue(taken=taken)

    assert prefix == seen[2]


def test_keys_keep_working_while_the_old_secret_is_a_fallback() -> None:
    with override_settings(SECRET_KEY="old-" + "s" * 50):
        prefix, key, hashed = KEYS.issue(taken=lambda _p: False)
    clients = Clients(Client(prefix, hashed))

    with override_settings(SECRET_KEY="new-" + "s" * 50, SECRET_KEY_FALLBACKS=["old-" + "s" * 50]):
        assert KEYS.find(key, clients) is not None
    with override_settings(SECRET_KEY="new-" + "s" * 50, SECRET_KEY_FALLBACKS=[]):
        assert KEYS.find(key, clients) is None


def test_a_log_shows_the_public_prefix_only() -> None:
    _prefix, key, _hash = KEYS.issue(taken=lambda _p: False)

    assert KEYS.shown_prefix(key) == key[:12]
    assert KEYS.shown_prefix("gtk_secret") == "malformed"
