"""Silver Guardian ingestion benchmark: simulator -> Mosquitto -> `yiyang guardian listen` -> database.

For each database (SQLite file, and PostgreSQL when one answers) it
1. creates a fresh database, registers devices, and starts a Mosquitto with the project's configuration;
2. measures the ceiling: a bare paho subscriber (its own process, like the listener) receiving QoS 1
   messages through the same broker from the same publisher, before and after the listener's steps;
3. runs the real listener (a subprocess) and publishes at increasing rates, each step for a few seconds,
   with critical SOS alarms sprinkled in: sustained events/s (published -> stored) and p50/p99 latency
   from publish to the alert row being visible in the database;
4. publishes a burst faster than the listener stores while it runs (the backlog left when publishing ends
   shows it fell behind), and checks that every message is stored;
5. stops the listener, publishes a burst well beyond Debian's 1,000-message queue, restarts the broker
   (its persistence must carry the queue over), restarts the listener, and checks that every message is stored.

    uv run python bench/bench_guardian.py                       # SQLite, and PostgreSQL if it answers
    uv run python bench/bench_guardian.py --db sqlite --rates 500,1000,2000 --step-seconds 8
    BENCH_PG_URL=postgres://postgres@127.0.0.1:5432/postgres uv run python bench/bench_guardian.py --db postgres

Figures and the command are recorded in bench/README-guardian.md.
"""

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

LISTENER = ("yiyang-listener", "bench-listener-pw")
SIMULATOR = ("yiyang-simulator", "bench-simulator-pw")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    values = sorted(values)
    return values[min(len(values) - 1, int(round(q * (len(values) - 1))))]


# One backend per process: Django is configured once, from DATABASE_URL.


def run_backend(args) -> dict:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "yiyang.settings")
    import django

    django.setup()
    import paho.mqtt.client as mqtt
    from django.core.management import call_command
    from django.db import connection
    from django.db.models import Count, Max
    from django.utils import timezone

    from yiyang.accounts.models import User
    from yiyang.guardian import crypto
    from yiyang.guardian.brokerfiles import ALARM_TOPIC_FILTER, TOPIC_FILTER, device_topic, write_broker_files
    from yiyang.guardian.models import Alert, DeviceEvent
    from yiyang.guardian.operations import device_register
    from yiyang.people.models import Elder
    from yiyang.regions.models import Region
    from yiyang.regions.operations import regions_load_lishui

    work = Path(args.workdir)
    print(f"[{connection.vendor}] migrating a fresh database ...", flush=True)
    call_command("migrate", verbosity=0)
    regions_load_lishui()
    actor = User.objects.create(username=f"bench-{uuid.uuid4().hex[:6]}", role="admin", is_superuser=True)
    township = Region.objects.get(code="331102001")
    devices: list[tuple[str, str, str]] = []
    elders = [
        Elder.objects.create(name=f"长辈{i}", gender="female", birth_date="1942-03-01", residence_region=township)
        for i in range(args.devices // 4)
    ]
    for i in range(args.devices):
        kind = "bracelet" if i % 2 else "smoke"
        d, secret = device_register(
            elder=elders[i % len(elders)], device_type=kind, serial=f"B{i:05d}", report_interval_seconds=60, actor=actor
        )
        devices.append((d.serial, secret, kind))
    sos_devices = []
    for i in range(args.sos_devices):
        d, secret = device_register(
            elder=elders[i % len(elders)], device_type="sos", serial=f"S{i:05d}", report_interval_seconds=600, actor=actor
        )
        sos_devices.append((d.serial, secret))

    binary = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
    port = free_port()
    import getpass

    conf = write_broker_files(
        work / "mosquitto",
        devices=[],
        listener_username=LISTENER[0],
        listener_password=LISTENER[1],
        port=port,
        simulator=SIMULATOR,
        run_as=getpass.getuser(),
    )
    broker_log = open(work / "mosquitto.log", "ab")  # noqa: SIM115
    import atexit

    def start_broker() -> subprocess.Popen:
        process = subprocess.Popen([binary, "-c", str(conf)], stdout=broker_log, stderr=subprocess.STDOUT)
        atexit.register(lambda: process.poll() is None and process.terminate())
        deadline = time.time() + 30
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        return process

    broker = start_broker()

    def client(user, client_id, **kw):
        c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id=client_id, protocol=mqtt.MQTTv311, **kw)
        c.username_pw_set(*user)
        c.max_inflight_messages_set(1000)
        c.max_queued_messages_set(0)
        c.connect("127.0.0.1", port, keepalive=30)
        c.loop_start()
        return c

    def signed(serial, secret, kind, **extra) -> tuple[str, bytes, str]:
        payload = {"v": 1, "device": serial, "id": uuid.uuid4().hex, "ts": timezone.now().isoformat(), "type": kind, **extra}
        payload["sig"] = crypto.sign(payload, secret)
        return device_topic(serial, kind), json.dumps(payload).encode(), payload["id"]

    def routine(i: int):
        serial, secret, kind = devices[i % len(devices)]
        if kind == "bracelet":
            return signed(serial, secret, "position", lat=28.4517 + (i % 7) * 1e-5, lon=119.9219, battery=80)
        return signed(serial, secret, "heartbeat", battery=90)

    results: dict = {"database": connection.vendor, "devices": args.devices}

    pub = client(SIMULATOR, "bench-publisher")
    # Alarms come from other devices, i.e. other connections: never queued behind the routine publisher's backlog.
    alarm_pub = client(SIMULATOR, "bench-alarm-publisher")

    def bare_round_trip(label: str) -> float:
        """The ceiling: a bare subscriber process (QoS 1, acknowledging on receipt, no database) fed by the same publisher."""
        sub = subprocess.Popen(
            [sys.executable, __file__, "--bare-subscriber", "--port", str(port), "--count", str(args.bare_messages)],
            stdout=subprocess.PIPE, text=True, cwd=ROOT,
        )  # fmt: skip
        assert sub.stdout.readline().strip() == "READY"
        prepared = [routine(i) for i in range(args.bare_messages)]
        start = time.time()
        infos = [pub.publish(t, b, qos=1) for t, b, _ in prepared]
        out = sub.communicate(timeout=180)[0]
        for info in infos[-10:]:
            info.wait_for_publish(30)
        last = float(out.split("DONE", 1)[1]) if "DONE" in out else float("nan")
        rate = args.bare_messages / (last - start)
        print(f"[{connection.vendor}] bare subscriber QoS 1 round trip ({label}): {rate:,.0f} msg/s", flush=True)
        return rate

    results["bare_round_trip_per_s"] = round(bare_round_trip("before"))

    # 2. The real listener, as a subprocess, against the same database. Its persistent session is
    # created first, so that nothing published while the process starts up is missed.
    for session_id, topic in (("bench-listener", TOPIC_FILTER), ("bench-listener-alarms", ALARM_TOPIC_FILTER)):
        session = client(LISTENER, session_id, clean_session=False)
        session.subscribe(topic, qos=1)
        time.sleep(0.3)
        session.disconnect()
        session.loop_stop()
    env = {**os.environ, "YIYANG_LOG_LEVEL": os.environ.get("BENCH_LISTENER_LOG_LEVEL", "WARNING")}
    listener_log = open(work / "listener.log", "ab")  # noqa: SIM115

    def start_listener() -> subprocess.Popen:
        process = subprocess.Popen(
            [sys.executable, "-m", "yiyang.cli", "guardian", "listen", "--port", str(port), "--username", LISTENER[0],
             "--password", LISTENER[1], "--client-id", "bench-listener", "--batch-size", str(args.batch_size)],
            env=env, stdout=listener_log, stderr=subprocess.STDOUT, cwd=ROOT,
        )  # fmt: skip
        atexit.register(lambda: process.poll() is None and process.terminate())
        return process

    listener = start_listener()

    base = {"pk": 0, "rows": 0}

    def stored() -> int:
        # Counts the rows above a checkpoint (an index range scan) rather than the whole growing table: a full count
        # every 50 ms would cost the database a good share of a core and slow the listener it measures. Rows commit
        # out of id order (two connections), so the checkpoint moves only to 10,000 ids below the highest one seen.
        above = DeviceEvent.objects.filter(pk__gt=base["pk"]).aggregate(n=Count("pk"), top=Max("pk"))
        if above["n"] > 40_000:
            new_pk = above["top"] - 10_000
            base["rows"] += DeviceEvent.objects.filter(pk__gt=base["pk"], pk__lte=new_pk).count()
            base["pk"] = new_pk
            return stored()
        return base["rows"] + above["n"]

    # Warm up: wait until the listener process has stored a first message.
    topic, body, _id = routine(0)
    pub.publish(topic, body, qos=1)
    deadline = time.perf_counter() + 120
    while stored() == 0 and time.perf_counter() < deadline:
        time.sleep(0.1)

    sos_index = {"i": 0}
    steps = []
    for rate in args.rates:
        count = int(rate * args.step_seconds)
        before = stored()
        prepared = [routine(i) for i in range(count)]
        sos_sent: dict[str, float] = {}
        sos_every = max(1, count // args.sos_per_step)
        seen: dict[str, float] = {}
        stop_poll = threading.Event()
        last_alert = Alert.objects.order_by("-pk").values_list("pk", flat=True).first() or 0

        def poll(seen: dict, stop_poll: threading.Event, last_alert: int) -> None:
            # Publish -> alert row visible to another connection (what the console would see), polled every 10 ms.
            from django.db import connection as conn

            while not stop_poll.is_set():
                for pk, detail in Alert.objects.filter(pk__gt=last_alert).order_by("pk").values_list("pk", "detail"):
                    seen[detail.get("trigger", {}).get("message_id", "")] = time.perf_counter()
                    last_alert = pk
                time.sleep(0.01)
            conn.close()

        poller = threading.Thread(target=poll, args=(seen, stop_poll, last_alert))
        poller.start()
        start = time.perf_counter()
        for i, (topic, body, _id) in enumerate(prepared):
            due = start + i / rate
            pause = due - time.perf_counter()
            if pause > 0:
                time.sleep(pause)
            pub.publish(topic, body, qos=1)
            if i % sos_every == 0:
                serial, secret = sos_devices[sos_index["i"] % len(sos_devices)]
                sos_index["i"] += 1
                t, b, mid = signed(serial, secret, "sos")
                sos_sent[mid] = time.perf_counter()
                alarm_pub.publish(t, b, qos=1)
        published_at = time.perf_counter()
        target = before + count + len(sos_sent)
        deadline = time.perf_counter() + 120
        while stored() < target and time.perf_counter() < deadline:
            time.sleep(0.05)
        finished = time.perf_counter()
        time.sleep(0.3)
        stop_poll.set()
        poller.join()
        n = stored() - before
        latencies = [seen[m] - t0 for m, t0 in sos_sent.items() if m in seen]
        step = {
            "offered_per_s": rate,
            "published": count + len(sos_sent),
            "stored": n,
            "publish_s": round(published_at - start, 2),
            "sustained_per_s": round(n / (finished - start)),
            "sos": len(sos_sent),
            "sos_alerts_seen": len(latencies),
            "alert_p50_ms": round(1000 * percentile(latencies, 0.5)) if latencies else None,
            "alert_p99_ms": round(1000 * percentile(latencies, 0.99)) if latencies else None,
        }
        steps.append(step)
        print(f"[{connection.vendor}] {step}", flush=True)
        # Resolve the SOS alerts so the next step opens fresh ones (repeats would attach instead).
        Alert.objects.filter(kind="sos").update(state="resolved", outcome="false_alarm", resolved_at=timezone.now())
    results["steps"] = steps

    # 3. A burst faster than the listener stores, while it runs: nothing may be lost.
    before = stored()
    prepared = [routine(i) for i in range(args.burst)]
    start = time.perf_counter()
    infos = [pub.publish(t, b, qos=1) for t, b, _ in prepared]
    for info in infos:
        info.wait_for_publish(120)
    published = time.perf_counter() - start
    backlog = before + args.burst - stored()
    deadline = time.perf_counter() + 300
    while stored() < before + args.burst and time.perf_counter() < deadline:
        time.sleep(0.1)
    drained = time.perf_counter() - start
    results["burst"] = {
        "messages": args.burst,
        "published_in_s": round(published, 2),
        "publish_rate_per_s": round(args.burst / published),
        "backlog_when_published": backlog,
        "stored": stored() - before,
        "drained_in_s": round(drained, 2),
        "lost": args.burst - (stored() - before),
    }
    print(f"[{connection.vendor}] burst while listening: {results['burst']}", flush=True)

    # 4. The listener stops; a burst queues in the broker; the broker restarts (persistence); the listener restarts.
    listener.send_signal(signal.SIGTERM)
    results["listener_exit"] = listener.wait(60)
    before = stored()
    prepared = [routine(i) for i in range(args.burst)]
    infos = [pub.publish(t, b, qos=1) for t, b, _ in prepared]
    for info in infos:
        info.wait_for_publish(120)
    for c in (pub, alarm_pub):
        c.disconnect()
        c.loop_stop()
    broker.send_signal(signal.SIGTERM)  # a clean stop writes the persistence file
    broker.wait(60)
    broker = start_broker()
    start = time.perf_counter()
    listener = start_listener()
    deadline = time.perf_counter() + 300
    while stored() < before + args.burst and time.perf_counter() < deadline:
        time.sleep(0.1)
    results["burst_across_restarts"] = {
        "messages": args.burst,
        "stored": stored() - before,
        "drained_in_s": round(time.perf_counter() - start, 2),
        "lost": args.burst - (stored() - before),
    }
    print(f"[{connection.vendor}] burst queued while the listener was down, across a broker restart: "
          f"{results['burst_across_restarts']}", flush=True)  # fmt: skip

    # The ceiling again, now that the machine has run the whole load (its spread is part of the figure).
    listener.send_signal(signal.SIGTERM)
    listener.wait(60)
    for session_id in ("bench-listener", "bench-listener-alarms"):
        # End the listener's persistent sessions, so the broker does not queue the ceiling's messages for them.
        client(LISTENER, session_id, clean_session=True).disconnect()
    pub = client(SIMULATOR, "bench-publisher")
    results["bare_round_trip_after_per_s"] = round(bare_round_trip("after"))
    pub.disconnect()
    pub.loop_stop()
    broker.terminate()
    broker.wait(10)
    return results


def bare_subscriber(port: int, count: int) -> None:
    """Child process: subscribe like the listener (QoS 1) but store nothing; print when `count` messages arrived."""
    import paho.mqtt.client as mqtt

    from yiyang.guardian.brokerfiles import TOPIC_FILTER

    got = {"n": 0}
    done = threading.Event()

    def on_message(c, u, m):
        got["n"] += 1
        if got["n"] >= count:
            got["last"] = time.time()
            done.set()

    c = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="bench-bare-subscriber", protocol=mqtt.MQTTv311)
    c.username_pw_set(*LISTENER)
    c.on_message = on_message
    subscribed = threading.Event()
    c.on_subscribe = lambda *a: subscribed.set()
    c.connect("127.0.0.1", port, keepalive=30)
    c.loop_start()
    c.subscribe(TOPIC_FILTER, qos=1)
    subscribed.wait(30)
    print("READY", flush=True)
    done.wait(170)
    print(f"DONE{got.get('last', float('nan'))}", flush=True)
    c.disconnect()
    c.loop_stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--db", choices=["sqlite", "postgres", "both"], default="both")
    parser.add_argument("--rates", default="250,500,1000,2000,4000", help="offered messages/s, comma-separated")
    parser.add_argument("--step-seconds", type=float, default=8)
    parser.add_argument("--devices", type=int, default=400)
    parser.add_argument("--sos-devices", type=int, default=200)
    parser.add_argument("--sos-per-step", type=int, default=40)
    parser.add_argument("--bare-messages", type=int, default=20000)
    parser.add_argument("--burst", type=int, default=30000)
    parser.add_argument("--batch-size", type=int, default=1000)
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--bare-subscriber", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--count", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--workdir", default="", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.rates = [int(r) for r in str(args.rates).split(",") if r]

    if args.bare_subscriber:
        bare_subscriber(args.port, args.count)
        return

    if args.child:
        print("RESULT=" + json.dumps(run_backend(args)), flush=True)
        return

    backends = ["sqlite", "postgres"] if args.db == "both" else [args.db]
    all_results = []
    for backend in backends:
        workdir = Path(tempfile.mkdtemp(prefix=f"bench-guardian-{backend}-"))
        env = {**os.environ, "YIYANG_VAR_DIR": str(workdir)}
        env.pop("YIYANG_TASKS_IMMEDIATE", None)
        pg_admin = None
        if backend == "sqlite":
            env["DATABASE_URL"] = f"sqlite:///{workdir / 'bench.sqlite3'}"
        else:
            base = os.environ.get("BENCH_PG_URL", "postgres://postgres@127.0.0.1:5432/postgres")
            name = f"yy_guardian_bench_{uuid.uuid4().hex[:8]}"
            try:
                import psycopg

                pg_admin = psycopg.connect(base, autocommit=True)
                pg_admin.execute(f'CREATE DATABASE "{name}"')
            except Exception as exc:  # noqa: BLE001
                print(f"PostgreSQL not available ({exc}); skipping it")
                continue
            env["DATABASE_URL"] = base.rsplit("/", 1)[0] + "/" + name
        cmd = [sys.executable, __file__, "--child", "--workdir", str(workdir), "--rates", ",".join(map(str, args.rates))]
        for flag in ("step_seconds", "devices", "sos_devices", "sos_per_step", "bare_messages", "burst", "batch_size"):
            cmd += [f"--{flag.replace('_', '-')}", str(getattr(args, flag))]
        out = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=ROOT)
        sys.stdout.write("".join(line + "\n" for line in out.stdout.splitlines() if not line.startswith("RESULT=")))
        if out.returncode != 0:
            sys.stderr.write(out.stderr[-4000:])
        for line in out.stdout.splitlines():
            if line.startswith("RESULT="):
                all_results.append(json.loads(line[len("RESULT=") :]))
        if pg_admin is not None:
            pg_admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            pg_admin.close()
        if os.environ.get("BENCH_KEEP_WORKDIR"):
            print(f"kept {workdir} (listener.log, mosquitto.log)")
        else:
            shutil.rmtree(workdir, ignore_errors=True)
    print(json.dumps(all_results, indent=2))


if __name__ == "__main__":
    main()
