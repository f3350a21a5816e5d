"""The rights matrix of the document portal (issue 6): who may do what with a document, a customer
number and a shared user, through the real views and, where there is one, the service.

Roles (``matrix_cast``): the primary contact of customer numbers A and B; a shared user who sees A
only, on a document of A and on a document of B; a shared user of A who is also the primary contact
of D (they share D, never A: shared users cannot share further); another customer (primary contact
of C) on a document of A; anonymous; a shared user whose A was unticked, and one who was deleted.

Each cell of ``TABLE`` (a role and an operation) is one test of the view; each operation with a
service is tested again straight on the service (allowed exactly where the view allows). Whatever
the outcome, no response shows anything of what the role does not see (document numbers, amounts,
customer names, customer numbers, the primary contact's shared users); every refusal writes nothing
(``matrix_cast.WATCHED`` counted before and after); every allowed action writes exactly what
``WRITES`` says.
"""

import dataclasses
import io
import zipfile
from collections.abc import Callable
from typing import Any

import pytest
from django.contrib.auth.models import AnonymousUser
from django.test import Client
from django.urls import reverse
from django.utils import translation

from guichet.audit.models import AuditEvent
from guichet.documents import access, downloads, preferences, selectors, sharing
from guichet.documents.models import Document, Frequency, NotificationPreference, Share, SharedUser
from guichet.documents.testing import PDF
from guichet.documents.tests.matrix_cast import (
    COLLEAGUE_EMAIL,
    COLLEAGUE_NAME,
    ORIGINAL,
    Cast,
    body,
    counts,
    leaks,
    make_matrix_cast,
    secrets_of,
)

pytestmark = pytest.mark.django_db

# --- The expected table -------------------------------------------------------------------------

OK = "allowed"  # done (the page, the file, the change)
E404 = "404"  # as if the document, customer number or shared user did not exist
E403 = "403"  # the "only primary contacts share" page
LOGIN = "login"  # redirected to the login page
HIDE = "hidden"  # the page answers without the document / customer number (a filter on it: refused)
DROP = "ignored"  # the foreign id is dropped (ZIP: only the user's own documents; settings: unchanged)
FORM = "invalid"  # the form comes back with an error, nothing saved

OPERATIONS = (
    "list",  # the documents page: is the document listed?
    "list_filter",  # the documents page filtered on the document's customer number (drop-down choice)
    "export",  # the CSV export of the list
    "export_filter",  # the CSV export filtered on the document's customer number
    "detail",
    "pdf",
    "pdf_download",
    "original",
    "duplicate_request",  # POST
    "duplicate",  # download an existing duplicate
    "zip",  # POST a selection: the document (and the user's own one, if any)
    "shared_users",  # the "Shared users" page: is the primary contact's colleague listed?
    "shared_user_add",  # POST a new shared user ticking the customer number
    "shared_user_edit_get",  # the colleague's page
    "shared_user_edit",  # POST: tick the customer number for the colleague
    "shared_user_delete_get",
    "shared_user_delete",  # POST
    "customer_numbers",  # the "Customer numbers" page: is the customer number listed?
    "preference",  # POST "never" for the customer number
)

# One row per operation, one column per role (``ROLE_NAMES``, in this order): shd_b is the
# shared user on a document of B, shd_pc the shared user who is also a primary contact (of D).
# Those two primary contacts (shd_pc, other) have their own "Shared users" page, without the
# colleague (HIDE), and ticking A there is a form error (FORM: not theirs to share).
# fmt: off
TABLE: dict[str, tuple[str, ...]] = {
    #                         owner  shared shd_b  shd_pc other  unshd  deltd  anon
    "list":                   (OK,    OK,    HIDE,  OK,    HIDE,  HIDE,  HIDE,  LOGIN),
    "list_filter":            (OK,    OK,    HIDE,  OK,    HIDE,  HIDE,  HIDE,  LOGIN),
    "export":                 (OK,    OK,    HIDE,  OK,    HIDE,  HIDE,  HIDE,  LOGIN),
    "export_filter":          (OK,    OK,    HIDE,  OK,    HIDE,  HIDE,  HIDE,  LOGIN),
    "detail":                 (OK,    OK,    E404,  OK,    E404,  E404,  E404,  LOGIN),
    "pdf":                    (OK,    OK,    E404,  OK,    E404,  E404,  E404,  LOGIN),
    "pdf_download":           (OK,    OK,    E404,  OK,    E404,  E404,  E404,  LOGIN),
    "original":               (OK,    OK,    E404,  OK,    E404,  E404,  E404,  LOGIN),
    "duplicate_request":      (OK,    OK,    E404,  OK,    E404,  E404,  E404,  LOGIN),
    "duplicate":              (OK,    OK,    E404,  OK,    E404,  E404,  E404,  LOGIN),
    "zip":                    (OK,    OK,    DROP,  OK,    DROP,  DROP,  DROP,  LOGIN),
    "shared_users":           (OK,    E403,  E403,  HIDE,  HIDE,  E403,  E403,  LOGIN),
    "shared_user_add":        (OK,    E403,  E403,  FORM,  FORM,  E403,  E403,  LOGIN),
    "shared_user_edit_get":   (OK,    E404,  E404,  E404,  E404,  E404,  E404,  LOGIN),
    "shared_user_edit":       (OK,    E404,  E404,  E404,  E404,  E404,  E404,  LOGIN),
    "shared_user_delete_get": (OK,    E404,  E404,  E404,  E404,  E404,  E404,  LOGIN),
    "shared_user_delete":     (OK,    E404,  E404,  E404,  E404,  E404,  E404,  LOGIN),
    "customer_numbers":       (OK,    OK,    HIDE,  OK,    HIDE,  HIDE,  HIDE,  LOGIN),
    "preference":             (OK,    OK,    DROP,  OK,    DROP,  DROP,  DROP,  LOGIN),
}
# fmt: on

ROLE_NAMES = (
    "owner",
    "shared",
    "shared_on_b",
    "shared_primary",
    "other_customer",
    "unshared",
    "deleted",
    "anonymous",
)
EXPECTED: dict[str, dict[str, str]] = {
    role: {operation: row[i] for operation, row in TABLE.items()} for i, role in enumerate(ROLE_NAMES)
}

# What an allowed operation writes (row count changes; every other table unchanged).
WRITES: dict[str, dict[str, int]] = {
    "export": {"AuditEvent": 1},
    "export_filter": {"AuditEvent": 1},
    "detail": {"DocumentRead": 1},
    "pdf": {"AuditEvent": 1},
    "pdf_download": {"AuditEvent": 1},
    "original": {"AuditEvent": 1},
    "duplicate_request": {"Duplicate": 1, "AuditEvent": 1},
    "duplicate": {"AuditEvent": 1},
    "zip": {"AuditEvent": 1},
    # Created and invited (no account yet), the primary contact told.
    "shared_user_add": {"SharedUser": 1, "Share": 1, "Invitation": 1, "AuditEvent": 2, "Message": 2},
    "shared_user_edit": {"Share": 1, "AuditEvent": 1, "Message": 1},
    # The colleague's pending invitation goes with them.
    "shared_user_delete": {"SharedUser": -1, "Invitation": 0, "AuditEvent": 1, "Message": 1},
    "preference": {"NotificationPreference": 1, "AuditEvent": 1},
}


@dataclasses.dataclass(frozen=True)
class Role:
    user: str | None  # attribute of the cast; None: anonymous
    document: str  # the document (and its customer number) the role acts on
    own_document: str | None  # a document the role does see (added to the ZIP selection)
    unseen: tuple[str, ...]  # documents the role does not see (with their customer numbers)
    primary: bool = False


ROLES = {
    "owner": Role("owner", "doc_a", None, ("doc_c",), primary=True),
    "shared": Role("accountant", "doc_a", None, ("doc_b", "doc_c")),
    "shared_on_b": Role("accountant", "doc_b", "doc_a", ("doc_b", "doc_c")),
    "shared_primary": Role("partner", "doc_a", None, ("doc_b", "doc_c")),
    "other_customer": Role("outsider", "doc_a", "doc_c", ("doc_a", "doc_b")),
    "unshared": Role("unshared", "doc_a", None, ("doc_a", "doc_b", "doc_c")),
    "deleted": Role("deleted", "doc_a", None, ("doc_a", "doc_b", "doc_c")),
    "anonymous": Role(None, "doc_a", None, ("doc_a", "doc_b", "doc_c")),
}

CELLS = [(role, operation) for role in ROLES for operation in OPERATIONS]


def test_the_table_is_complete():
    assert tuple(ROLES) == ROLE_NAMES
    assert tuple(TABLE) == OPERATIONS
    assert all(len(row) == len(ROLE_NAMES) for row in TABLE.values())


# --- The acts -----------------------------------------------------------------------------------


@dataclasses.dataclass
class Context:
    cast: Cast
    role: Role
    user: Any
    document: Document
    own_document: Document | None

    @property
    def number(self):
        return self.document.customer_number

    @property
    def duplicate(self):
        return self.cast.dup_a if self.document == self.cast.doc_a else self.cast.dup_b


def url(name: str, *args: object) -> str:
    with translation.override("en"):
        return reverse(name, args=args or None)


def context(cast: Cast, role_name: str) -> Context:
    role = ROLES[role_name]
    user = getattr(cast, role.user) if role.user else AnonymousUser()
    own = getattr(cast, role.own_document) if role.own_document else None
    return Context(cast, role, user, getattr(cast, role.document), own)


def frequencies_form(ctx: Context) -> dict[str, str]:
    """The customer numbers page as the role sees it, unchanged, plus "never" for the target."""
    data = {f"frequency_{n.pk}": Frequency.IMMEDIATELY for n in access.customer_numbers(ctx.user)}
    return {**data, f"frequency_{ctx.number.pk}": Frequency.NEVER}


ACTS: dict[str, Callable[[Client, Context], Any]] = {
    "list": lambda client, ctx: client.get(url("documents:list")),
    "list_filter": lambda client, ctx: client.get(url("documents:list"), {"customer": ctx.number.pk}),
    "export": lambda client, ctx: client.get(url("documents:export")),
    "export_filter": lambda client, ctx: client.get(url("documents:export"), {"customer": ctx.number.pk}),
    "detail": lambda client, ctx: client.get(url("documents:detail", ctx.document.pk)),
    "pdf": lambda client, ctx: client.get(url("documents:pdf", ctx.document.pk)),
    "pdf_download": lambda client, ctx: client.get(url("documents:pdf_download", ctx.document.pk)),
    "original": lambda client, ctx: client.get(url("documents:original", ctx.document.pk)),
    "duplicate_request": lambda client, ctx: client.post(url("documents:duplicate_request", ctx.document.pk)),
    "duplicate": lambda client, ctx: client.get(
        url("documents:duplicate", ctx.document.pk, ctx.duplicate.pk)
    ),
    "zip": lambda client, ctx: client.post(
        url("documents:zip"),
        {"document": [ctx.document.pk] + ([ctx.own_document.pk] if ctx.own_document else [])},
    ),
    "shared_users": lambda client, ctx: client.get(url("documents:shared_users")),
    "shared_user_add": lambda client, ctx: client.post(
        url("documents:shared_user_add"),
        {
            "name": "Nina New",
            "email": "nina.new@example.com",
            "language": "fr",
            "customer_numbers": [ctx.number.pk],
        },
    ),
    "shared_user_edit_get": lambda client, ctx: client.get(
        url("documents:shared_user_edit", ctx.cast.colleague.pk)
    ),
    "shared_user_edit": lambda client, ctx: client.post(
        url("documents:shared_user_edit", ctx.cast.colleague.pk),
        {"name": COLLEAGUE_NAME, "language": "fr", "customer_numbers": [ctx.number.pk]},
    ),
    "shared_user_delete_get": lambda client, ctx: client.get(
        url("documents:shared_user_delete", ctx.cast.colleague.pk)
    ),
    "shared_user_delete": lambda client, ctx: client.post(
        url("documents:shared_user_delete", ctx.cast.colleague.pk)
    ),
    "customer_numbers": lambda client, ctx: client.get(url("documents:customer_numbers")),
    "preference": lambda client, ctx: client.post(url("documents:customer_numbers"), frequencies_form(ctx)),
}


# --- What each outcome looks like ---------------------------------------------------------------


def text(response) -> str:
    return body(response).decode("utf-8", errors="replace")


def zip_names(response) -> list[str]:
    return zipfile.ZipFile(io.BytesIO(body(response))).namelist()


def redirected_to(response, target: str) -> bool:
    return response.status_code == 302 and response["Location"] == target


def check_allowed(operation: str, response, ctx: Context) -> None:
    document, number = ctx.document, ctx.number
    detail_link = f'href="{url("documents:detail", document.pk)}"'
    if operation == "list":
        assert response.status_code == 200 and detail_link in text(response)
    elif operation == "list_filter":
        assert response.status_code == 200 and detail_link in text(response)
        assert f'<option value="{number.pk}" selected>{number.code}</option>' in text(response)
    elif operation in ("export", "export_filter"):
        assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
        assert f"{document.number},{document.issue_date.isoformat()}" in text(response)
    elif operation == "detail":
        assert response.status_code == 200 and document.number in text(response)
    elif operation in ("pdf", "pdf_download"):
        assert response.status_code == 200 and body(response) == PDF
        disposition = "inline" if operation == "pdf" else "attachment"
        assert response["Content-Disposition"].startswith(disposition)
    elif operation == "original":
        assert response.status_code == 200 and body(response) == ORIGINAL
    elif operation == "duplicate_request":
        assert redirected_to(response, url("documents:detail", document.pk) + "#duplicates")
    elif operation == "duplicate":
        assert response.status_code == 200 and body(response) == PDF
    elif operation == "zip":
        assert response.status_code == 200
        assert f"{document.issuer.prefix}-{document.number}.pdf" in zip_names(response)
    elif operation in ("shared_users", "shared_user_edit_get", "shared_user_delete_get"):
        assert response.status_code == 200 and COLLEAGUE_NAME in text(response)
    elif operation == "shared_user_add":
        assert redirected_to(response, url("documents:shared_users"))
        assert Share.objects.filter(
            shared_user__email="nina.new@example.com", customer_number=number
        ).exists()
    elif operation == "shared_user_edit":
        assert redirected_to(response, url("documents:shared_users"))
        assert Share.objects.filter(shared_user=ctx.cast.colleague, customer_number=number).exists()
    elif operation == "shared_user_delete":
        assert redirected_to(response, url("documents:shared_users"))
        assert not SharedUser.objects.filter(pk=ctx.cast.colleague.pk).exists()
    elif operation == "customer_numbers":
        assert response.status_code == 200 and f'id="number-{number.pk}">{number.code}<' in text(response)
    elif operation == "preference":
        assert redirected_to(response, url("documents:customer_numbers"))
        assert NotificationPreference.objects.get(user=ctx.user, customer_number=number).frequency == "never"
    else:  # pragma: no cover
        raise AssertionError(operation)


def check_refused(operation: str, outcome: str, response, ctx: Context) -> None:
    if outcome == LOGIN:
        login = url("account_login")
        assert response.status_code == 302 and response["Location"].startswith(f"{login}?next=")
    elif outcome == E404:
        assert response.status_code == 404
    elif outcome == E403:
        assert response.status_code == 403
    elif outcome == FORM:
        assert response.status_code == 200 and "<title>Error:" in text(response)
    elif outcome == HIDE and operation == "export_filter":
        # The filter offers only the user's own customer numbers: back to the list, no CSV.
        assert redirected_to(response, url("documents:list") + f"?customer={ctx.number.pk}")
    elif outcome == HIDE and operation in ("list", "list_filter"):
        assert response.status_code == 200
        assert f'href="{url("documents:detail", ctx.document.pk)}"' not in text(response)
        assert f'<option value="{ctx.number.pk}"' not in text(response)
    elif outcome == HIDE and operation == "export":
        assert response.status_code == 200 and ctx.document.number not in text(response)
    elif outcome == HIDE and operation in ("customer_numbers", "shared_users"):
        assert response.status_code == 200
    elif outcome == DROP and operation == "zip":
        if ctx.own_document is None:
            assert redirected_to(response, url("documents:list"))
        else:
            own = ctx.own_document
            assert response.status_code == 200
            assert zip_names(response) == [
                f"{own.issuer.prefix}-{own.number}.pdf",
                f"{own.issuer.prefix}-{own.number}-{own.original_name}",
            ]
    elif outcome == DROP and operation == "preference":
        assert redirected_to(response, url("documents:customer_numbers"))
    else:  # pragma: no cover
        raise AssertionError((operation, outcome))


def secrets(ctx: Context) -> list[str]:
    cast, role = ctx.cast, ctx.role
    values = []
    for name in role.unseen:
        document = getattr(cast, name)
        values += secrets_of(document, with_number=True)
    if not role.primary:
        values += [COLLEAGUE_NAME, COLLEAGUE_EMAIL]
    return values


def delta(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    return {name: after[name] - before[name] for name in before if after[name] != before[name]}


def check_nothing_foreign_written(operation: str, outcome: str, before: dict[str, int], ctx: Context) -> None:
    """A refusal writes nothing. The one exception is the user's own action that went on without
    the foreign id (the export of their own list, the ZIP of their own document): its audit event
    only, which names none of the foreign documents."""
    written = delta(before, counts())
    own_action = {
        ("export", HIDE): "documents.exported",
        ("zip", DROP): "documents.zip_downloaded" if ctx.own_document else None,
    }.get((operation, outcome))
    if own_action is None:
        assert not written, f"{ctx.role.user or 'anonymous'} / {operation} wrote {written}"
        return
    assert written == {"AuditEvent": 1}
    event = AuditEvent.objects.order_by("seq").last()
    assert (event.action, event.actor_id) == (own_action, ctx.user.pk)
    if operation == "zip":
        assert event.details == {"documents": [ctx.own_document.pk]}
    unseen = {getattr(ctx.cast, name).pk for name in ctx.role.unseen}
    assert not unseen & set(event.details.get("documents", []) if event.details else [])


# --- The views ----------------------------------------------------------------------------------


@pytest.fixture
def cast() -> Cast:
    return make_matrix_cast()


@pytest.mark.parametrize(("role_name", "operation"), CELLS)
def test_view(client, cast, role_name, operation):
    ctx = context(cast, role_name)
    outcome = EXPECTED[role_name][operation]
    if ctx.role.user:
        client.force_login(ctx.user)
    before = counts()

    response = ACTS[operation](client, ctx)

    found = leaks(response, secrets(ctx))
    assert not found, f"{role_name} / {operation} shows {found}"
    if outcome == OK:
        check_allowed(operation, response, ctx)
        assert delta(before, counts()) == {k: v for k, v in WRITES.get(operation, {}).items() if v}
    else:
        check_refused(operation, outcome, response, ctx)
        check_nothing_foreign_written(operation, outcome, before, ctx)
    response.close()


# --- The services -------------------------------------------------------------------------------


def _page_has(ctx: Context, *, numbers, customer_number=None) -> bool:
    page = selectors.documents_page(
        user=ctx.user,
        customer_numbers=numbers,
        filters=selectors.DocumentFilter(customer_number=customer_number),
        sort=selectors.Sort(),
    )
    return ctx.document in page.items


def _zip(ctx: Context) -> bool:
    ids = [str(ctx.document.pk)] + ([str(ctx.own_document.pk)] if ctx.own_document else [])
    with downloads.documents_zip(user=ctx.user, document_ids=ids) as archive:
        names = zipfile.ZipFile(archive).namelist()
    return f"{ctx.document.issuer.prefix}-{ctx.document.number}.pdf" in names


def _pdf(ctx: Context, *, inline: bool) -> bool:
    document, content = downloads.document_pdf_get(user=ctx.user, document_id=ctx.document.pk, inline=inline)
    return document == ctx.document and content == PDF


def _original(ctx: Context) -> bool:
    document, handle = downloads.document_original_get(user=ctx.user, document_id=ctx.document.pk)
    with handle:
        return document == ctx.document and handle.read() == ORIGINAL


def _duplicate(ctx: Context) -> bool:
    duplicate, handle = downloads.duplicate_get(
        user=ctx.user, document_id=ctx.document.pk, duplicate_id=ctx.duplicate.pk
    )
    handle.close()
    return duplicate == ctx.duplicate


def _share_create(ctx: Context) -> bool:
    shared = sharing.shared_user_create(
        owner=ctx.user,
        name="Nina New",
        email="nina.new@example.com",
        language="fr",
        customer_number_ids=[ctx.number.pk],
    )
    return Share.objects.filter(shared_user=shared, customer_number=ctx.number).exists()


def _share_update(ctx: Context) -> bool:
    sharing.shared_user_update(
        owner=ctx.user,
        shared_user_id=ctx.cast.colleague.pk,
        name=COLLEAGUE_NAME,
        language="fr",
        customer_number_ids=[ctx.number.pk],
    )
    return Share.objects.filter(shared_user=ctx.cast.colleague, customer_number=ctx.number).exists()


def _share_delete(ctx: Context) -> bool:
    sharing.shared_user_delete(owner=ctx.user, shared_user_id=ctx.cast.colleague.pk)
    return not SharedUser.objects.filter(pk=ctx.cast.colleague.pk).exists()


def _preference(ctx: Context) -> bool:
    changed = preferences.preferences_set(user=ctx.user, choices={ctx.number.pk: Frequency.NEVER})
    return changed == {ctx.number.pk: Frequency.NEVER}


# Each service answers True when it did the operation for the role; a refusal raises one of
# REFUSALS or answers False (a list without the document). The foreign customer number is handed
# to the readers directly, as a caller that forgot to check it would.
SERVICES: dict[str, Callable[[Context], bool]] = {
    "list": lambda ctx: _page_has(ctx, numbers=selectors.customer_numbers_visible(user=ctx.user)),
    "list_filter": lambda ctx: _page_has(ctx, numbers=[ctx.number], customer_number=ctx.number.pk),
    "detail": lambda ctx: downloads.document_get(user=ctx.user, document_id=ctx.document.pk) == ctx.document,
    "pdf": lambda ctx: _pdf(ctx, inline=True),
    "pdf_download": lambda ctx: _pdf(ctx, inline=False),
    "original": _original,
    "duplicate_request": lambda ctx: (
        downloads.duplicate_request(user=ctx.user, document_id=ctx.document.pk, language="en").document
        == ctx.document
    ),
    "duplicate": _duplicate,
    "zip": _zip,
    "shared_users": lambda ctx: ctx.cast.colleague in sharing.shared_users(owner=ctx.user),
    "shared_user_add": _share_create,
    "shared_user_edit": _share_update,
    "shared_user_delete": _share_delete,
    "customer_numbers": lambda ctx: access.customer_numbers(ctx.user).filter(pk=ctx.number.pk).exists(),
    "preference": _preference,
}
REFUSALS = (downloads.NotFound, downloads.ZipRefused, sharing.SharingError, preferences.PreferenceError)
# When a service refuses, why (the reason views turn into 404, 403 or a form error).
REASONS = {
    "shared_user_add": {
        "shared_on_b": sharing.SharingErrorCode.NOT_PRIMARY_CONTACT,
        "shared_primary": sharing.SharingErrorCode.UNKNOWN_CUSTOMER_NUMBER,
        "other_customer": sharing.SharingErrorCode.UNKNOWN_CUSTOMER_NUMBER,
    },
}
SERVICE_CELLS = [(role, operation) for role in ROLES for operation in SERVICES]


@pytest.mark.parametrize(("role_name", "operation"), SERVICE_CELLS)
def test_service(cast, role_name, operation):
    ctx = context(cast, role_name)
    allowed = EXPECTED[role_name][operation] == OK
    before = counts()

    try:
        done = SERVICES[operation](ctx)
    except REFUSALS as refusal:
        done = False
        reason = REASONS.get(operation, {}).get(role_name)
        if reason is not None:
            assert refusal.code == reason
        if isinstance(refusal, sharing.SharingError) and operation != "shared_user_add":
            assert refusal.code == sharing.SharingErrorCode.NOT_FOUND
        if isinstance(refusal, preferences.PreferenceError):
            assert refusal.code == preferences.PreferenceErrorCode.NOT_FOUND

    assert done is allowed
    if not allowed:
        outcome = EXPECTED[role_name][operation]
        # Anonymous reaches a service without a login page: judged like any refusal.
        check_nothing_foreign_written(operation, DROP if outcome == LOGIN else outcome, before, ctx)


@pytest.mark.parametrize("role_name", [name for name, role in ROLES.items() if role.user])
def test_the_export_service_never_writes_a_foreign_document(cast, role_name):
    """Handed the foreign customer number directly, the export still has only what the user sees
    (it records the export itself, of the user's own list: nothing else)."""
    ctx = context(cast, role_name)
    before = counts()

    lines = "".join(
        downloads.documents_export(
            user=ctx.user,
            customer_numbers=[ctx.number],
            filters=selectors.DocumentFilter(customer_number=ctx.number.pk),
            sort=selectors.Sort(),
        )
    )

    assert (ctx.document.number in lines) is (EXPECTED[role_name]["export_filter"] == OK)
    for secret in secrets(ctx):
        assert secret not in lines
    assert delta(before, counts()) == {"AuditEvent": 1}
    assert AuditEvent.objects.order_by("seq").last().action == "documents.exported"


def test_the_export_service_refuses_an_anonymous_user_and_records_nothing(cast):
    before = counts()

    with pytest.raises(downloads.NotFound):
        downloads.documents_export(
            user=AnonymousUser(),
            customer_numbers=[cast.a],
            filters=selectors.DocumentFilter(),
            sort=selectors.Sort(),
        )

    assert counts() == before


# --- Mixed and mismatched ids -------------------------------------------------------------------


def test_a_duplicate_of_another_document_answers_404_even_to_the_primary_contact(client, cast):
    """The duplicate id must belong to the document in the URL: B's duplicate under A's id is 404."""
    client.force_login(cast.owner)
    before = counts()

    response = client.get(url("documents:duplicate", cast.doc_a.pk, cast.dup_b.pk))

    assert response.status_code == 404
    assert counts() == before


def test_a_duplicate_of_the_shared_users_document_under_a_foreign_document_id_answers_404(client, cast):
    """The shared user sees A: A's duplicate id under B's document id (which they do not see) is 404."""
    client.force_login(cast.accountant)
    before = counts()

    response = client.get(url("documents:duplicate", cast.doc_b.pk, cast.dup_a.pk))

    assert response.status_code == 404
    assert not leaks(response, secrets_of(cast.doc_b, with_number=True))
    assert counts() == before


@pytest.mark.parametrize("value", ["0", "-1", "abc", "99999999", ""])
def test_unknown_ids_in_a_zip_selection_are_ignored_like_foreign_ones(client, cast, value):
    client.force_login(cast.accountant)
    before = counts()

    response = client.post(url("documents:zip"), {"document": [value, str(cast.doc_b.pk)]})

    assert redirected_to(response, url("documents:list"))
    assert counts() == before


def test_former_shared_users_neither_see_nor_hear_of_the_customer_number(cast):
    """Unsharing and deletion are immediate: the visibility function sees nothing of A for them,
    and they are no longer among the recipients of its documents."""
    for user in (cast.unshared, cast.deleted):
        assert list(access.customer_numbers(user)) == []
        assert not access.documents(user).exists()
        assert user not in access.recipients(cast.doc_a)
    assert set(access.recipients(cast.doc_a)) == {cast.owner, cast.accountant, cast.partner}
    assert set(access.recipients(cast.doc_b)) == {cast.owner}


def test_a_customer_number_that_changes_primary_contact_leaves_the_old_shares_behind(client, cast):
    """A passes to another primary contact: neither the former one nor the shared users they chose
    see it any more (the share is the former primary contact's), and the new one shares nothing."""
    cast.a.account = cast.outsider
    cast.a.save(update_fields=["account"])

    for user in (cast.owner, cast.accountant, cast.partner):
        client.force_login(user)
        before = counts()
        response = client.get(url("documents:detail", cast.doc_a.pk))
        assert response.status_code == 404, user
        assert counts() == before
        assert not access.customer_numbers(user).filter(pk=cast.a.pk).exists()
    assert set(access.recipients(cast.doc_a)) == {cast.outsider}
    assert sharing.shared_users(owner=cast.outsider) == []


@pytest.mark.parametrize("role_name", ["owner", "shared", "shared_on_b", "other_customer", "unshared"])
def test_the_htmx_list_filtered_on_the_customer_number(client, cast, role_name):
    """The drop-down applies at once with htmx: the same rights, the partial list or a full reload."""
    ctx = context(cast, role_name)
    client.force_login(ctx.user)
    before = counts()

    response = client.get(url("documents:list"), {"customer": ctx.number.pk}, headers={"HX-Request": "true"})

    assert not leaks(response, secrets(ctx))
    if EXPECTED[role_name]["list_filter"] == OK:
        assert response.status_code == 200
        assert f'href="{url("documents:detail", ctx.document.pk)}"' in text(response)
    else:
        assert response.status_code == 204
        assert response["HX-Redirect"] == url("documents:list") + f"?customer={ctx.number.pk}"
    assert counts() == before


def test_unsharing_and_deleting_through_the_services_end_as_the_matrix_cast_does(client):
    """The matrix's former shared users are made straight in the database; made through the sharing
    services they end the same: no access to A's document on any endpoint, nothing written."""
    cast = make_matrix_cast(through_services=True)
    assert not Share.objects.filter(shared_user__user=cast.unshared).exists()
    assert SharedUser.objects.filter(user=cast.unshared).exists()
    assert not SharedUser.objects.filter(user=cast.deleted).exists()
    for role_name in ("unshared", "deleted"):
        ctx = context(cast, role_name)
        client.force_login(ctx.user)
        for operation in ("detail", "pdf", "original", "duplicate_request", "duplicate", "zip", "list"):
            before = counts()
            response = ACTS[operation](client, ctx)
            assert not leaks(response, secrets(ctx))
            check_refused(operation, EXPECTED[role_name][operation], response, ctx)
            assert counts() == before
