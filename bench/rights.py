"""Benchmark of the pages that list what a user's rights reach: the accounts page and the transfer
list, for a user with rights on 500 of an entity's 5,000 accounts.

Run from the repository root, with PostgreSQL:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/guichet .venv/bin/python bench/rights.py

It (re)creates its own database (``guichet_bench_rights`` on the same server; the
database named in the URL is not touched), fills it with bulk inserts (an entity
with 1,000 users and 5,000 accounts, the measured user with consultation,
management and validation on 500 of them, transactions and ~1,000 transfers),
serves the application with gunicorn (production settings, sync workers) and
drives each page with wrk, 16 connections. Server time is what gunicorn logs for
each request (``%(D)s``: from the request read to the response sent, without the
wait in the listen queue). The SQL query count of each page is measured in
process with Django's test client, for a user with rights on 50 accounts and one
with 500: they must be equal. Last line: ``p95_ms=… queries=…``. See bench/README.md.
"""

import contextlib
import datetime
import os
import re
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from decimal import Decimal
from http.client import HTTPConnection
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
from login import free_port, manage, wrk_ensure  # the house helpers of bench/login.py

ROOT = Path(__file__).resolve().parent.parent
BENCH_DB = "guichet_bench_rights"
USERS = 1_000
ACCOUNTS = 5_000
RIGHTS = 500  # accounts on which the measured user holds the three rights
FEW_RIGHTS = 50  # the comparison user's
TRANSACTIONS_PER_ACCOUNT = int(os.environ.get("BENCH_TRANSACTIONS", "20"))  # on the measured accounts
TRANSFERS = 1_000
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "16"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "15"))
WARM_UP_SECONDS = 3
WORKERS = int(os.environ.get("BENCH_WORKERS", str(os.cpu_count() or 2)))
TARGET_MS = 50
SETTINGS_OVERLAY = """\
from guichet.settings.base import *  # noqa: F403

STATIC_ROOT = {static_root!r}
"""
# gunicorn's access log: path, status and the request's duration in microseconds.
ACCESS_FORMAT = "%(U)s %(s)s %(D)s"


def database_urls() -> tuple[str, str]:
    url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/guichet")
    parts = urlsplit(url)
    if parts.scheme not in {"postgres", "postgresql"}:
        sys.exit("bench/rights.py needs PostgreSQL: DATABASE_URL=postgres://…")
    return urlunsplit(parts._replace(path="/postgres")), urlunsplit(parts._replace(path=f"/{BENCH_DB}"))


def recreate_database(admin_url: str, env: dict[str, str]) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {BENCH_DB}")
    manage("migrate", "--no-input", "-v", "0", env=env)
    manage("collectstatic", "--no-input", "-v", "0", env=env)


def drop_database(admin_url: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")


def server_env(workdir: Path, bench_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(workdir), str(ROOT)]),
        "DJANGO_SETTINGS_MODULE": "bench_rights_settings",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATABASE_URL": bench_url,
        "GUICHET_CACHE_URL": os.environ.get("BENCH_CACHE_URL", "locmem://"),
        "GUICHET_SSL_REDIRECT": "false",  # plain HTTP on loopback
        "GUICHET_RATE_LIMITS_OFF": "true",
        "GUICHET_LOG_LEVEL": "WARNING",
        "GUICHET_SMS_HTTP_URL": "https://sms.invalid/send",
        "GUICHET_SMS_HTTP_TOKEN": "bench",
    }


def populate() -> dict[str, object]:
    """The entity, its users and accounts, rights, transactions and transfers, by bulk inserts."""
    from django.db import transaction

    from guichet.banking.models import Transaction, Transfer, TransferStatus
    from guichet.entities.models import BankAccount, Entity, Grant, Person, PersonStatus, Right
    from guichet.identity.models import AccountKind, User

    today = datetime.date(2026, 11, 24)
    with transaction.atomic():
        entity = Entity.objects.create(
            name="Bench SA", company_number_scheme="be", company_number="0403170701"
        )
        users = User.objects.bulk_create(
            User(
                user_id=f"rights{i:05d}",
                email=f"rights{i}@example.com",
                mobile_phone=f"+3247{i:07d}",
                first_name="Bench",
                last_name=f"User {i}",
                kind=AccountKind.PROVISIONED,
                password="!",  # noqa: S106 (unusable: the benchmark logs in with a session)
            )
            for i in range(USERS)
        )
        Person.objects.bulk_create(
            Person(
                entity=entity,
                first_name="Bench",
                last_name=f"User {i}",
                birth_date=datetime.date(1980, 1, 1),
                mobile_phone=f"+3247{i:07d}",
                user=user,
                status=PersonStatus.ACTIVE,
            )
            for i, user in enumerate(users)
        )
        accounts = BankAccount.objects.bulk_create(
            BankAccount(
                entity=entity,
                iban=f"BE{i:014d}",
                label=f"Compte {i:04d}",
                balance=Decimal(1000 + i) + Decimal("0.25"),
            )
            for i in range(ACCOUNTS)
        )
        many, few = users[0], users[1]
        grants = [
            Grant(entity=entity, user=user, account=account, right=right)
            for user, reach in ((many, accounts[:RIGHTS]), (few, accounts[:FEW_RIGHTS]))
            for account in reach
            for right in (Right.CONSULTATION, Right.MANAGEMENT, Right.VALIDATION)
        ]
        # Everyone else consults 20 accounts: the grant table is not the measured user's alone.
        grants += [
            Grant(
                entity=entity, user=user, account=accounts[(i * 20 + k) % ACCOUNTS], right=Right.CONSULTATION
            )
            for i, user in enumerate(users[2:])
            for k in range(20)
        ]
        Grant.objects.bulk_create(grants, batch_size=5000)
        Transaction.objects.bulk_create(
            (
                Transaction(
                    account=account,
                    booking_date=today - datetime.timedelta(days=k),
                    value_date=today - datetime.timedelta(days=k),
                    amount=Decimal(k * 7 + 1) * (-1 if k % 2 else 1),
                    counterparty_name=f"Fournisseur {k}",
                    description=f"Facture {k}",
                )
                for account in accounts[:RIGHTS]
                for k in range(TRANSACTIONS_PER_ACCOUNT)
            ),
            batch_size=5000,
        )
        statuses = [TransferStatus.PREPARED, TransferStatus.VALIDATED, TransferStatus.EXPORTED]
        Transfer.objects.bulk_create(
            Transfer(
                entity=entity,
                debtor_account=accounts[i % RIGHTS],
                beneficiary_name=f"Bénéficiaire {i}",
                beneficiary_iban="BE71096123456769",
                beneficiary_bic="GKCCBEBB",
                amount=Decimal(i + 1),
                execution_date=today,
                remittance_information=f"Facture {i}",
                end_to_end_id=f"BENCH-{i:06d}",
                status=statuses[i % 3],
                prepared_by=users[2 + i % 50],
                last_edited_by=users[2 + i % 50],
            )
            for i in range(TRANSFERS)
        )
    return {"many": many, "few": few}


def session_cookie(user: object) -> str:
    from django.conf import settings
    from django.test import Client

    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    return f"{settings.SESSION_COOKIE_NAME}={client.cookies[settings.SESSION_COOKIE_NAME].value}"


def page_paths() -> dict[str, str]:
    from django.urls import NoReverseMatch, reverse
    from django.utils import translation

    paths = {}
    with translation.override("fr"):
        for name in ("banking:accounts", "banking:transfers"):
            with contextlib.suppress(NoReverseMatch):
                paths[name] = reverse(name)
    return paths


def queries_of(user: object, path: str) -> tuple[int, int]:
    """(status, SQL statements) of one request, the session's first request already made."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    client = Client(HTTP_HOST="127.0.0.1")
    client.force_login(user)
    client.get(path)
    with CaptureQueriesContext(connection) as captured:
        response = client.get(path)
    return response.status_code, len(captured)


@contextlib.contextmanager
def gunicorn(env: dict[str, str], port: int, workdir: Path) -> Iterator[Path]:
    access = workdir / "access.log"
    command = [
        str(Path(sys.executable).with_name("gunicorn")),
        "guichet.wsgi:application",
        "--workers",
        str(WORKERS),
        "--worker-class",
        "sync",
        "--bind",
        f"127.0.0.1:{port}",
        "--backlog",
        "64",
        "--log-level",
        "warning",
        "--error-logfile",
        str(workdir / "gunicorn.log"),
        "--access-logfile",
        str(access),
        "--access-logformat",
        ACCESS_FORMAT,
    ]
    with open(workdir / "gunicorn.out", "w") as out:
        server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while http_status(port, "/healthz") != 200:
            if server.poll() is not None or time.monotonic() > deadline:
                sys.exit(f"gunicorn did not start; see {workdir / 'gunicorn.log'}")
            time.sleep(0.2)
        yield access
    finally:
        server.terminate()
        server.wait(timeout=30)


def http_status(port: int, path: str, cookie: str = "") -> int:
    connection = HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request("GET", path, headers={"Cookie": cookie} if cookie else {})
        response = connection.getresponse()
        response.read()
        return response.status
    except OSError:
        return 0
    finally:
        connection.close()


def wrk_run(wrk: str, port: int, path: str, cookie: str, seconds: int) -> str:
    command = [
        wrk,
        "--threads",
        "2",
        "--connections",
        str(CONNECTIONS),
        "--duration",
        f"{seconds}s",
        "--timeout",
        "10s",
        "--latency",
        "--header",
        f"Cookie: {cookie}",
        f"http://127.0.0.1:{port}{path}",
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode:
        sys.exit(f"wrk failed:\n{done.stdout}\n{done.stderr}")
    return done.stdout


def server_times(access: Path, skip: int, path: str) -> tuple[list[float], dict[str, int]]:
    """Durations (ms) of the requests for ``path`` logged after line ``skip``, and the statuses."""
    durations, statuses = [], {}
    with open(access) as log:
        for line in list(log)[skip:]:
            logged_path, status, micros = line.split()
            if logged_path != path:
                continue
            statuses[status] = statuses.get(status, 0) + 1
            durations.append(int(micros) / 1000)
    return durations, statuses


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def line_count(path: Path) -> int:
    with open(path) as log:
        return sum(1 for _ in log)


def main() -> None:
    admin_url, bench_url = database_urls()
    wrk = wrk_ensure()
    workdir = Path(tempfile.mkdtemp(prefix="guichet-bench-rights-"))
    (workdir / "bench_rights_settings.py").write_text(
        SETTINGS_OVERLAY.format(static_root=str(workdir / "static"))
    )
    env = server_env(workdir, bench_url)
    start = time.perf_counter()
    recreate_database(admin_url, env)
    print(f"database {BENCH_DB} migrated, static files collected: {time.perf_counter() - start:.1f} s")
    os.environ.update(env)
    sys.path[:0] = [str(workdir), str(ROOT)]
    import django

    django.setup()
    from django.db import connection

    start = time.perf_counter()
    cast = populate()
    print(
        f"{USERS} users, {ACCOUNTS} accounts, rights on {RIGHTS} (and {FEW_RIGHTS}), "
        f"{RIGHTS * TRANSACTIONS_PER_ACCOUNT} transactions, {TRANSFERS} transfers: "
        f"{time.perf_counter() - start:.1f} s"
    )
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")

    pages, queries, skipped, constant = {}, {}, [], True
    for name, path in page_paths().items():
        status_many, count_many = queries_of(cast["many"], path)
        status_few, count_few = queries_of(cast["few"], path)
        if status_many == 404:
            skipped.append(name)
            print(f"{name}: {path} answers 404 (not built yet): not measured")
            continue
        if (status_many, status_few) != (200, 200):
            sys.exit(f"{name}: {path} answered {status_many} / {status_few}, expected 200")
        print(f"{name}: {count_few} SQL queries with {FEW_RIGHTS} rights, {count_many} with {RIGHTS}")
        if count_few != count_many:
            constant = False
            print(f"WARNING: {name} runs more queries with more rights")
        pages[name], queries[name] = path, count_many
    if not pages:
        sys.exit("no page to measure")
    cookie = session_cookie(cast["many"])
    connection.close()

    results = {}
    port = free_port()
    with gunicorn(env, port, workdir) as access:
        for name, path in pages.items():
            if http_status(port, path, cookie) != 200:
                sys.exit(f"{name}: {path} does not answer 200 through gunicorn; see {workdir}")
            wrk_run(wrk, port, path, cookie, WARM_UP_SECONDS)
            time.sleep(0.5)  # the access log is written by the workers; let it catch up
            skip = line_count(access)
            output = wrk_run(wrk, port, path, cookie, SECONDS)
            time.sleep(0.5)
            durations, statuses = server_times(access, skip, path)
            if set(statuses) != {"200"}:
                sys.exit(f"{name}: answers other than 200: {statuses}; see {workdir}")
            client_p99 = re.search(r"99%\s+(\S+)", output)
            rate = re.search(r"Requests/sec:\s+(\S+)", output)
            results[name] = percentile(durations, 0.95)
            print(
                f"{name}: {len(durations)} requests in {SECONDS} s ({rate[1] if rate else '?'}/s) with "
                f"{CONNECTIONS} connections, {WORKERS} workers; server time p50 "
                f"{statistics.median(durations):.1f} ms, p95 {results[name]:.1f} ms, p99 "
                f"{percentile(durations, 0.99):.1f} ms, max {max(durations):.1f} ms "
                f"(seen by wrk, with the queueing: p99 {client_p99[1] if client_p99 else '?'})"
            )

    if os.environ.get("BENCH_KEEP_DATABASE") != "1":
        drop_database(admin_url)
    shutil.rmtree(workdir, ignore_errors=True)
    worst = max(results.values())
    if worst > TARGET_MS:
        print(f"NOTE: p95 above the {TARGET_MS} ms target")
    if skipped:
        print(f"NOTE: not measured (404): {', '.join(skipped)}")
    detail = " ".join(f"{name.split(':')[1]}_p95_ms={value:.1f}" for name, value in results.items())
    detail += " " + " ".join(f"{name.split(':')[1]}_queries={value}" for name, value in queries.items())
    print(
        f"p95_ms={worst:.1f} queries={max(queries.values())} {detail} "
        f"queries_constant={'yes' if constant else 'no'}"
    )


if __name__ == "__main__":
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    main()
