"""Why browser-test page loads stalled: the demo server's output pipe.

    uv run python bench/bench_demo_output.py           # output piped and never read (as the fixture did)
    uv run python bench/bench_demo_output.py --drain   # output read as it comes (tests/browser/conftest.py)

Starts `yiyang demo` on a fresh database with its output on a pipe, then requests /login/ up to 2,000
times, one after another, with a 20 s timeout. Undrained, the pipe fills after ~64 KB of gunicorn access
log (about 600 requests) and every server thread blocks on its next log line: the request times out.
Prints the number of requests served, the slowest one, and where it stalled if it did.
"""

import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.core.test_demo import demo_env, free_port, stop, wait_for_health  # noqa: E402

REQUESTS = 2000


def main() -> None:
    drain = "--drain" in sys.argv
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "yiyang.cli", "demo", "--port", str(port)],
        cwd=tempfile.mkdtemp(),
        env=demo_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_health(base, process, 400)
        if drain:
            threading.Thread(target=lambda: [None for _ in process.stdout], daemon=True).start()
        slowest, served, stalled = 0.0, 0, None
        for i in range(REQUESTS):
            started = time.monotonic()
            try:
                urllib.request.urlopen(f"{base}/login/", timeout=20).read()
            except OSError as exc:
                stalled = f"request {i + 1} got no answer in 20 s ({exc})"
                break
            slowest = max(slowest, time.monotonic() - started)
            served += 1
    finally:
        stop(process)
    mode = "drained" if drain else "piped, unread"
    print(f"output {mode}: {served}/{REQUESTS} requests served, slowest {slowest:.2f}s" + (f"; stalled: {stalled}" if stalled else ""))


if __name__ == "__main__":
    main()
