"""The Job tab's running check: core's verdict on the draft as it is now, computed off the GUI thread, and
the reasons Submit is disabled (core's sentences; "still checking" and "still loading" are the window's)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import QObject

from playment_submit.core import draft as drafts
from playment_submit.core.errors import Problem
from playment_submit.core.job import JobSpec
from playment_submit.core.pipeline import Verdict
from playment_submit.gui.workers import Worker, start_worker

if TYPE_CHECKING:
    from playment_submit.gui.main_window import MainWindow

CHECKING = "still checking the job's files"


class JobCheck(QObject):
    """Core's verdict on ``window``'s draft, keyed by :func:`core.draft.check_key`."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self.w = window
        self.worker: Worker | None = None
        self.verdict: Verdict | None = None    # for the job as it was when checked
        self.verdict_key: str | None = None
        self.checking_key: str | None = None

    def verdict_for(self, key: str) -> Verdict | None:
        """The verdict on the job whose check key is ``key``; None while it is being checked."""
        return self.verdict if self.verdict is not None and self.verdict_key == key else None

    def needs_check(self, key: str) -> bool:
        return self.verdict_key != key and self.checking_key != key

    def blockers(self, spec: JobSpec, key: str | None = None) -> list[str]:
        """Why Submit is disabled: core's answer for this very draft (the same sentences `submit` and `bulk`
        print), or that it is still being checked or loaded. ``key``: the job's check key, when known."""
        session = self.w.session
        verdict = self.verdict_for(key if key is not None else drafts.check_key(spec, session))
        reasons = [p.text("gui") for p in self.w.draft.blockers(spec, can_upload=session.can_upload,
                                                                verdict=verdict)]
        if verdict is None and not reasons:
            reasons.append(CHECKING)
        loading = self.w.busy_with() - {"submit", "check"}
        if loading:
            reasons.append("still loading: " + ", ".join(sorted(loading)))
        return reasons

    def start(self, spec: JobSpec, key: str) -> None:
        """Run core's check of the whole job (files decoded, mask checked, journal) in a worker."""
        if self.worker is not None:
            self.worker.cancel()  # its result is dropped below: the key no longer matches
        session = self.w.session
        worker = start_worker(lambda: session.check(spec, ask_server=True), owner=self.w)
        worker.returned.connect(lambda verdict, k=key: self._done(k, verdict))
        worker.errored.connect(lambda e, k=key, s=spec: self._done(
            k, Verdict(spec=s, problems=[Problem("", f"The job could not be checked: {e}")])))
        worker.finished.connect(lambda w=worker: self._finished(w))
        self.worker = worker
        self.checking_key = key
        self.w.set_busy("check", True)

    def _done(self, key: str, verdict: Verdict) -> None:
        if key == self.checking_key:  # an older check that finished late does not overwrite a newer one
            self.verdict, self.verdict_key = verdict, key
            self.w.schedule_refresh()

    def _finished(self, worker: Worker) -> None:
        if self.worker is worker:
            self.worker = None
            self.w.set_busy("check", False)
