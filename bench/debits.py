"""Benchmark of the daily debit run: 1,000,000 instalments due the same day, charged through the
sandbox provider on PostgreSQL with 2 worker processes; then a run killed halfway and restarted.

Run from the repository root, with PostgreSQL:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/guichet .venv/bin/python bench/debits.py [--instalments N]

It (re)creates its own database (``guichet_bench_debits`` on the same server; the database named in
the URL is not touched) and migrates it, with production settings (``guichet.settings.base``). It
loads, with ``COPY``, N orders of 3 instalments, their schedules and their cards (the sandbox's test
token ``tok_test_visa_4242``), one consumer: half the schedules have their 2nd instalment due on the
run's day (and a 3rd one later), half their 3rd and last (the schedule completes when it is paid), so
N instalments are due that day.

1. **Throughput**: ``debits.debit_run(on=day, workers=2)``, the command's code, timed from the call to
   its return; ``per_s`` = N / wall time. Then checks that every instalment due was paid, under one
   payment, charged once by the sandbox.
2. **Killed halfway**: the data is put back as it was (payments and sandbox charges emptied,
   instalments and schedules back in progress), ``manage.py run_debits --workers 2`` is started in a
   subprocess (its own process group) and SIGKILLed, with its workers, once about half the payments
   exist; ``debit_run`` is then run again to completion. Counted: ``double_charges`` — sandbox charges
   beyond one per instalment, plus instalments presented under two keys (more than one payment) — and
   ``skipped`` — instalments due that are not paid, or never charged. Both must be 0.

Last line: ``per_s=… double_charges=… skipped=… killed_at=… restart_per_s=…``.
Environment: ``BENCH_KEEP_DATABASE=1`` keeps the database afterwards. See bench/README.md.
"""

import argparse
import datetime
import os
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
from login import manage  # the house helper of bench/login.py

ROOT = Path(__file__).resolve().parent.parent
BENCH_DB = "guichet_bench_debits"
DAY = datetime.date(2026, 3, 2)
INTERVAL = datetime.timedelta(days=30)
TOKEN = "tok_test_visa_4242"  # noqa: S105 (a sandbox test token, not a secret)
TARGET_PER_S = 2_000
WORKERS = 2


def database_urls() -> tuple[str, str]:
    url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/guichet")
    parts = urlsplit(url)
    if parts.scheme not in {"postgres", "postgresql"}:
        sys.exit("bench/debits.py needs PostgreSQL: DATABASE_URL=postgres://…")
    return urlunsplit(parts._replace(path="/postgres")), urlunsplit(parts._replace(path=f"/{BENCH_DB}"))


def recreate_database(admin_url: str, env: dict[str, str]) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {BENCH_DB}")
    manage("migrate", "--no-input", "-v", "0", env=env)


def drop_database(admin_url: str) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")


def bench_env(bench_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DJANGO_SETTINGS_MODULE": "guichet.settings.base",
        "GUICHET_PAYMENT_GATEWAY": "guichet.paylater.sandbox.provider.SandboxGateway",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATABASE_URL": bench_url,
        "GUICHET_CACHE_URL": "locmem://",
        "GUICHET_LOG_LEVEL": "WARNING",
        "GUICHET_PUBLIC_URL": "https://guichet.example.com",
        "GUICHET_SMS_HTTP_URL": "https://sms.invalid/send",
        "GUICHET_SMS_HTTP_TOKEN": "bench",
    }


# --- Data -------------------------------------------------------------------------------------------


def populate(count: int) -> float:
    """``count`` orders with their schedule, 3 instalments and card, loaded with COPY; one consumer."""
    from django.db import connection, transaction

    from guichet.paylater.models import Merchant
    from guichet.paylater.testing import VISA, make_order

    began = time.perf_counter()
    with transaction.atomic():
        # One order through the application (the consumer, the merchant), bought after the run's day.
        first = make_order(email="bench.consumer@example.com", purchased_on=DAY + INTERVAL, card=VISA)
        merchant = Merchant.objects.get()
        customer_id, base = first.customer_id, first.pk + 1
        columns = {
            "paylater_order": (
                "id, merchant_id, number, customer_id, email, phone, purchased_on, purchase_amount, fees, "
                "currency, instalment_count, cancelled_amount, content_hash, source, created_at"
            ),
            "paylater_schedule": "id, order_id, status, version, regularisation_credit, updated_at",
            "paylater_instalment": "schedule_id, number, due_date, amount, status, paid_at, reminded_at",
            "paylater_card": (
                "schedule_id, token, brand, last4, expiry_month, expiry_year, created_at, replaced_at"
            ),
        }
        now = "2026-01-01 00:00:00+00"
        with connection.cursor() as cursor:
            for table, names in columns.items():
                with cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
                    for n in range(count):
                        pk = base + n
                        # Even: 2nd instalment due today; odd: the 3rd and last one.
                        bought = DAY - INTERVAL * (1 if n % 2 == 0 else 2)
                        for row in _rows(table, pk, n, bought, merchant.pk, customer_id, now):
                            copy.write_row(row)
            for table in ("paylater_order", "paylater_schedule"):
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), (SELECT MAX(id) FROM {table}))"  # noqa: S608 (a constant)
                )
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    return time.perf_counter() - began


def _rows(table: str, pk: int, n: int, bought: datetime.date, merchant: int, customer: int, now: str):
    if table == "paylater_order":
        yield (
            pk, merchant, f"B{n:09d}", customer, "bench.consumer@example.com", "+32470123456", bought,
            "127.96", "0.00", "EUR", 3, "0.00", "", "demo", now,
        )  # fmt: skip
    elif table == "paylater_schedule":
        yield (pk, pk, "in_progress", 1, "0.00", now)
    elif table == "paylater_instalment":
        for number, amount in ((1, "42.66"), (2, "42.65"), (3, "42.65")):
            due = bought + INTERVAL * (number - 1)
            status, paid = ("in_progress", None) if due >= DAY else ("paid", now)
            yield (pk, number, due, amount, status, paid, None)
    else:
        yield (pk, TOKEN, "visa", "4242", 12, 2030, now, None)


def reset() -> float:
    """Back to before the run: no payment, no sandbox charge, everything due in progress again."""
    from django.db import connection, transaction

    began = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("TRUNCATE paylater_payment, paylater_sandbox_sandboxcharge")
        cursor.execute(
            "UPDATE paylater_instalment SET status = 'in_progress', paid_at = NULL WHERE due_date = %s", [DAY]
        )
        cursor.execute("UPDATE paylater_schedule SET status = 'in_progress' WHERE status <> 'in_progress'")
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    return time.perf_counter() - began


# --- Checks -----------------------------------------------------------------------------------------


def tally() -> dict[str, int]:
    """What the database says after a run (one SQL statement each)."""
    from django.db import connection

    queries = {
        "due": "SELECT count(*) FROM paylater_instalment WHERE due_date = %(day)s",
        "paid": "SELECT count(*) FROM paylater_instalment WHERE due_date = %(day)s AND status = 'paid'",
        "payments": "SELECT count(*) FROM paylater_payment",
        "pending": "SELECT count(*) FROM paylater_payment WHERE status = 'pending'",
        "charges": "SELECT count(*) FROM paylater_sandbox_sandboxcharge",
        # Sandbox charges beyond one per instalment (the key names the instalment: debit-<id>).
        "extra_charges": (
            "SELECT coalesce(sum(c - 1), 0) FROM (SELECT count(*) AS c FROM paylater_sandbox_sandboxcharge "
            "GROUP BY split_part(idempotency_key, '-', 2)) AS per_instalment"
        ),
        # Instalments presented under more than one key (more than one payment).
        "two_keys": (
            "SELECT count(*) FROM (SELECT instalment_id FROM paylater_payment GROUP BY instalment_id "
            "HAVING count(*) > 1) AS twice"
        ),
        # Due and not charged at the sandbox, or not paid.
        "skipped": (
            "SELECT count(*) FROM paylater_instalment i WHERE i.due_date = %(day)s AND (i.status <> 'paid' "
            "OR NOT EXISTS (SELECT 1 FROM paylater_sandbox_sandboxcharge c "
            "WHERE c.idempotency_key = 'debit-' || i.id AND c.outcome = 'succeeded'))"
        ),
    }
    with connection.cursor() as cursor:
        result = {}
        for name, sql in queries.items():
            cursor.execute(sql, {"day": DAY})
            result[name] = int(cursor.fetchone()[0])
    return result


def timed_run() -> tuple[float, object, float]:
    import psutil

    from guichet.paylater.debits import debit_run

    before = psutil.Process().cpu_times()
    began = time.perf_counter()
    report = debit_run(on=DAY, workers=WORKERS)
    elapsed = time.perf_counter() - began
    after = psutil.Process().cpu_times()
    cpu = sum(after) - sum(before)
    return elapsed, report, cpu


def payments_now() -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM paylater_payment")
        return int(cursor.fetchone()[0])


def killed_halfway(count: int, env: dict[str, str]) -> int:
    """Starts ``manage.py run_debits`` and SIGKILLs it (and its workers) at about half; answers how
    many payments existed then."""
    from django.db import connections

    connections.close_all()
    process = subprocess.Popen(
        [sys.executable, "manage.py", "run_debits", "--date", DAY.isoformat(), "--workers", str(WORKERS)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    try:
        while (made := payments_now()) < count // 2:
            if process.poll() is not None:
                sys.exit(f"run_debits ended before it was killed:\n{process.stderr.read().decode()}")
            time.sleep(0.05)
    finally:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()
    connections.close_all()
    return made


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--instalments", type=int, default=1_000_000, help="Instalments due on the day.")
    options = parser.parse_args()
    count = options.instalments

    admin_url, bench_url = database_urls()
    keep = os.environ.get("BENCH_KEEP_DATABASE") == "1"
    env = bench_env(bench_url)
    try:
        print(f"database {BENCH_DB}: recreating and migrating…", flush=True)
        recreate_database(admin_url, env)
        os.environ.update(env)
        sys.path.insert(0, str(ROOT))
        import django

        django.setup()
        from django.conf import settings

        seconds = populate(count)
        print(
            f"loaded {count} orders, schedules, cards and {3 * count} instalments in {seconds:.1f} s",
            flush=True,
        )

        print(f"1. debit run of {DAY}, {WORKERS} workers, chunks of {settings.GUICHET_PAYLATER_DEBIT_CHUNK}…")
        elapsed, report, cpu = timed_run()
        per_s = count / elapsed
        first = tally()
        print(f"  {report}")
        print(
            f"  wall time {elapsed:.1f} s: {per_s:.0f} instalments/s (target {TARGET_PER_S}/s: "
            f"{'met' if per_s >= TARGET_PER_S else 'NOT met'}); CPU of the run's processes {cpu:.1f} s "
            f"({1000 * cpu / count:.2f} ms per instalment)"
        )
        print(f"  after the run: {first}")
        if first["paid"] != count or first["charges"] != count or first["payments"] != count:
            print("  WARNING: not every instalment due was paid once")

        print(f"2. reset ({reset():.1f} s), run_debits killed halfway, then run again…", flush=True)
        killed_at = killed_halfway(count, env)
        print(f"  killed with {killed_at} payments written; {tally()}")
        restart_elapsed, restart_report, _cpu = timed_run()
        second = tally()
        double_charges = second["extra_charges"] + second["two_keys"]
        print(f"  restart: {restart_report} in {restart_elapsed:.1f} s")
        print(f"  after the restart: {second}")
        print(
            f"  double charges: {second['extra_charges']} extra sandbox charges, {second['two_keys']} "
            f"instalments under two keys; skipped: {second['skipped']}; still pending: {second['pending']}"
        )
        restart_per_s = (count - killed_at) / restart_elapsed if restart_elapsed else 0
        print(
            f"per_s={per_s:.0f} double_charges={double_charges} skipped={second['skipped']} "
            f"killed_at={killed_at} restart_per_s={restart_per_s:.0f}"
        )
    finally:
        if "django.apps" in sys.modules:
            from django.db import connections

            connections.close_all()
        if not keep:
            drop_database(admin_url)


if __name__ == "__main__":
    main()
