"""Benchmark of the document intake: 100,000 generated Peppol BIS 3 invoices imported with
``manage.py import_documents`` on PostgreSQL.

Run from the repository root, with PostgreSQL:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/guichet .venv/bin/python bench/ingest.py [--count N]

It (re)creates its own database (``guichet_bench_ingest`` on the same server; the
database named in the URL is not touched) and migrates it, with production
settings (``guichet.settings.base``) whose ``MEDIA_ROOT`` is moved into a
temporary directory. It creates one issuer (known by its Peppol ID) and 10,000
customer numbers, then generates ``--count`` varied, valid invoices
(``documents.testing_ubl.varied_invoice_xml``: 1 to 10 lines, VAT 21/6/0 %,
allowances and charges, credit notes, structured communications; one in ten
with an embedded PDF, one in five with a PDF beside it) into folders of 1,000
files, in parallel. It then runs the command's own code (``call_command
("import_documents", folder, "--jobs", N, "--quiet", "--report", …)``) and
measures the wall time, and, every 0.1 s, the resident memory (RSS) of the
main process and of its worker processes. It checks that every document was
stored and that one announcement task and one audit event were written per
chunk, and prints the RSS over time (flat memory: the same at a quarter and at
the end of the run).

Last line: ``docs_per_s=… peak_rss_mb=…`` (``peak_rss_mb``: the highest sum of
the RSS of the main process and its workers seen during the import; shared
pages of the forked workers are counted in each, so it is an upper bound).
Environment: ``BENCH_KEEP_DATABASE=1`` keeps the database afterwards. See
bench/README.md.
"""

import argparse
import contextlib
import datetime
import io
import multiprocessing
import os
import secrets
import shutil
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parent))
from login import manage  # the house helper of bench/login.py

ROOT = Path(__file__).resolve().parent.parent
BENCH_DB = "guichet_bench_ingest"
CUSTOMER_NUMBERS = 10_000
PER_FOLDER = 1_000
TARGET_DOCS_PER_S = 1_000
SETTINGS_OVERLAY = """\
from guichet.settings.base import *  # noqa: F403

MEDIA_ROOT = {media_root!r}
STATIC_ROOT = {static_root!r}
"""


def database_urls() -> tuple[str, str]:
    url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/guichet")
    parts = urlsplit(url)
    if parts.scheme not in {"postgres", "postgresql"}:
        sys.exit("bench/ingest.py needs PostgreSQL: DATABASE_URL=postgres://…")
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


def bench_env(workdir: Path, bench_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(workdir), str(ROOT)]),
        "DJANGO_SETTINGS_MODULE": "bench_ingest_settings",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATABASE_URL": bench_url,
        "GUICHET_CACHE_URL": "locmem://",
        "GUICHET_LOG_LEVEL": "WARNING",
        "GUICHET_SMS_HTTP_URL": "https://sms.invalid/send",
        "GUICHET_SMS_HTTP_TOKEN": "bench",
    }


# --- Data -------------------------------------------------------------------------------------------


def populate() -> None:
    """One issuer known by its Peppol ID, and its customer numbers (bulk inserts)."""
    from django.db import transaction

    from guichet.documents.models import Customer, CustomerNumber, Issuer, IssuerIdentifier

    with transaction.atomic():
        issuer = Issuer.objects.create(name="Aubépine Lease Services", prefix="DL2")
        IssuerIdentifier.objects.create(issuer=issuer, scheme="0208", value="0403170701")
        customers = Customer.objects.bulk_create(
            Customer(name=f"Customer {i}") for i in range(CUSTOMER_NUMBERS)
        )
        CustomerNumber.objects.bulk_create(
            CustomerNumber(
                issuer=issuer,
                number=f"{100000 + i}",
                customer=customer,
                contact_name=f"Contact {i}",
                contact_email=f"contact{i}@example.com",
                contact_language=("fr", "nl", "en", "de")[i % 4],
            )
            for i, customer in enumerate(customers)
        )


def _generate(task: tuple[str, int, int, str]) -> int:
    """Writes invoices ``start`` to ``stop`` into ``folder`` (a worker of the generation pool)."""
    folder, start, stop, today_text = task
    from guichet.documents.testing import PDF
    from guichet.documents.testing_ubl import varied_invoice_xml

    today = datetime.date.fromisoformat(today_text)
    Path(folder).mkdir(parents=True, exist_ok=True)
    for n in range(start, stop):
        name = f"INV-{n:07d}"
        content = varied_invoice_xml(
            n,
            number=name,
            buyer_reference=f"{100000 + n % CUSTOMER_NUMBERS}",
            issue_date=today - datetime.timedelta(days=n % 300),
            pdf=PDF if n % 10 == 0 else None,
        )
        (Path(folder) / f"{name}.xml").write_bytes(content)
        if n % 5 == 1:
            (Path(folder) / f"{name}.pdf").write_bytes(PDF)
    return stop - start


def generate(folder: Path, count: int) -> float:
    from django.utils import timezone

    today = timezone.localdate().isoformat()
    tasks = [
        (str(folder / f"{start // PER_FOLDER:04d}"), start, min(start + PER_FOLDER, count), today)
        for start in range(0, count, PER_FOLDER)
    ]
    began = time.perf_counter()
    with multiprocessing.get_context("fork").Pool(os.cpu_count() or 2) as pool:
        generated = sum(pool.imap_unordered(_generate, tasks))
    assert generated == count
    return time.perf_counter() - began


# --- Measurement ------------------------------------------------------------------------------------


class MemorySampler(threading.Thread):
    """The RSS of this process and of its children, every ``interval`` seconds."""

    def __init__(self, interval: float = 0.1) -> None:
        super().__init__(daemon=True)
        import psutil

        self.process = psutil.Process()
        self.interval = interval
        self.samples: list[tuple[float, float, float, int]] = []  # (t, main MB, total MB, workers)
        self.peak_worker_mb = 0.0
        self.peak_pss_mb = 0.0
        self.stopped = threading.Event()

    def run(self) -> None:
        import psutil

        began = time.perf_counter()
        while not self.stopped.wait(self.interval):
            main = self.process.memory_info().rss
            workers = []
            for child in self.process.children(recursive=True):
                try:
                    workers.append(child.memory_info().rss)
                except psutil.Error:
                    continue
            self.peak_worker_mb = max([self.peak_worker_mb] + [w / 2**20 for w in workers])
            if len(self.samples) % 20 == 0:  # proportional set size (shared pages split): every 2 s
                with contextlib.suppress(psutil.Error):
                    pss = self.process.memory_full_info().pss + sum(
                        c.memory_full_info().pss for c in self.process.children(recursive=True)
                    )
                    self.peak_pss_mb = max(self.peak_pss_mb, pss / 2**20)
            self.samples.append(
                (time.perf_counter() - began, main / 2**20, (main + sum(workers)) / 2**20, len(workers))
            )

    def stop(self) -> None:
        self.stopped.set()
        self.join()


def import_folder(folder: Path, report: Path, jobs: int) -> tuple[float, MemorySampler, str]:
    import psutil
    from django.core.management import CommandError, call_command

    err = io.StringIO()
    sampler = MemorySampler()
    sampler.start()
    cpu_before = psutil.Process().cpu_times()
    began = time.perf_counter()
    try:
        call_command(
            "import_documents",
            str(folder),
            "--jobs",
            str(jobs),
            "--quiet",
            "--report",
            str(report),
            stdout=io.StringIO(),
            stderr=err,
        )
    except CommandError as error:
        err.write(f"\n{error}")
    elapsed = time.perf_counter() - began
    sampler.stop()
    cpu = psutil.Process().cpu_times()
    main_cpu = cpu.user + cpu.system - cpu_before.user - cpu_before.system
    workers_cpu = (
        cpu.children_user + cpu.children_system - cpu_before.children_user - cpu_before.children_system
    )
    err.write(f"\n  CPU: main process {main_cpu:.1f} s, workers {workers_cpu:.1f} s")
    return elapsed, sampler, err.getvalue().strip()


def check(count: int) -> None:
    from django.conf import settings
    from django_tasks_db.models import DBTaskResult

    from guichet.audit.models import AuditEvent
    from guichet.documents.models import Document

    chunk = settings.GUICHET_INTAKE_CHUNK_SIZE
    documents = Document.objects.count()
    tasks = DBTaskResult.objects.filter(task_path="guichet.documents.tasks.announce_documents").count()
    events = AuditEvent.objects.filter(action="documents.imported").count()
    with_pdf = Document.objects.exclude(pdf="").count()
    print(
        f"  stored: {documents} documents ({with_pdf} with a PDF), {tasks} announcement tasks, "
        f"{events} audit events (chunks of {chunk})"
    )
    if documents != count or tasks != events or tasks != -(-count // chunk):
        print("  WARNING: not every document was stored, or not one task and one event per chunk")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--count", type=int, default=100_000, help="Invoices to generate and import.")
    parser.add_argument("--jobs", type=int, default=os.cpu_count() or 2, help="--jobs of the command.")
    options = parser.parse_args()

    admin_url, bench_url = database_urls()
    workdir = Path(tempfile.mkdtemp(prefix="guichet-bench-ingest-"))
    keep = os.environ.get("BENCH_KEEP_DATABASE") == "1"
    try:
        (workdir / "bench_ingest_settings.py").write_text(
            SETTINGS_OVERLAY.format(media_root=str(workdir / "media"), static_root=str(workdir / "static"))
        )
        env = bench_env(workdir, bench_url)
        print(f"database {BENCH_DB}: recreating and migrating…", flush=True)
        recreate_database(admin_url, env)
        os.environ.update(env)
        sys.path[:0] = [str(workdir), str(ROOT)]
        import django

        django.setup()
        populate()
        from django.db import connection

        connection.close()  # no connection inherited by the forked generators
        inbox = workdir / "inbox"
        seconds = generate(inbox, options.count)
        size = sum(f.stat().st_size for f in inbox.rglob("*") if f.is_file()) / 2**20
        print(
            f"generated {options.count} invoices ({size:.0f} MB with their PDFs) in {seconds:.1f} s",
            flush=True,
        )
        print(f"importing with --jobs {options.jobs}…", flush=True)
        elapsed, sampler, summary = import_folder(inbox, workdir / "report.csv", options.jobs)
        print(f"  {summary}")
        check(options.count)
        rate = options.count / elapsed
        peak = max(total for _t, _main, total, _n in sampler.samples)
        peak_main = max(main for _t, main, _total, _n in sampler.samples)
        print(
            f"  wall time {elapsed:.1f} s: {rate:.0f} documents/s (target {TARGET_DOCS_PER_S}/s: "
            f"{'met' if rate >= TARGET_DOCS_PER_S else 'NOT met'})"
        )
        print(
            f"  peak RSS: main {peak_main:.1f} MB, one worker {sampler.peak_worker_mb:.1f} MB, "
            f"main + workers {peak:.1f} MB (proportional set size: {sampler.peak_pss_mb:.1f} MB)"
        )
        samples = [s for s in sampler.samples if s[3] > 0] or sampler.samples
        for fraction in (0.1, 0.25, 0.5, 0.75, 1.0):
            t, main, total, workers = samples[min(int(len(samples) * fraction), len(samples) - 1)]
            print(f"    at {t:6.1f} s: main {main:6.1f} MB, main + {workers} workers {total:6.1f} MB")
        print(f"docs_per_s={rate:.0f} peak_rss_mb={peak:.0f}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        if not keep:
            drop_database(admin_url)


if __name__ == "__main__":
    main()
