"""`yiyang guardian listen`: MQTT -> events_ingest, at least once, acknowledged only after commit.

paho-mqtt 2 with manual_ack: the network threads queue messages; the main thread takes them in
batches, stores them in one transaction (events_ingest), and only then sends the PUBACKs, in the
order the messages arrived. A crash before the ack makes the broker redeliver (persistent session,
clean_session=False); (device, message id) de-duplication makes the redelivery harmless.

Batches are bounded by count and time: a batch is stored when it holds `batch_size` messages or
`batch_wait` seconds after its first message, whichever comes first.

Two sessions: one for routine traffic (.../events) and one for alarms (.../alarms, client id
"<id>-alarms"). The broker queues each session separately, so an SOS is never behind a backlog of
positions. Alarms are stored by a process of their own (forked at start, ended with its parent), on
its own database connection, as soon as they arrive: they never wait for a bulk batch of routine
messages to commit, nor for the interpreter lock that the busy routine path holds. `alarms="thread"`
serves them from a thread instead; run inside someone else's transaction (the in-process tests), there
is one connection, and the main loop stores waiting alarms before each routine batch ("inline").
"""

import dataclasses
import logging
import os
import queue
import signal
import socket
import sys
import threading
import time
from dataclasses import dataclass, field

import paho.mqtt.client as mqtt
from django.db import DataError, close_old_connections, connection

from yiyang.guardian.brokerfiles import ALARM_TOPIC_FILTER, TOPIC_FILTER, serial_from_topic
from yiyang.guardian.models import Channel
from yiyang.guardian.operations import Incoming, IngestResult, events_ingest, events_reject_unstorable, guardian_selfwatch

log = logging.getLogger("yiyang.guardian.listener")


@dataclass
class Stats:
    received: int = 0
    accepted: int = 0
    duplicates: int = 0
    rejected: int = 0
    batches: int = 0
    store_errors: int = 0
    rejected_by_reason: dict[str, int] = field(default_factory=dict)


def _close_stale_connections() -> None:
    # Never inside someone else's transaction (a test running the listener in-process).
    if not connection.in_atomic_block:
        close_old_connections()


def default_client_id() -> str:
    # Stable across restarts (the broker keeps the session under it), distinct per host.
    return f"yiyang-guardian-{socket.gethostname()}"


class Listener:
    def __init__(
        self,
        *,
        host: str,
        port: int,
        username: str = "",
        password: str = "",
        client_id: str | None = None,
        batch_size: int = 1000,
        batch_wait: float = 0.05,
        selfwatch_every: float = 30.0,
        alarms: str | None = None,
        sessions: tuple[str, ...] = ("events", "alarms"),
    ):
        self.host, self.port = host, port
        self.batch_size, self.batch_wait = batch_size, batch_wait
        self.selfwatch_every = selfwatch_every
        # "process" | "thread" | "inline"; None: a process, unless run inside a transaction (then inline).
        self.alarms = alarms
        self.sessions = sessions
        self._params = {"host": host, "port": port, "username": username, "password": password, "client_id": client_id}
        self.stats = Stats()
        self._stats_lock = threading.Lock()
        self.inbox: queue.Queue[tuple[mqtt.Client, mqtt.MQTTMessage]] = queue.Queue()
        self.stopping = threading.Event()
        self.connected = threading.Event()
        base_id = client_id or default_client_id()
        self.client = self._make_client(base_id, username, password, TOPIC_FILTER, self.inbox, max(20, batch_size * 2))
        self.alarm_inbox: queue.Queue[tuple[mqtt.Client, mqtt.MQTTMessage]] = queue.Queue()
        self.alarm_client = self._make_client(f"{base_id}-alarms", username, password, ALARM_TOPIC_FILTER, self.alarm_inbox, 100)
        self._connected_clients: set[str] = set()
        self._alarm_process = None

    def _make_client(self, client_id: str, username: str, password: str, topic: str, inbox: queue.Queue, inflight: int) -> mqtt.Client:
        client = mqtt.Client(
            mqtt.CallbackAPIVersion.VERSION2,
            client_id=client_id,
            clean_session=False,
            protocol=mqtt.MQTTv311,
            manual_ack=True,
            userdata={"topic": topic, "inbox": inbox, "id": client_id},
        )
        if username:
            client.username_pw_set(username, password)
        # Let the broker's in-flight window (max_inflight_messages) fill a batch.
        client.max_inflight_messages_set(inflight)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        client.reconnect_delay_set(min_delay=1, max_delay=30)
        return client

    # paho network thread ---------------------------------------------------------------
    def _on_connect(self, client, userdata, flags, reason_code, properties):
        if reason_code.is_failure:
            log.error("guardian listener: broker refused the connection: %s", reason_code)
            return
        # Subscribing again is harmless with a persistent session and needed on its first connect.
        client.subscribe(userdata["topic"], qos=1)
        self._connected_clients.add(userdata["id"])
        if len(self._connected_clients) == len(self._clients()):
            self.connected.set()
            log.info("guardian listener: connected to %s:%s (session present: %s)", self.host, self.port, flags.session_present)

    def _on_disconnect(self, client, userdata, flags, reason_code, properties):
        self._connected_clients.discard(userdata["id"])
        self.connected.clear()
        if not self.stopping.is_set():
            log.warning("guardian listener: %s disconnected (%s); reconnecting", userdata["id"], reason_code)

    def _on_message(self, client, userdata, message):
        userdata["inbox"].put((client, message))

    # main thread -----------------------------------------------------------------------
    def stop(self, *_args) -> None:
        self.stopping.set()

    def _clients(self) -> list[mqtt.Client]:
        return [c for name, c in (("events", self.client), ("alarms", self.alarm_client)) if name in self.sessions]

    def run(self, *, until=None) -> Stats:
        """Run until stop() (SIGTERM/SIGINT) or `until()` returns true."""
        mode = self.alarms or ("inline" if connection.in_atomic_block else "process")
        if "alarms" not in self.sessions:
            mode = "elsewhere"
        elif mode == "process":
            self._start_alarm_process()
            self.sessions = tuple(name for name in self.sessions if name != "alarms")
            mode = "elsewhere"
        clients = self._clients()
        for client in clients:
            client.connect_async(self.host, self.port, keepalive=30)
            client.loop_start()
        alarms_done = threading.Event()
        alarm_worker = None
        if mode == "thread":
            # The alarm thread waits for the interpreter lock after each of its database round trips; with the
            # default 5 ms switch interval the busy routine thread would add 5 ms to every one of them.
            sys.setswitchinterval(0.0005)
            alarm_worker = threading.Thread(target=self._serve_alarms, args=(alarms_done,), name="guardian-alarms", daemon=True)
            alarm_worker.start()
        last_watch = time.monotonic()
        try:
            while not self.stopping.is_set() and not (until and until()):
                if "events" not in self.sessions:
                    # The alarm process: nothing but alarms, each stored the moment it arrives.
                    batch = self._take_batch(inbox=self.alarm_inbox, wait=0)
                    if batch:
                        self._store(batch)
                    continue
                if mode == "inline":
                    alarms = self._take_batch(block=False, inbox=self.alarm_inbox, wait=0)
                    if alarms:
                        self._store(alarms)
                        continue
                batch = self._take_batch()
                if batch:
                    self._store(batch)
                if self.selfwatch_every and time.monotonic() - last_watch > self.selfwatch_every:
                    last_watch = time.monotonic()
                    self._selfwatch()
            # Messages already received are stored and acknowledged before leaving; anything
            # later stays with the broker for the next start.
            alarms_done.set()
            if alarm_worker is not None:
                alarm_worker.join(60)
            while True:
                batch = self._take_batch(block=False, inbox=self.alarm_inbox) or self._take_batch(block=False)
                if not batch:
                    break
                self._store(batch)
        finally:
            self.stopping.set()
            alarms_done.set()
            for client in clients:
                client.disconnect()
                client.loop_stop()
            self._stop_alarm_process()
            _close_stale_connections()
            log.info("guardian listener: stopped %s", self.stats)
        return self.stats

    # The alarm process ------------------------------------------------------------------
    def _start_alarm_process(self) -> None:
        import multiprocessing

        from django.db import connections

        # The child must open its own database connection; nothing else runs yet, so forking is safe.
        connections.close_all()
        context = multiprocessing.get_context("fork")
        receiver, sender = context.Pipe(duplex=False)
        params = {**self._params, "batch_size": self.batch_size, "batch_wait": self.batch_wait}
        process = context.Process(target=_alarm_process_main, args=(params, sender, os.getpid()), name="guardian-alarms", daemon=True)
        process.start()
        sender.close()
        self._alarm_process = (process, receiver)

    def _stop_alarm_process(self) -> None:
        if self._alarm_process is None:
            return
        process, receiver = self._alarm_process
        self._alarm_process = None
        if process.is_alive():
            os.kill(process.pid, signal.SIGTERM)
        process.join(60)
        if receiver.poll(1):
            child = receiver.recv()
            with self._stats_lock:
                for name, value in child.items():
                    if name == "rejected_by_reason":
                        for reason, n in value.items():
                            self.stats.rejected_by_reason[reason] = self.stats.rejected_by_reason.get(reason, 0) + n
                    else:
                        setattr(self.stats, name, getattr(self.stats, name) + value)

    def _serve_alarms(self, done: threading.Event) -> None:
        """The alarm thread: store each alarm as it arrives, on this thread's own database connection."""
        try:
            while not done.is_set():
                batch = self._take_batch(inbox=self.alarm_inbox, wait=0)
                if batch:
                    self._store(batch)
            while batch := self._take_batch(block=False, inbox=self.alarm_inbox, wait=0):
                self._store(batch)
        except Exception:
            log.exception("guardian listener: the alarm thread failed; alarms wait for the next start")
        finally:
            connection.close()

    def _take_batch(
        self, block: bool = True, inbox: queue.Queue | None = None, wait: float | None = None
    ) -> list[tuple[mqtt.Client, mqtt.MQTTMessage]]:
        inbox = inbox or self.inbox
        batch: list[tuple[mqtt.Client, mqtt.MQTTMessage]] = []
        try:
            # A short block, so that an alarm arriving meanwhile waits at most this long.
            batch.append(inbox.get(timeout=0.05) if block else inbox.get_nowait())
        except queue.Empty:
            return batch
        deadline = time.monotonic() + (self.batch_wait if wait is None else wait)
        while len(batch) < self.batch_size:
            remaining = deadline - time.monotonic()
            try:
                batch.append(inbox.get(timeout=remaining) if remaining > 0 else inbox.get_nowait())
            except queue.Empty:
                break
        return batch

    def _store(self, batch: list[tuple[mqtt.Client, mqtt.MQTTMessage]]) -> None:
        incoming = [
            Incoming(body=m.payload, channel=Channel.MQTT, topic=m.topic, topic_serial=serial_from_topic(m.topic)) for _client, m in batch
        ]
        delay = 0.5
        started = time.monotonic()
        while True:
            try:
                _close_stale_connections()
                result = self._ingest(incoming)
                break
            except Exception:
                # The database is away: keep the batch unacknowledged and try again; the broker holds the rest.
                self.stats.store_errors += 1
                log.exception("guardian listener: storing a batch of %s failed; retrying in %.1fs", len(batch), delay)
                if self.stopping.is_set() and self.stats.store_errors > 3:
                    return
                time.sleep(delay)
                delay = min(delay * 2, 10)
        for client, m in batch:
            client.ack(m.mid, m.qos)
        if log.isEnabledFor(logging.DEBUG):
            log.debug(
                "guardian listener: %s stored %s in %.0f ms, the oldest received %.0f ms before",
                threading.current_thread().name, len(batch), 1000 * (time.monotonic() - started), 1000 * (time.monotonic() - batch[0][1].timestamp),
            )  # fmt: skip
        with self._stats_lock:
            s = self.stats
            s.batches += 1
            s.received += len(batch)
            s.accepted += result.count("accepted")
            s.duplicates += result.count("duplicate")
            s.rejected += result.count("rejected")
            for exc in result.reasons.values():
                s.rejected_by_reason[exc.reason] = s.rejected_by_reason.get(exc.reason, 0) + 1

    def _ingest(self, incoming: list[Incoming]) -> IngestResult:
        """events_ingest, but a message the database refuses as data (DataError) cannot block the stream:
        the batch is split until that message is alone, and it is then rejected, counted and logged."""
        try:
            return events_ingest(messages=incoming)
        except DataError:
            if len(incoming) == 1:
                log.exception("guardian listener: the database refused a message on %r; rejecting it", incoming[0].topic)
                return events_reject_unstorable(message=incoming[0])
            half = len(incoming) // 2
            first, second = self._ingest(incoming[:half]), self._ingest(incoming[half:])
            return IngestResult(
                status=first.status + second.status,
                reasons={**first.reasons, **{half + i: exc for i, exc in second.reasons.items()}},
                alerts_opened=first.alerts_opened + second.alerts_opened,
            )

    def _selfwatch(self) -> None:
        try:
            guardian_selfwatch()
        except Exception:
            log.exception("guardian listener: self-watch failed")


def _alarm_process_main(params: dict, sender, parent_pid: int) -> None:
    """The forked alarm process: the alarm session only; ends with its parent, even a killed one."""
    try:
        import ctypes

        ctypes.CDLL("libc.so.6", use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass
    listener = Listener(**params, selfwatch_every=0, sessions=("alarms",), alarms="inline")
    signal.signal(signal.SIGTERM, listener.stop)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the parent, which stops this process in order
    try:
        stats = listener.run(until=lambda: os.getppid() != parent_pid)
        sender.send(dataclasses.asdict(stats))
    finally:
        sender.close()
        connection.close()
