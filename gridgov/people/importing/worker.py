"""The checking process of a large import: reads the workbook and checks its rows (`RowChecker`)
on the second core while the importing process plans and writes.

Python runs one thread at a time per process; reading, validating and hashing take about as much
CPU as planning and writing, so a second process nearly halves the wall time of a big file on
two cores. The process only reads the file and computes: it never touches the database, so the
import stays exactly as transactional and idempotent as in one process (the importing process
still decides, plans and writes every batch). Rows travel in slices through a bounded queue,
which keeps the memory of both processes flat.
"""

import os
import pickle
import queue as queue_module
import subprocess
import sys
import threading
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from .reader import WorkbookError

# Slices waiting in the importing process, still pickled (about 0.5 MB each): while it takes the
# duplicate census (about 6 µs a row) the checking process runs up to 128,000 rows ahead.
QUEUE_DEPTH = 64
SLICE_ROWS = 2000
_DONE = "done"
_DONE_FRAME = pickle.dumps(_DONE, protocol=pickle.HIGHEST_PROTOCOL)


@dataclass
class WorkerConfig:
    """What the checking process needs from the importing one; the keys travel explicitly so that
    it hashes exactly as the importing process would, whatever its own environment says."""

    path: str
    sheets: list[tuple[int, list[int]]]  # (sheet index, column positions)
    today: date
    grids: set[str]
    prefixes: tuple[str, ...]
    settings_module: str
    crypto_settings: dict


def crypto_settings() -> dict:
    from django.conf import settings

    return {name: getattr(settings, name) for name in
            ("FIELD_ENCRYPTION_KEYS", "FIELD_ENCRYPTION_KEY_ID", "FIELD_ENCRYPTION_ALGORITHM", "FIELD_BLIND_INDEX_KEY")}


def main() -> None:
    """The checking process: a config on stdin, pickled slices of results on stdout."""
    out = sys.stdout.buffer
    sys.stdout = sys.stderr  # nothing else may write into the results stream

    def send(item) -> None:
        data = pickle.dumps(item, protocol=pickle.HIGHEST_PROTOCOL)
        out.write(len(data).to_bytes(8, "little"))
        out.write(data)
        out.flush()

    try:
        config: WorkerConfig = pickle.load(sys.stdin.buffer)
        os.environ["DJANGO_SETTINGS_MODULE"] = config.settings_module
        import django
        from django.conf import settings

        django.setup()  # the choices' labels are translatable strings
        for name, value in config.crypto_settings.items():
            setattr(settings, name, value)
        from gridgov.core import crypto

        crypto.clear_caches()
        from . import columns as cols
        from .checking import RowChecker
        from .reader import open_workbook, prefetch

        sheets = {s.index: s for s in open_workbook(config.path, is_header=cols.is_header_row)}
        checker = RowChecker(today=config.today, grids=config.grids, prefixes=config.prefixes, seal=True)
        for index, positions in config.sheets:
            sheet = sheets[index]
            check, name = checker.check, sheet.name
            for rows in prefetch(slices(sheet)):
                results = []
                for number, cells in rows:
                    result = check(index, name, positions, number, cells)
                    if result is not None:
                        results.append(result)
                send((len(rows), results))
        send(_DONE)
    except BrokenPipeError:
        pass  # the importing process stopped reading: it failed or was stopped
    except WorkbookError as exc:
        send(("error", exc.message))
    except BaseException as exc:  # noqa: BLE001 - reported to the importing process, which raises
        send(("crash", f"{type(exc).__name__}: {exc}"))
        raise


def slices(sheet):
    """A sheet's rows in lists of SLICE_ROWS: one hand-over per slice between threads or processes."""
    buffer = []
    for item in sheet.rows():
        buffer.append(item)
        if len(buffer) >= SLICE_ROWS:
            yield buffer
            buffer = []
    if buffer:
        yield buffer


class CheckingProcess:
    """Starts the checking process; iterating yields (rows read, results) per slice, in order.

    A plain child interpreter (not multiprocessing, whose spawn re-runs the caller's main script):
    the config goes in on stdin, results come back pickled on stdout. A thread of this process
    unpickles them into a bounded queue, so the child keeps QUEUE_DEPTH slices ahead and no more.
    """

    def __init__(self, config: WorkerConfig):
        root = str(Path(__file__).resolve().parents[3])  # the directory that holds the gridgov package
        env = dict(os.environ, PYTHONPATH=os.pathsep.join([root, os.environ.get("PYTHONPATH", "")]).rstrip(os.pathsep))
        self.process = subprocess.Popen(
            [sys.executable, "-c", "from gridgov.people.importing.worker import main; main()"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
        pickle.dump(config, self.process.stdin, protocol=pickle.HIGHEST_PROTOCOL)
        self.process.stdin.close()
        self.peak_rss_kb = 0
        self.queue: queue_module.Queue = queue_module.Queue(maxsize=QUEUE_DEPTH)
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._receive, name="import-receiver", daemon=True)
        self.thread.start()

    def _receive(self) -> None:
        # Frames are queued as bytes and unpickled by the consumer, when it needs them.
        stream = self.process.stdout
        try:
            while not self.stop.is_set():
                head = stream.read(8)
                if len(head) < 8:
                    break
                size = int.from_bytes(head, "little")
                data = stream.read(size)
                if len(data) < size:
                    break
                self._put(data)
                if data == _DONE_FRAME:
                    return
        except OSError:
            pass
        self._put(pickle.dumps(("crash", f"exit status {self.process.wait()}")))

    def _put(self, item) -> None:
        while not self.stop.is_set():
            try:
                self.queue.put(item, timeout=0.2)
                return
            except queue_module.Full:
                continue

    def __iter__(self):
        while True:
            item = pickle.loads(self.queue.get())
            self._sample_memory()
            if item == _DONE:
                return
            if item[0] == "error":
                raise WorkbookError(item[1])
            if item[0] == "crash":
                raise RuntimeError(f"the checking process failed: {item[1]}")
            yield item

    def _sample_memory(self) -> None:
        """The process's peak resident memory (VmHWM), for the benchmark and the docs' figures."""
        try:
            with open(f"/proc/{self.process.pid}/status", "rb") as status:
                for line in status:
                    if line.startswith(b"VmHWM:"):
                        self.peak_rss_kb = max(self.peak_rss_kb, int(line.split()[1]))
                        return
        except (OSError, ValueError):
            pass  # not Linux, or the process has ended

    def close(self) -> None:
        """Ends the process (at once if the import stopped early) and waits for it."""
        self.stop.set()
        if self.process.poll() is None:
            try:
                self.process.wait(timeout=0.5)
            except subprocess.TimeoutExpired:
                self.process.terminate()
                self.process.wait()
        self.thread.join()
        self.process.stdout.close()
