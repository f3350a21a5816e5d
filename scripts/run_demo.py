"""Runs the demo web server and a task worker together; Ctrl-C stops both."""

import os
import signal
import subprocess
import sys
import time

from django.core.management.color import color_style


def main() -> int:
    port = os.environ.get("PORT", "8000")
    python = sys.executable
    style = color_style()
    print(
        style.SUCCESS(f"Guichet demo on http://127.0.0.1:{port}/  (Ctrl-C stops the server and the worker)")
    )
    print(f"Every e-mail and SMS sent: http://127.0.0.1:{port}/dev/outbox/ (JSON: /dev/outbox.json)\n")
    processes = [
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
