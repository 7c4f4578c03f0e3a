"""Run core calls off the GUI thread and turn their callbacks into signals (superqt's thread_worker, small).

``start_worker(fn, *args, **kwargs)`` runs ``fn`` on ``QThreadPool.globalInstance()``. If ``fn`` declares
``progress_callback`` it gets a callable that emits ``progressed(object)``; if it declares
``cancel_event`` it gets a ``threading.Event`` that ``worker.cancel()`` sets (cooperative abort). The
outcome arrives as ``returned(object)`` or ``errored(object)`` (the exception), then ``finished()``.
Signals live on a separate QObject created in the caller's thread, so they are delivered there (queued).
The job starts on the next event-loop turn, so the caller can connect signals first; a module-level set
keeps each worker alive until it has finished. Workers never touch widgets.

``start_worker(..., owner=widget)`` ties the outcome to a widget: a result that arrives after the widget
was deleted (a dialog closed, a test's window torn down while a preview was still decoding) is dropped
instead of reaching a slot that would touch a deleted C++ object. The pool thread emits on an internal
QObject; the public signals are re-emitted from the GUI thread only while the owner is still valid.

Importing this module first runs :func:`playment_submit.gui.qt_refcounts.protect_bools`: PySide6 6.12.0 loses
a reference to ``True`` per emit, which on Python < 3.12 aborted the window after about 150 jobs.
"""

from __future__ import annotations

import inspect
import logging
import threading
from collections.abc import Callable
from typing import Any

import shiboken6
from PySide6.QtCore import QObject, QRunnable, QThreadPool, QTimer, Signal

from playment_submit.gui.qt_refcounts import protect_bools

log = logging.getLogger(__name__)
protect_bools()  # before any worker emits: every window imports this module
_alive: set[Worker] = set()


class WorkerSignals(QObject):
    started = Signal()
    progressed = Signal(object)
    returned = Signal(object)
    errored = Signal(object)
    finished = Signal()


def alive(obj: Any) -> bool:
    """True while the C++ side of a Qt wrapper (widget, list item...) still exists."""
    return obj is not None and shiboken6.isValid(obj)


class Worker(QRunnable):
    def __init__(self, fn: Callable[..., Any], *args: Any, owner: QObject | None = None, **kwargs: Any):
        super().__init__()
        self.setAutoDelete(False)
        self._emitter = WorkerSignals()  # emitted from the pool thread, delivered queued to the GUI thread
        self.signals = WorkerSignals()  # what callers connect to; re-emitted in the GUI thread
        self.owner = owner
        for name in ("started", "progressed", "returned", "errored", "finished"):
            source, target = getattr(self._emitter, name), getattr(self.signals, name)
            source.connect(lambda *a, t=target, n=name: self._relay(n, t, a))
        self.cancel_event = threading.Event()
        params = inspect.signature(fn).parameters
        if "progress_callback" in params:
            kwargs["progress_callback"] = self._emitter.progressed.emit
        if "cancel_event" in params:
            kwargs["cancel_event"] = self.cancel_event
        self._fn, self._args, self._kwargs = fn, args, kwargs
        # Convenience aliases: worker.returned.connect(...)
        self.started, self.progressed = self.signals.started, self.signals.progressed
        self.returned, self.errored, self.finished = self.signals.returned, self.signals.errored, self.signals.finished

    def _relay(self, name: str, target, args: tuple) -> None:
        if self.owner is not None and not alive(self.owner):
            log.debug("dropped %s of %s: its owner was deleted", name, getattr(self._fn, "__name__", self._fn))
            if name == "finished":
                _alive.discard(self)
            return
        target.emit(*args)

    def cancel(self) -> None:
        self.cancel_event.set()

    def run(self) -> None:
        self._emitter.started.emit()
        try:
            result = self._fn(*self._args, **self._kwargs)
        except Exception as e:  # delivered to the GUI as a value; core errors carry user sentences
            log.debug("worker %s failed: %s", getattr(self._fn, "__name__", self._fn), e)
            self._emitter.errored.emit(e)
        else:
            self._emitter.returned.emit(result)
        finally:
            self._emitter.finished.emit()


def start_worker(fn: Callable[..., Any], *args: Any, owner: QObject | None = None, **kwargs: Any) -> Worker:
    worker = Worker(fn, *args, owner=owner, **kwargs)
    _alive.add(worker)
    worker.signals.finished.connect(lambda: _alive.discard(worker))
    QTimer.singleShot(0, lambda: QThreadPool.globalInstance().start(worker))
    return worker
