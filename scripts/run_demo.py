"""Runs the demo web server and a task worker together; Ctrl-C stops both."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.core.management.color import color_style


def sca_notes(port: str) -> list[str]:
    """How to log on with the demo's authenticator app (its key is demo data) and with a passkey."""
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "guichet.settings.demo")
    import django

    django.setup()
    from guichet.web.demo import PERSONAS, totp_uri

    lines = []
    for persona in PERSONAS:
        if persona.totp_secret:
            lines.append(
                f"Authenticator app of {persona.user_id} (password {persona.password}): add the key "
                f"{persona.totp_secret} (time-based, 6 digits) to any authenticator app, or this URI:"
            )
            lines.append(f"  {totp_uri(persona)}")
    lines.append(
        f"Passkeys: use http://localhost:{port}/ (WebAuthn needs a domain name, not 127.0.0.1); "
        "add one on the Security page."
    )
    return lines


def main() -> int:
    port = os.environ.get("PORT", "8000")
    python = sys.executable
    style = color_style()
    print(
        style.SUCCESS(f"Guichet demo on http://127.0.0.1:{port}/  (Ctrl-C stops the server and the worker)")
    )
    print(f"Every e-mail and SMS sent: http://127.0.0.1:{port}/dev/outbox/ (JSON: /dev/outbox.json)")
    print("\n".join(sca_notes(port)) + "\n")
    processes = [
        # 127.0.0.1 also answers http://localhost:<port>/ on this machine (passkeys need the name).
        subprocess.Popen([python, "manage.py", "runserver", f"127.0.0.1:{port}", "--noreload"]),
        subprocess.Popen([python, "manage.py", "run_worker", "--interval", "0.5"]),
    ]
    try:
        while all(p.poll() is None for p in processes):
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in processes:
            try:
                process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                process.kill()
    print("\nDemo stopped.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
