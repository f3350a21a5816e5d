"""Benchmark of password logins: logins per second through the real login endpoint,
against the raw rate of Argon2id verifications on the same cores.

Run from the repository root, with PostgreSQL and Redis:

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/guichet .venv/bin/python bench/login.py

It (re)creates its own database (``guichet_bench_login`` on the same server),
creates provisioned users who are fully set up, serves the application with
gunicorn (2 sync workers, production settings) and drives
``POST /fr/accounts/login/`` with wrk (bench/login.lua), then measures
Argon2id verifications at the production parameters in 2 processes. The last
line is ``ratio=… logins_per_s=… argon2_per_s=…``. See bench/README.md.
"""

import contextlib
import multiprocessing
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
from collections.abc import Iterator
from http.client import HTTPConnection
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
BENCH_DB = "guichet_bench_login"
USERS = int(os.environ.get("BENCH_USERS", "2000"))
SECONDS = int(os.environ.get("BENCH_SECONDS", "30"))  # of logins in all, split into ROUNDS
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
WARM_UP_SECONDS = 5
CONNECTIONS = int(os.environ.get("BENCH_CONNECTIONS", "4"))
WORKERS = 2
ARGON2_SECONDS = 5.0
BUSY_MACHINE = 0.15  # cores used by other processes above which the figures are unreliable
# Lower case: with ACCOUNT_PRESERVE_USERNAME_CASING = False, allauth looks a
# login up as ``user_id IN (lower(login))``, an exact match.
USER_PREFIX = "bench"
PASSWORD = "Bench-Login-2026!"  # noqa: S105 (benchmark data)
# Django's CSRF check, on plain HTTP (no Referer check), only compares the
# secret in the csrftoken cookie with the one in the form field; any 32
# characters from its alphabet are a valid secret. Sending the same fixed
# value as cookie and field lets every wrk request be a fresh, anonymous
# browser POST without a GET of the form first, which a real browser does but
# which costs no password verification and would only dilute the figure.
CSRF_SECRET = "BenchLoginCsrfSecret0123456789ab"  # noqa: S105 (not a secret)
CACHE_URL = os.environ.get("BENCH_CACHE_URL", "redis://127.0.0.1:6379/5")
# The production settings, with one deployment path changed: the collected
# static files go to the benchmark's temporary directory, not to the
# checkout's staticfiles/ (whose presence would change what other processes
# of the checkout serve).
SETTINGS_OVERLAY = """\
from guichet.settings.base import *  # noqa: F403

STATIC_ROOT = {static_root!r}
"""


def database_urls() -> tuple[str, str]:
    url = os.environ.get("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/guichet")
    parts = urlsplit(url)
    if parts.scheme not in {"postgres", "postgresql"}:
        sys.exit("bench/login.py needs PostgreSQL: DATABASE_URL=postgres://…")
    return urlunsplit(parts._replace(path="/postgres")), urlunsplit(parts._replace(path=f"/{BENCH_DB}"))


def wrk_ensure() -> str:
    """wrk from Debian's packages, installed if missing (as .ci/run does for chromium)."""
    if not shutil.which("wrk"):
        print("installing wrk (apt-get install wrk)")
        apt_env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=apt_env)
        subprocess.run(
            ["apt-get", "install", "-y", "-qq", "wrk"], check=True, env=apt_env, stdout=subprocess.DEVNULL
        )
    return shutil.which("wrk") or sys.exit("wrk is not installed and could not be installed")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def manage(*args: str, env: dict[str, str]) -> None:
    done = subprocess.run(
        [sys.executable, "manage.py", *args], cwd=ROOT, env=env, capture_output=True, text=True
    )
    if done.returncode:
        sys.exit(f"manage.py {' '.join(args)} failed:\n{done.stderr}")


def recreate_database(admin_url: str, env: dict[str, str]) -> None:
    import psycopg

    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {BENCH_DB} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {BENCH_DB}")
    manage("migrate", "--no-input", "-v", "0", env=env)
    manage("collectstatic", "--no-input", "-v", "0", env=env)


def users_create(count: int) -> str:
    """``count`` provisioned users, set up and with the current agreement accepted.

    Hashing each password with Argon2id at 64 MiB would take minutes, so the
    password is hashed once and every user gets the same encoded hash (same
    salt). That changes nothing for the benchmark: a login verifies the
    password against the user's hash, which is a full Argon2id computation
    whatever the salt; nothing is cached between logins.
    Returns the encoded hash.
    """
    from django.contrib.auth.hashers import make_password
    from django.db import transaction

    from guichet.identity.models import AccountKind, AgreementAcceptance, User, UserAgreement

    encoded = make_password(PASSWORD)
    with transaction.atomic():
        users = User.objects.bulk_create(
            User(
                user_id=f"{USER_PREFIX}{i:05d}",
                email=f"bench.user{i}@example.com",
                mobile_phone=f"+3247{i:07d}",
                first_name="Bench",
                last_name=f"User {i}",
                kind=AccountKind.PROVISIONED,
                password=encoded,
            )
            for i in range(1, count + 1)
        )
        # A published agreement, accepted by everyone: the agreement stage
        # runs its query at each login and lets the user through.
        for code, _name in (("fr", ""), ("nl", ""), ("en", ""), ("de", "")):
            UserAgreement.objects.create(version=1, language=code, title="Agreement", text="Article 1.")
        AgreementAcceptance.objects.bulk_create(
            AgreementAcceptance(user=user, version=1, language="fr", ip_address="127.0.0.1") for user in users
        )
    return encoded


@contextlib.contextmanager
def gunicorn(env: dict[str, str], port: int, log: Path) -> Iterator[subprocess.Popen]:
    command = [
        str(Path(sys.executable).with_name("gunicorn")),
        "guichet.wsgi:application",
        "--workers",
        str(WORKERS),
        "--worker-class",
        "sync",
        "--bind",
        f"127.0.0.1:{port}",
        "--log-level",
        "warning",
        "--error-logfile",
        str(log),
    ]
    with open(log.with_suffix(".out"), "w") as out:
        server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while http_request(port, "GET", "/healthz")[0] != 200:
            if server.poll() is not None or time.monotonic() > deadline:
                sys.exit(f"gunicorn did not start; see {log}")
            time.sleep(0.2)
        yield server
    finally:
        server.terminate()
        server.wait(timeout=30)


def http_request(port: int, method: str, path: str, body: str = "") -> tuple[int, str]:
    """(status, Location); status 0 when the server does not answer yet."""
    connection = HTTPConnection("127.0.0.1", port, timeout=10)
    headers = {"Content-Type": "application/x-www-form-urlencoded", "Cookie": f"csrftoken={CSRF_SECRET}"}
    try:
        connection.request(method, path, body=body, headers=headers)
        response = connection.getresponse()
        response.read()
        return response.status, response.getheader("Location") or ""
    except OSError:
        return 0, ""
    finally:
        connection.close()


def login_body(user_id: str, password: str) -> str:
    return urllib.parse.urlencode(
        {"csrfmiddlewaretoken": CSRF_SECRET, "login": user_id, "password": password}
    )


def sanity_check(port: int) -> None:
    """One right and one wrong login by hand, so that wrk measures what we think."""
    checks = [
        (("GET", "/fr/accounts/login/"), (200, "")),
        (("POST", "/fr/accounts/login/", login_body(f"{USER_PREFIX}00001", PASSWORD)), (302, "/fr/")),
        (("POST", "/fr/accounts/login/", login_body(f"{USER_PREFIX}00002", "Wrong-Pass-1!")), (200, "")),
    ]
    for request, expected in checks:
        got = http_request(port, *request)
        if got != expected:
            sys.exit(f"sanity check failed: {request[:2]} answered {got}, expected {expected}")


def wrk_run(wrk: str, port: int, seconds: int) -> dict[str, int]:
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
        "--script",
        str(ROOT / "bench" / "login.lua"),
        f"http://127.0.0.1:{port}",
        "--",
        str(USERS),
        USER_PREFIX,
        PASSWORD,
        CSRF_SECRET,
        "2",  # threads: each takes every other user
    ]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode:
        sys.exit(f"wrk failed:\n{done.stdout}\n{done.stderr}")
    return {
        match[1]: int(match[2])
        for match in re.finditer(r"^BENCH (?:status )?(\S+) (\d+)$", done.stdout, re.M)
    }


def machine_busy_seconds() -> float:
    """CPU time used on the whole machine (all cores), from /proc/stat."""
    with open("/proc/stat") as stat:
        user, nice, system, _idle, _iowait, irq, softirq, steal = map(int, stat.readline().split()[1:9])
    return (user + nice + system + irq + softirq + steal) / os.sysconf("SC_CLK_TCK")


def children_cpu_seconds() -> float:
    """CPU time of this process's finished children (wrk, the Argon2id processes)."""
    import resource

    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def cpu_snapshot(server_pid: int) -> dict[str, float]:
    return {
        "machine": machine_busy_seconds(),
        "workers": tree_cpu_seconds(server_pid),
        "postgres": postgres_cpu_seconds(),
        "ours": children_cpu_seconds(),
    }


def cpu_used(before: dict[str, float], server_pid: int) -> dict[str, float]:
    """CPU seconds since ``before``; "others" is what processes not ours took on the machine."""
    used = {key: value - before[key] for key, value in cpu_snapshot(server_pid).items()}
    used["others"] = max(used["machine"] - used["workers"] - used["postgres"] - used["ours"], 0.0)
    return used


def postgres_cpu_seconds() -> float:
    """CPU time of every PostgreSQL process (the server is shared by the benchmark only)."""
    import psutil

    total = 0.0
    for process in psutil.process_iter(["name", "cpu_times"]):
        if process.info["name"] in {"postgres", "postmaster"} and process.info["cpu_times"]:
            total += process.info["cpu_times"].user + process.info["cpu_times"].system
    return total


def tree_cpu_seconds(pid: int) -> float:
    import psutil

    parent = psutil.Process(pid)
    total = 0.0
    for process in [parent, *parent.children(recursive=True)]:
        with contextlib.suppress(psutil.NoSuchProcess):
            times = process.cpu_times()
            total += times.user + times.system + times.children_user + times.children_system
    return total


def argon2_verifier(encoded: str, seconds: float, start: object, rate: object, cpu_ms: object) -> None:
    """Runs in its own process: Argon2id verifications back to back for ``seconds``."""
    import argon2

    hasher = argon2.PasswordHasher()  # the parameters are read from the hash, as Django does
    argon2_hash = "$" + encoded.split("$", 1)[1]
    hasher.verify(argon2_hash, PASSWORD)  # warm-up: library load, first allocation
    start.wait()  # type: ignore[attr-defined]
    count, began, cpu = 0, time.perf_counter(), time.process_time()
    while (elapsed := time.perf_counter() - began) < seconds:
        hasher.verify(argon2_hash, PASSWORD)
        count += 1
    rate.value = count / elapsed  # type: ignore[attr-defined]
    cpu_ms.value = (time.process_time() - cpu) * 1000 / count  # type: ignore[attr-defined]


def argon2_rate(encoded: str) -> tuple[float, float]:
    """Verifications per second of 2 processes together, one per core as the 2 workers,
    and the CPU time of one verification (ms)."""
    spawn = multiprocessing.get_context("spawn")
    start = spawn.Event()
    results = [(spawn.Value("d", 0.0), spawn.Value("d", 0.0)) for _ in range(WORKERS)]
    processes = [
        spawn.Process(target=argon2_verifier, args=(encoded, ARGON2_SECONDS, start, *result))
        for result in results
    ]
    for process in processes:
        process.start()
    time.sleep(1.0)  # let both reach the start line
    start.set()
    for process in processes:
        process.join()
    return sum(rate.value for rate, _ in results), sum(cpu.value for _, cpu in results) / WORKERS


def server_env(workdir: Path, bench_url: str) -> dict[str, str]:
    return {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(workdir), str(ROOT)]),
        "DJANGO_SETTINGS_MODULE": "bench_login_settings",
        "DJANGO_SECRET_KEY": secrets.token_urlsafe(50),
        "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
        "DATABASE_URL": bench_url,
        "GUICHET_CACHE_URL": CACHE_URL,
        "GUICHET_SSL_REDIRECT": "false",  # plain HTTP on loopback; no TLS proxy in front
        "GUICHET_RATE_LIMITS_OFF": "true",  # every request comes from 127.0.0.1
        "GUICHET_LOG_LEVEL": "WARNING",
        "GUICHET_SMS_HTTP_URL": "https://sms.invalid/send",  # nothing is sent during a login
        "GUICHET_SMS_HTTP_TOKEN": "bench",
    }


def main() -> None:
    admin_url, bench_url = database_urls()
    wrk = wrk_ensure()
    workdir = Path(tempfile.mkdtemp(prefix="guichet-bench-login-"))
    (workdir / "bench_login_settings.py").write_text(
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
    from django.conf import settings
    from django.db import connection

    start = time.perf_counter()
    encoded = users_create(USERS)
    connection.close()
    print(
        f"{USERS} users created in {time.perf_counter() - start:.1f} s; hasher {settings.PASSWORD_HASHERS[0]}"
    )
    print(f"password hash: {encoded.split('$')[1]} {encoded.split('$')[3]}")

    # Rounds of (Argon2id alone, gunicorn idle) then (logins): on a shared
    # machine the speed of the cores drifts, and interleaving gives both
    # measurements the same conditions.
    port = free_port()
    totals: dict[str, int] = {}
    argon2_rates: list[float] = []
    argon2_cpu: list[float] = []
    foreign_load: list[float] = []
    latencies: list[dict[str, int]] = []
    login_seconds = 0.0
    cpu = dict.fromkeys(("machine", "workers", "postgres", "ours", "others"), 0.0)
    with gunicorn(env, port, workdir / "gunicorn.log") as server:
        sanity_check(port)
        wrk_run(wrk, port, WARM_UP_SECONDS)
        for round_ in range(1, ROUNDS + 1):
            before, began = cpu_snapshot(server.pid), time.perf_counter()
            rate, cpu_ms = argon2_rate(encoded)
            argon2_others = cpu_used(before, server.pid)["others"] / (time.perf_counter() - began)
            foreign_load.append(argon2_others)
            argon2_rates.append(rate)
            argon2_cpu.append(cpu_ms)
            before = cpu_snapshot(server.pid)
            result = wrk_run(wrk, port, SECONDS // ROUNDS)
            used = cpu_used(before, server.pid)
            duration = result.pop("duration_us") / 1e6
            for key in cpu:
                cpu[key] += used[key]
            login_seconds += duration
            latencies.append(result)
            for key, count in result.items():
                totals[key] = totals.get(key, 0) + count
            logins = result.get("302-home", 0) / duration
            foreign_load.append(used["others"] / duration)
            print(
                f"round {round_}: Argon2id {rate:.1f}/s ({WORKERS} processes, {cpu_ms:.0f} ms CPU each), "
                f"then logins {logins:.1f}/s for {duration:.1f} s: ratio {logins / rate:.3f}; "
                f"other processes on the machine took {argon2_others:.2f} and "
                f"{used['others'] / duration:.2f} cores"
            )

    successes = totals.get("302-home", 0)
    others = {key: count for key, count in totals.items() if key.isdigit()}
    logins_per_s = successes / login_seconds
    argon2_per_s = sum(argon2_rates) / len(argon2_rates)
    print(
        f"wrk: {CONNECTIONS} connections, {login_seconds:.1f} s in all, {totals['requests']} requests, "
        f"{successes} logins (302 to the home page); other answers: {others or 'none'}; "
        f"socket errors: {totals['socket_errors']}"
    )
    print(
        "latency (worst round): p50 {:.0f} ms, p90 {:.0f} ms, p99 {:.0f} ms, max {:.0f} ms".format(
            *(max(r[f"latency_{p}_us"] for r in latencies) / 1000 for p in ("p50", "p90", "p99", "max"))
        )
    )
    if successes:
        verify_ms = sum(argon2_cpu) / len(argon2_cpu)
        per_login = {key: value * 1000 / successes for key, value in cpu.items()}
        print(
            f"CPU per login: {per_login['workers']:.1f} ms in the gunicorn workers, "
            f"{per_login['postgres']:.1f} ms in PostgreSQL, {per_login['ours']:.1f} ms in wrk; "
            f"one Argon2id verification alone: {verify_ms:.1f} ms "
            f"({verify_ms / (per_login['workers'] + per_login['postgres']):.0%} of workers + PostgreSQL)"
        )
        print(
            f"during the logins: {cpu['machine'] / login_seconds:.2f} of {os.cpu_count()} cores busy, "
            f"{cpu['others'] / login_seconds:.2f} by processes that are not the benchmark's"
        )
    if max(foreign_load) > BUSY_MACHINE:
        print(
            f"WARNING: other processes took up to {max(foreign_load):.2f} cores during the measurements; "
            "the figures are not reliable, run again on a quiet machine"
        )
    failures = sum(others.values()) + totals["socket_errors"]
    if not successes or failures > 0.01 * (successes + failures):
        sys.exit(
            f"too many failed logins: {failures} of {successes + failures}; see {workdir / 'gunicorn.log'}"
        )
    shutil.rmtree(workdir, ignore_errors=True)
    ratio = logins_per_s / argon2_per_s
    print(f"ratio={ratio:.3f} logins_per_s={logins_per_s:.1f} argon2_per_s={argon2_per_s:.1f}")


if __name__ == "__main__":
    sys.stdout.reconfigure(line_buffering=True)  # type: ignore[union-attr]
    main()
