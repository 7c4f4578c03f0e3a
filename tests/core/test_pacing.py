"""core.pacing: long loops in core step aside for a window's thread only when one shares the process."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

from playment_submit.core import pacing


def _longest_gap_while(work) -> float:
    """The longest time a second thread waited between its 5 ms ticks while ``work`` ran (GIL starvation)."""
    gaps: list[float] = []
    stop = threading.Event()

    def tick() -> None:
        last = time.perf_counter()
        while not stop.is_set():
            time.sleep(0.005)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    t = threading.Thread(target=tick)
    t.start()
    work()
    stop.set()
    t.join()
    return max(gaps)


def _busy() -> None:
    end = time.perf_counter() + 0.6
    n = 0
    while time.perf_counter() < end:
        pacing.breathe()
        n += sum(range(50))


def test_breathe_does_nothing_on_the_command_line(monkeypatch):
    monkeypatch.setattr(pacing, "_sharing", False)
    sleeps = []
    monkeypatch.setattr(pacing, "time", SimpleNamespace(perf_counter=time.perf_counter, sleep=sleeps.append))
    for _ in range(10_000):
        pacing.breathe()
    assert sleeps == []


def test_with_a_gui_the_other_thread_gets_its_turns(monkeypatch):
    monkeypatch.setattr(pacing, "_sharing", True)
    sleeps = []
    monkeypatch.setattr(pacing, "time", SimpleNamespace(perf_counter=time.perf_counter,
                                                        sleep=lambda s: (sleeps.append(s), time.sleep(s))))
    gap = _longest_gap_while(_busy)
    assert sleeps and all(s == pacing.REST_SECONDS for s in sleeps)
    assert len(sleeps) >= 0.6 / (pacing.WORK_SECONDS + 0.01) / 2  # about one rest every WORK_SECONDS
    assert gap < 0.2, gap
