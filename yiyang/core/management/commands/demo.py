"""`yiyang demo`: set up an embedded demo and run the web server, task worker and scheduler."""

import signal
import socket
import subprocess
import sys
import time

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from yiyang.core.demo import demo_password, demo_setup, var_dir


class Command(BaseCommand):
    help = "Set up the demo database (migrations, regions, demo accounts) and run the platform."

    def add_arguments(self, parser):
        parser.add_argument("--host", default="127.0.0.1")
        parser.add_argument("--port", type=int, default=8000)
        parser.add_argument("--workers", type=int, default=2, help="web server worker processes")
        parser.add_argument("--setup-only", action="store_true", help="set up and exit without serving")

    def handle(self, *args, host: str, port: int, workers: int, setup_only: bool, **options):
        started = time.monotonic()
        if not setup_only:
            self._check_port_free(host, port)
        self.stdout.write(f"Database: {connection.vendor} {connection.settings_dict['NAME']}")
        call_command("migrate", interactive=False, verbosity=0)
        call_command("collectstatic", interactive=False, verbosity=0)
        password, from_env = demo_password(var_dir())
        accounts = demo_setup(password=password, reset_passwords=True)
        self.stdout.write(f"Set up in {time.monotonic() - started:.1f}s")
        if setup_only:
            self._print_logins(accounts, password, from_env, None)
            return
        self._serve(host, port, workers, accounts, password, from_env)

    def _check_port_free(self, host: str, port: int) -> None:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host, port))
            except OSError as exc:
                raise CommandError(f"Cannot listen on {host}:{port} ({exc.strerror}). Is Yiyang already running? Try --port.") from exc

    def _print_logins(self, accounts, password: str, from_env: bool, address: str | None) -> None:
        out = self.stdout
        if address:
            out.write(self.style.SUCCESS(f"\nYiyang is running at {address}"))
            out.write(f"API docs: {address}/api/v1/docs    health: {address}/healthz")
        out.write("\nDemo logins (username · role):")
        for a in accounts:
            out.write(f"  {a.username:<16} {a.display_name}")
        source = "YIYANG_DEMO_PASSWORD" if from_env else f"generated, kept in {var_dir() / 'demo-password.txt'}"
        out.write(f"Password for every demo account: {password}   ({source})")
        if address:
            out.write("Press Ctrl-C to stop.\n")

    def _serve(self, host: str, port: int, workers: int, accounts, password: str, from_env: bool) -> None:
        python = sys.executable
        bind = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        commands = {
            "web": [
                python,
                "-m",
                "gunicorn",
                "yiyang.wsgi:application",
                "--bind",
                bind,
                "--workers",
                str(workers),
                "--threads",
                "4",
                "--graceful-timeout",
                "10",
                "--access-logfile",
                "-",
                "--error-logfile",
                "-",
            ],
            "worker": [python, "-m", "yiyang.cli", "db_worker", "--interval", "1"],
            "scheduler": [python, "-m", "yiyang.cli", "crontask"],
        }
        children: dict[str, subprocess.Popen] = {}
        stopping = False

        def stop(signum=None, frame=None):
            nonlocal stopping
            stopping = True

        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGTERM, stop)
        try:
            for name, cmd in commands.items():
                # Own process group: Ctrl-C reaches us once and we stop the children in order.
                children[name] = subprocess.Popen(cmd, start_new_session=True)  # noqa: S603 (our own fixed argv)
            address = f"http://{'[' + host + ']' if ':' in host else host}:{port}"
            if self._wait_until_listening(host, port, children["web"]):
                self._print_logins(accounts, password, from_env, address)
            while not stopping:
                for name, child in children.items():
                    if child.poll() is not None:
                        self.stderr.write(f"{name} exited with code {child.returncode}; stopping.")
                        stopping = True
                time.sleep(0.3)
        finally:
            self.stdout.write("Stopping…")
            for child in children.values():
                if child.poll() is None:
                    child.terminate()
            deadline = time.monotonic() + 15
            for child in children.values():
                try:
                    child.wait(timeout=max(0.1, deadline - time.monotonic()))
                except subprocess.TimeoutExpired:
                    child.kill()
            self.stdout.write("Stopped.")

    def _wait_until_listening(self, host: str, port: int, web: subprocess.Popen) -> bool:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and web.poll() is None:
            try:
                with socket.create_connection((host, port), timeout=0.5):
                    return True
            except OSError:
                time.sleep(0.2)
        return False
