"""Run core calls off the GUI thread and turn their callbacks into signals (superqt's thread_worker, small).

``start_worker(fn, *args, **kwargs)`` runs ``fn`` on ``QThreadPool.globalInstance()``. If ``fn`` declares
``progress_callback`` it gets a callable that emits ``progressed(object)``; if it declares
``cancel_event`` it gets a ``threading.Event`` that ``worker.cancel()`` sets (cooperative abort). The
outcome arrives as ``returned(object)`` or ``errored(object)`` (the exception), then ``finished()``.
Signals live on a separate QObject created in the caller's thread, so they are delivered there (queued).
The job starts on the next event-loop turn, so the caller can connect signals first; a module-level set
keeps each worker alive until it has finished. Workers never touch widgets.
"""

from __future__ import annotations

import inspect
import logging
import threading
from typing import Any, Callable

from PySide6.QtCore import QObject, QRunnable, QThreadPool, QTimer, Signal

log = logging.getLogger(__name__)
_alive: set["Worker"] = set()


class WorkerSignals(QObject):
    started = Signal()
    progressed = Signal(object)
    returned = Signal(object)
    errored = Signal(object)
    finished = Signal()


class Worker(QRunnable):
    def __init__(self, fn: Callable[..., Any], *args: Any, **kwargs: Any):
        super().__init__()
        self.setAutoDelete(False)
        self.signals = WorkerSignals()
        self.cancel_event = threading.Event()
        params = inspect.signature(fn).parameters
        if "progress_callback" in params:
            kwargs["progress_callback"] = self.signals.progressed.emit
        if "cancel_event" in params:
            kwargs["cancel_event"] = self.cancel_event
        self._fn, self._args, self._kwargs = fn, args, kwargs
        # Convenience aliases: worker.returned.connect(...)
        self.started, self.progressed = self.signals.started, self.signals.progressed
        self.returned, self.errored, self.finished = self.signals.returned, self.signals.errored, self.signals.finished

    def cancel(self) -> None:
        self.cancel_event.set()

    def run(self) -> None:
        self.signals.started.emit()
        try:
            result = self._fn(*self._args, **self._kwargs)
        except Exception as e:  # delivered to the GUI as a value; core errors carry user sentences
            log.debug("worker %s failed: %s", getattr(self._fn, "__name__", self._fn), e)
            self.signals.errored.emit(e)
        else:
            self.signals.returned.emit(result)
        finally:
            self.signals.finished.emit()


def start_worker(fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Worker:
    worker = Worker(fn, *args, **kwargs)
    _alive.add(worker)
    worker.signals.finished.connect(lambda: _alive.discard(worker))
    QTimer.singleShot(0, lambda: QThreadPool.globalInstance().start(worker))
    return worker
