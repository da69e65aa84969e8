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
        parser.add_argument(
            "--guardian-rate", type=float, default=1.0, help="simulated Silver Guardian device messages per second (0: no simulator)"
        )

    def handle(self, *args, host: str, port: int, workers: int, setup_only: bool, guardian_rate: float = 1.0, **options):
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
        self._serve(host, port, workers, accounts, password, from_env, guardian_rate)

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

    def _serve(self, host: str, port: int, workers: int, accounts, password: str, from_env: bool, guardian_rate: float = 1.0) -> None:
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
        # Silver Guardian: the MQTT listener (when a broker answers) and a slow simulator, so the console is alive.
        address = f"http://{'[' + host + ']' if ':' in host else host}:{port}"
        guardian = self._guardian_commands(python, address, guardian_rate)
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
            if self._wait_until_listening(host, port, children["web"]):
                self._print_logins(accounts, password, from_env, address)
                # After the web server answers (the HTTP transport posts to it; and they do not slow its start).
                # The simulator's progress lines are not for the console.
                for name, cmd in guardian.items():
                    if not stopping:
                        out = subprocess.DEVNULL if name == "simulator" else None
                        children[name] = subprocess.Popen(cmd, start_new_session=True, stdout=out)  # noqa: S603 (our own fixed argv)
            while not stopping:
                for name, child in list(children.items()):
                    if child.poll() is not None:
                        if name in ("listener", "simulator"):
                            # The demo's device traffic is a nicety: the platform runs on without it.
                            self.stderr.write(f"guardian {name} exited with code {child.returncode}; the demo goes on without it.")
                            del children[name]
                            continue
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

    def _guardian_commands(self, python: str, address: str, rate: float) -> dict:
        """The listener (if an MQTT broker answers) and the simulator's argv; MQTT when possible, else HTTP ingestion."""
        import hashlib

        from django.conf import settings

        if rate <= 0:
            return {}
        # Client ids unique to this installation: demos sharing a broker must not take over each other's sessions.
        tag = hashlib.sha256(str(var_dir().resolve()).encode()).hexdigest()[:10]
        host, mqtt_port = settings.GUARDIAN_MQTT_HOST, settings.GUARDIAN_MQTT_PORT
        try:
            with socket.create_connection((host, mqtt_port), timeout=1):
                broker = True
        except OSError:
            broker = False
        # Occasional alarms and wanderings, a few an hour across the demo's devices (an open alert absorbs its repeats).
        simulate = [python, "-m", "yiyang.cli", "guardian", "simulate", "--rate", str(rate), "--alarm-probability", "0.001"]
        simulate += ["--wander-probability", "0.002"]
        if broker:
            self.stdout.write(f"Silver Guardian: MQTT broker at {host}:{mqtt_port}; listener and simulator ({rate:g} msg/s) start.")
            listen = [python, "-m", "yiyang.cli", "guardian", "listen", "--client-id", f"yiyang-demo-{tag}"]
            return {"listener": listen, "simulator": [*simulate, "--client-id", f"yiyang-demo-sim-{tag}"]}
        self.stdout.write(f"Silver Guardian: no MQTT broker at {host}:{mqtt_port}; the simulator posts to the HTTP ingest endpoint.")
        return {"simulator": [*simulate, "--transport", "http", "--url", f"{address}/api/v1/guardian/events"]}

    def _wait_until_listening(self, host: str, port: int, web: subprocess.Popen) -> bool:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and web.poll() is None:
            try:
                with socket.create_connection((host, port), timeout=0.5):
                    return True
            except OSError:
                time.sleep(0.2)
        return False
