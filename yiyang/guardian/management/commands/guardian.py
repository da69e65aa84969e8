"""`yiyang guardian listen | simulate | broker-files`: the Silver Guardian's long-running processes and set-up."""

import signal
import time
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError


class Command(BaseCommand):
    help = "Silver Guardian: listen to devices over MQTT, simulate device traffic, or write the broker's files."

    def add_arguments(self, parser):
        sub = parser.add_subparsers(dest="action", required=True)
        listen = sub.add_parser("listen", help="subscribe to device messages (QoS 1, persistent session) and ingest them")
        simulate = sub.add_parser("simulate", help="publish realistic device traffic for the registered devices")
        files = sub.add_parser("broker-files", help="write mosquitto.conf, passwd and acl from the device registry")
        for p in (listen, simulate):
            p.add_argument("--host", default=settings.GUARDIAN_MQTT_HOST)
            p.add_argument("--port", type=int, default=settings.GUARDIAN_MQTT_PORT)
            p.add_argument("--username", default=settings.GUARDIAN_MQTT_USERNAME)
            p.add_argument("--password", default=settings.GUARDIAN_MQTT_PASSWORD)
            p.add_argument("--client-id", default=None, help="stable across restarts: the broker keeps the session under it")
        listen.add_argument("--batch-size", type=int, default=1000, help="at most this many messages per transaction")
        listen.add_argument("--batch-wait", type=float, default=0.05, help="at most this many seconds after its first message")
        simulate.add_argument("--rate", type=float, default=2.0, help="messages per second")
        simulate.add_argument("--duration", type=float, default=None, help="seconds (default: until interrupted)")
        simulate.add_argument("--transport", choices=["mqtt", "http"], default="mqtt")
        simulate.add_argument("--url", default="http://127.0.0.1:8000/api/v1/guardian/events", help="HTTP ingest endpoint")
        simulate.add_argument("--alarm-probability", type=float, default=0.002)
        simulate.add_argument("--wander-probability", type=float, default=0.01)
        files.add_argument("--dir", default=str(Path(settings.VAR_DIR) / "mosquitto"))
        files.add_argument("--port", type=int, default=settings.GUARDIAN_MQTT_PORT)
        files.add_argument("--bind", default="127.0.0.1")
        files.add_argument("--listener-username", default=settings.GUARDIAN_MQTT_USERNAME or "yiyang-listener")
        files.add_argument("--listener-password", default=settings.GUARDIAN_MQTT_PASSWORD)
        files.add_argument("--simulator-password", default="", help="also allow a 'yiyang-simulator' user to publish on device topics")

    def handle(self, *args, action: str, **options):
        return {"listen": self.listen, "simulate": self.simulate, "broker-files": self.broker_files}[action](**options)

    def listen(self, *, host, port, username, password, client_id, batch_size, batch_wait, **_):
        from yiyang.guardian.listener import Listener

        listener = Listener(
            host=host, port=port, username=username, password=password, client_id=client_id, batch_size=batch_size, batch_wait=batch_wait
        )
        signal.signal(signal.SIGTERM, listener.stop)
        signal.signal(signal.SIGINT, listener.stop)
        self.stdout.write(f"guardian listener: {host}:{port}, client id {listener.client._client_id.decode()}", ending="\n")
        self.stdout.flush()
        stats = listener.run()
        self.stdout.write(
            f"guardian listener stopped: received={stats.received} accepted={stats.accepted} duplicates={stats.duplicates} "
            f"rejected={stats.rejected} {stats.rejected_by_reason}"
        )

    def simulate(
        self, *, host, port, username, password, client_id, rate, duration, transport, url, alarm_probability, wander_probability, **_
    ):
        from yiyang.guardian.simulate import Traffic, mqtt_publisher, post_http, publish, registry_sim_devices

        devices = registry_sim_devices()
        if not devices:
            raise CommandError("No active devices are registered; register some first (the demo does).")
        traffic = Traffic(devices, alarm_probability=alarm_probability, wander_probability=wander_probability)
        stop = {"now": False}
        signal.signal(signal.SIGTERM, lambda *a: stop.update(now=True))
        client = None
        if transport == "mqtt":
            client = mqtt_publisher(host, port, client_id=client_id or "yiyang-simulator", username=username, password=password)
        sent, started = 0, time.monotonic()
        try:
            for device, payload in traffic.stream(rate, duration):
                if stop["now"]:
                    break
                if client is not None:
                    publish(client, device, payload)
                else:
                    status = post_http(url, payload)
                    if status >= 400:
                        self.stderr.write(f"{payload['device']}: HTTP {status}")
                sent += 1
                if sent % max(1, int(rate * 10)) == 0:
                    self.stdout.write(f"sent {sent} messages in {time.monotonic() - started:.0f}s")
        except KeyboardInterrupt:
            pass
        finally:
            if client is not None:
                client.disconnect()
                client.loop_stop()
        self.stdout.write(f"simulated {sent} messages over {transport}")

    def broker_files(self, *, dir, port, bind, listener_username, listener_password, simulator_password, **_):
        from yiyang.guardian.brokerfiles import registry_devices, write_broker_files

        if not listener_password:
            raise CommandError("--listener-password (or YIYANG_MQTT_PASSWORD) is required.")
        devices = registry_devices()
        conf = write_broker_files(
            Path(dir),
            devices=devices,
            listener_username=listener_username,
            listener_password=listener_password,
            port=port,
            bind=bind,
            simulator=("yiyang-simulator", simulator_password) if simulator_password else None,
        )
        self.stdout.write(
            f"wrote {conf} for {len(devices)} devices; start with `mosquitto -c {conf}` (send SIGHUP to reload after changes)"
        )
