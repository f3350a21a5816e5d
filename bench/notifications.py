"""Benchmark of e-mail delivery: throughput of one and two workers, and a worker's memory.

Run from the repository root, with PostgreSQL:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/guichet .venv/bin/python bench/notifications.py

It (re)creates its own database (``guichet_bench`` on the same server),
starts a real SMTP server (aiosmtpd) on loopback in a separate process, queues
e-mails with ``notify()`` and runs ``manage.py run_worker`` processes against
them. The last line is ``per_worker_per_s=… workers2_per_s=… rss_mb=…``.
See bench/README.md.
"""

import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import time
from multiprocessing.sharedctypes import Synchronized
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
BENCH_DB = "guichet_bench"
MESSAGES = int(os.environ.get("BENCH_MESSAGES", "10000"))
WARM_UP = 100  # deliveries not timed: process start, imports, first connections
SETTINGS = "guichet.notifications.tests.smtp_settings"  # test settings (DEBUG off) + SMTP backend


def smtp_server(port: int, received: Synchronized, duplicates: Synchronized, ready: object) -> None:
    """Runs in its own process so that it does not take the workers' CPU."""
    import asyncio
    import logging

    from aiosmtpd.controller import Controller

    logging.getLogger("mail.log").setLevel(logging.WARNING)
    seen: set[bytes] = set()

    class Handler:
        async def handle_DATA(self, server: object, session: object, envelope: object) -> str:
            content: bytes = envelope.content  # type: ignore[attr-defined]
            start = content.find(b"Message-ID: ")
            message_id = content[start : content.find(b"\n", start)]
            with received.get_lock():
                received.value += 1
            if message_id in seen:
                with duplicates.get_lock():
                    duplicates.value += 1
            seen.add(message_id)
            return "250 OK"

    controller = Controller(Handler(), hostname="127.0.0.1", port=port)
    controller.start()
    ready.set()  # type: ignore[attr-defined]
    asyncio.run(asyncio.Event().wait())  # until terminated


def database_urls() -> tuple[str, str]:
    url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/guichet")
    parts = urlsplit(url)
    if parts.scheme not in {"postgres", "postgresql"}:
        sys.exit("bench/notifications.py needs PostgreSQL: DATABASE_URL=postgres://…")
    return urlunsplit(parts._replace(path="/postgres")), urlunsplit(parts._replace(path=f"/{BENCH_DB}"))


def recreate_database(admin_url: str, bench_url: str, env: dict[str, str]) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {BENCH_DB}")
    migrate = subprocess.run(
        [sys.executable, "manage.py", "migrate", "--no-input", "-v", "0"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    if migrate.returncode:
        sys.exit(f"migrate failed:\n{migrate.stderr}")


def enqueue(count: int, offset: int) -> float:
    """Queues ``count`` e-mails the way the application does; returns messages per second."""
    from django.db import transaction

    from guichet.notifications.services import notify

    start = time.perf_counter()
    for first in range(0, count, 500):
        with transaction.atomic():
            for i in range(first, min(first + 500, count)):
                notify(
                    template="test_message",
                    context={"name": f"Customer {offset + i}", "code": f"{offset + i:06d}"},
                    email=f"customer{offset + i}@example.com",
                    language=("fr", "nl", "en", "de")[i % 4],
                    idempotency_key=f"bench-{offset + i}",
                )
    return count / (time.perf_counter() - start)


def start_workers(count: int, env: dict[str, str]) -> list[subprocess.Popen]:
    command = [
        sys.executable,
        "manage.py",
        "run_worker",
        "--interval",
        "0.1",
        "--no-startup-delay",
        "--threads",
        os.environ.get("BENCH_THREADS", "4"),
    ]
    return [
        subprocess.Popen(command, cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        for _ in range(count)
    ]


def stop(workers: list[subprocess.Popen]) -> None:
    for worker in workers:
        worker.send_signal(signal.SIGTERM)
    for worker in workers:
        worker.wait(timeout=30)


def wait_for(received: Synchronized, target: int, timeout: float = 600) -> float:
    deadline = time.monotonic() + timeout
    while received.value < target:
        if time.monotonic() > deadline:
            sys.exit(f"timed out: {received.value} of {target} e-mails received")
        time.sleep(0.005)
    return time.perf_counter()


def rss_mb(process: subprocess.Popen) -> float:
    import psutil

    return psutil.Process(process.pid).memory_info().rss / 2**20


def cpu_seconds(process: subprocess.Popen | multiprocessing.Process) -> float:
    import psutil

    times = psutil.Process(process.pid).cpu_times()
    return times.user + times.system


def main() -> None:
    admin_url, bench_url = database_urls()
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": SETTINGS,
        "DATABASE_URL": bench_url,
        "EMAIL_HOST": "127.0.0.1",
        "EMAIL_PORT": str(port),
        "GUICHET_LOG_LEVEL": os.environ.get("GUICHET_LOG_LEVEL", "INFO"),
    }
    recreate_database(admin_url, bench_url, env)
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    import django

    django.setup()

    spawn = multiprocessing.get_context("spawn")
    received, duplicates, ready = spawn.Value("i", 0), spawn.Value("i", 0), spawn.Event()
    server = spawn.Process(target=smtp_server, args=(port, received, duplicates, ready), daemon=True)
    server.start()
    ready.wait(10)
    try:
        # One worker: throughput, and its memory after 1,000 and 10,000 messages.
        rate = enqueue(MESSAGES, 0)
        print(f"queued {MESSAGES} e-mails with notify(): {rate:.0f}/s")
        [worker] = start_workers(1, env)
        start = wait_for(received, WARM_UP)
        cpu_start, server_cpu_start = cpu_seconds(worker), cpu_seconds(server)
        wait_for(received, 1000)
        rss_1k = rss_mb(worker)
        end = wait_for(received, MESSAGES)
        rss_10k, cpu_ms = rss_mb(worker), (cpu_seconds(worker) - cpu_start) * 1000 / (MESSAGES - WARM_UP)
        server_ms = (cpu_seconds(server) - server_cpu_start) * 1000 / (MESSAGES - WARM_UP)
        stop([worker])
        per_worker = (MESSAGES - WARM_UP) / (end - start)
        print(f"1 worker: {per_worker:.0f} e-mails/s, {cpu_ms:.2f} ms of worker CPU per e-mail")
        print(f"the SMTP server (same machine) used {server_ms:.2f} ms of CPU per e-mail")
        print(f"worker RSS: {rss_1k:.1f} MB after 1,000 e-mails, {rss_10k:.1f} MB after {MESSAGES:,}")

        # Two workers on the next batch.
        enqueue(MESSAGES, MESSAGES)
        workers = start_workers(2, env)
        start = wait_for(received, MESSAGES + WARM_UP)
        end = wait_for(received, 2 * MESSAGES)
        stop(workers)
        two_workers = (MESSAGES - WARM_UP) / (end - start)
        print(f"2 workers: {two_workers:.0f} e-mails/s together; duplicates received: {duplicates.value}")
    finally:
        server.terminate()
    print(f"load average during the run: {os.getloadavg()[1]:.1f} on {os.cpu_count()} CPUs")
    print(f"per_worker_per_s={per_worker:.0f} workers2_per_s={two_workers:.0f} rss_mb={rss_10k:.1f}")


if __name__ == "__main__":
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    main()
