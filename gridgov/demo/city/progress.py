"""A text progress bar for long seeding phases (no dependency: the seed runs in a terminal or a log)."""

import sys
import time
from collections.abc import Callable


class Bar:
    """`[#####-----]  50%  2,500,000/5,000,000 走访记录  41s`, redrawn in place on a terminal, or one
    line per tenth on a log. `stream=None` draws nothing."""

    WIDTH = 30

    def __init__(self, label: str, total: int, stream=sys.stderr):
        self.label, self.total, self.stream = label, max(1, total), stream
        self.done, self.start, self.shown = 0, time.perf_counter(), -1
        self.tty = bool(stream) and getattr(stream, "isatty", lambda: False)()

    def add(self, n: int) -> None:
        self.done += n
        self._draw()

    def _draw(self, final: bool = False) -> None:
        if self.stream is None:
            return
        share = min(1.0, self.done / self.total)
        step = int(share * (100 if self.tty else 10))
        if step == self.shown and not final:
            return
        self.shown = step
        filled = int(share * self.WIDTH)
        line = (f"[{'#' * filled}{'-' * (self.WIDTH - filled)}] {share:4.0%} {self.done:,}/{self.total:,} "
                f"{self.label} {time.perf_counter() - self.start:5.0f}s")
        if self.tty:
            self.stream.write("\r" + line + ("\n" if final else ""))
        else:
            self.stream.write(line + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.tty or self.shown != 10:
            self._draw(final=True)


def bar_factory(stream) -> Callable[[str, int], Bar]:
    return lambda label, total: Bar(label, total, stream)
