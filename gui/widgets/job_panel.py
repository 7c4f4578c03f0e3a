"""The job: reference ID, batch, the exact JSON that will be sent, and Submit with its reasons.

This panel shows; the main window decides (from core's validation) what it shows. Submit is enabled
only when there are no blocking problems, and the reasons are listed next to it, not hidden behind a
grey button. A failure keeps every field as it was.

The batch picker lists every batch of the project with "done / total" jobs (from Playment's ``/details``,
loaded by the main window in a worker), the project's default batch first and marked, plus batches this
profile remembers that the list did not name. Refresh asks again; the choice is kept across refreshes.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QFontDatabase, QGuiApplication
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QPlainTextEdit,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from playment_submit.gui.style import set_status

DEFAULT_BATCH = "Default batch"  # the project's; said in full by the tooltip


class JobPanel(QWidget):
    reference_id_edited = Signal(str)
    batch_chosen = Signal(object)          # batch_id or None (the project's default batch)
    batch_create_requested = Signal(str)
    batch_refresh_requested = Signal()
    submit_requested = Signal()
    cancel_requested = Signal()
    profile_workflow_requested = Signal()  # "Use the profile's": drop the job's own workflow

    def __init__(self, parent=None):
        super().__init__(parent)
        lay = QVBoxLayout(self)
        form = QFormLayout()
        self.reference_id = QLineEdit()
        self.reference_id.setPlaceholderText("Your own unique ID for this job")
        self.reference_id.setToolTip("Must be unique in the project; suggested from the primary image's file name.")
        form.addRow("Reference I&D", self.reference_id)  # Alt+D: R is the Results tab
        self.reference_note = QLabel("")
        self.reference_note.setWordWrap(True)
        set_status(self.reference_note, "warning")
        self.reference_note.setVisible(False)
        form.addRow("", self.reference_note)
        batch_row = QHBoxLayout()
        self.batch = QComboBox()
        # Long batch names must not widen the panel (the window fits 1024 px); the list shows them whole.
        self.batch.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.batch.setMinimumContentsLength(len(DEFAULT_BATCH))  # its first item is never clipped
        self.batch.addItem(DEFAULT_BATCH, None)
        self.batch.setToolTip("The batch the job goes into; the default is the project's default batch.")
        self.refresh_batches = QPushButton("Refresh")
        self.refresh_batches.setToolTip("Ask Playment again for the project's batches and their progress")
        self.new_batch = QPushButton("New batch…")
        batch_row.addWidget(self.batch, 1)
        batch_label = QLabel("B&atch")
        batch_label.setBuddy(self.batch)
        form.addRow(batch_label, batch_row)
        batch_actions = QHBoxLayout()  # under the picker: beside it they would widen the panel past 1024 px
        batch_actions.addWidget(self.refresh_batches)
        batch_actions.addWidget(self.new_batch)
        batch_actions.addStretch(1)
        form.addRow("", batch_actions)
        self.batch_note = QLabel("")  # why the list could not be read, or that it is being read
        self.batch_note.setWordWrap(True)
        self.batch_note.setVisible(False)
        form.addRow("", self.batch_note)
        self.workflow_note = QLabel("")  # the job's own workflow, from the job file (or History)
        self.workflow_note.setWordWrap(True)
        self.workflow_note.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        set_status(self.workflow_note, "muted")
        self.use_profile_workflow = QPushButton("Use the profile's")
        self.use_profile_workflow.setToolTip("Send this job with the workflow of the profile in use instead")
        self.workflow_label = QLabel("Workflow")
        form.addRow(self.workflow_label, self.workflow_note)
        workflow_actions = QHBoxLayout()  # under the ID: beside it a UUID wraps into a clipped column at 1024 px
        workflow_actions.addWidget(self.use_profile_workflow)
        workflow_actions.addStretch(1)
        form.addRow("", workflow_actions)
        self.show_workflow(None, "")
        lay.addLayout(form)

        head = QHBoxLayout()
        head.addWidget(QLabel("What will be sent"))
        head.addStretch(1)
        self.copy = QPushButton("Copy JSON")
        head.addWidget(self.copy)
        lay.addLayout(head)
        self.preview = QPlainTextEdit()
        self.preview.setReadOnly(True)
        self.preview.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.preview.setLineWrapMode(QPlainTextEdit.LineWrapMode.NoWrap)
        lay.addWidget(self.preview, 1)

        self.reasons = QLabel("")
        self.reasons.setWordWrap(True)
        set_status(self.reasons, "error")
        lay.addWidget(self.reasons)
        actions = QHBoxLayout()
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        self.submit = QPushButton("Submit job")
        self.submit.setDefault(True)
        self.submit.setToolTip("Create this job on Playment (Ctrl+Return)")
        self.cancel = QPushButton("Cancel")
        self.cancel.setVisible(False)
        actions.addWidget(self.progress, 1)
        actions.addWidget(self.cancel)
        actions.addWidget(self.submit)
        lay.addLayout(actions)
        # The whole job ID, wrapped if it must be, selectable, and a button that copies it.
        outcome = QHBoxLayout()
        self.result = QLabel("")
        self.result.setWordWrap(True)
        self.result.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse
                                            | Qt.TextInteractionFlag.TextSelectableByKeyboard)
        set_status(self.result, "ok")
        self.result.setVisible(False)
        self.copy_job_id = QPushButton("Copy job ID")
        self.copy_job_id.setToolTip("Copy the created job's ID to the clipboard")
        self.copy_job_id.setVisible(False)
        outcome.addWidget(self.result, 1)
        outcome.addWidget(self.copy_job_id, 0, Qt.AlignmentFlag.AlignTop)
        lay.addLayout(outcome)
        self.job_id = ""
        self.error = QLabel("")
        self.error.setWordWrap(True)
        self.error.setObjectName("jobError")
        set_status(self.error, "error")
        self.error.setVisible(False)
        lay.addWidget(self.error)

        self.reference_id.textEdited.connect(self.reference_id_edited)
        self.batch.currentIndexChanged.connect(lambda _i: self.batch_chosen.emit(self.batch.currentData()))
        self.new_batch.clicked.connect(self._on_new_batch_clicked)
        self.refresh_batches.clicked.connect(self.batch_refresh_requested)
        self.copy.clicked.connect(lambda: QGuiApplication.clipboard().setText(self.preview.toPlainText()))
        self.submit.clicked.connect(self.submit_requested)
        self.cancel.clicked.connect(self.cancel_requested)
        self.copy_job_id.clicked.connect(lambda: QGuiApplication.clipboard().setText(self.job_id))
        self.use_profile_workflow.clicked.connect(self.profile_workflow_requested)

    # ------------------------------------------------------------- showing
    def show_workflow(self, workflow_id: str | None, origin: str) -> None:
        """The job's own workflow and where it came from; hidden when the profile's is used."""
        shown = workflow_id is not None
        self.workflow_note.setText(f"{workflow_id} (from {origin or 'the job'})" if shown else "")
        for w in (self.workflow_label, self.workflow_note, self.use_profile_workflow):
            w.setVisible(shown)

    def show_payload(self, text: str) -> None:
        if text != self.preview.toPlainText():
            bar = self.preview.verticalScrollBar().value()
            self.preview.setPlainText(text)
            self.preview.verticalScrollBar().setValue(bar)

    def set_blockers(self, reasons: list[str], *, just_sent: bool = False) -> None:
        """Problems that stop submission (empty: Submit is enabled). ``just_sent``: the only thing stopping it
        is that this very job was sent a moment ago: the same sentences, but as information, not as an error."""
        shown = reasons[:6] + ([f"… and {len(reasons) - 6} more"] if len(reasons) > 6 else [])
        header = "Sent. To send another job, change the reference ID:" if just_sent else "Cannot submit yet:"
        set_status(self.reasons, "muted" if just_sent else "error")
        self.reasons.setText(f"{header}\n• " + "\n• ".join(shown) if reasons else "")
        self.submit.setEnabled(not reasons and not self.cancel.isVisible())

    def set_batches(self, batches: dict[str, str]) -> None:
        """The batches offered for another profile (name -> batch_id); the default batch is chosen."""
        self.batch.clear()
        self.batch.addItem(DEFAULT_BATCH, None)
        for name, batch_id in batches.items():
            self.add_batch(name, batch_id, select=False)
        self.batch.setCurrentIndex(0)

    def add_batch(self, name: str, batch_id: str, select: bool = True) -> None:
        index = self.batch.findData(batch_id)
        if index < 0:
            self.batch.addItem(f"{name} ({batch_id[:8]}…)", batch_id)
            index = self.batch.count() - 1
        if select:
            self.batch.setCurrentIndex(index)

    def show_batch_list(self, batches, remembered: dict[str, str]) -> None:
        """Every batch Playment listed (``core.client.BatchInfo``: name, id, ``progress`` "done / total",
        ``is_default``), then the remembered ones (name -> id) it did not list. The batch chosen before stays
        chosen (by ID), without a ``batch_chosen`` signal when it did not change."""
        chosen = self.batch.currentData()
        self.batch.blockSignals(True)
        try:
            self.batch.clear()
            default = next((b for b in batches if b.is_default), None)
            self.batch.addItem(f"{DEFAULT_BATCH} · {default.progress}" if default else DEFAULT_BATCH, None)
            self.batch.setItemData(0, self._batch_tip(default) if default else
                                   "The project's default batch (no batch_id is sent)", Qt.ItemDataRole.ToolTipRole)
            listed = set()
            for b in batches:
                listed.add(b.batch_id)
                if b.is_default:
                    continue
                self.batch.addItem(f"{b.name} · {b.progress}", b.batch_id)
                self.batch.setItemData(self.batch.count() - 1, self._batch_tip(b), Qt.ItemDataRole.ToolTipRole)
            for name, batch_id in remembered.items():
                if batch_id not in listed:
                    self.batch.addItem(f"{name} ({batch_id[:8]}…)", batch_id)
                    self.batch.setItemData(self.batch.count() - 1, f"{name}\nID {batch_id}\nNot in Playment's "
                                           f"list of this project's batches", Qt.ItemDataRole.ToolTipRole)
            index = self.batch.findData(chosen) if chosen is not None else 0
            if index < 0:  # a batch that is gone from the list (another project now): keep it offered
                self.batch.addItem(f"chosen before ({str(chosen)[:8]}…)", chosen)
                index = self.batch.count() - 1
            self.batch.setCurrentIndex(index)
        finally:
            self.batch.blockSignals(False)

    @staticmethod
    def _batch_tip(b) -> str:
        marked = " (the project's default batch)" if b.is_default else ""
        lines = [f"{b.name}{marked}", f"ID {b.batch_id}", f"{b.progress} jobs done"]
        if b.status:
            lines.append(f"Status: {b.status}")
        if b.created_at:
            lines.append(f"Created {b.created_at}")
        return "\n".join(lines)

    def show_batch_note(self, text: str, kind: str | None = None) -> None:
        """A sentence under the picker (``kind`` "error" for a list that could not be read); "" hides it."""
        self.batch_note.setText(text)
        set_status(self.batch_note, kind)
        self.batch_note.setVisible(bool(text))

    def set_busy(self, busy: bool) -> None:
        self.progress.setVisible(busy)
        self.cancel.setVisible(busy)
        self.cancel.setEnabled(busy)
        if busy:
            self.progress.setRange(0, 0)
            self.submit.setEnabled(False)
            self.clear_outcome()

    def show_progress(self, phase: str, done: int, total: int, message: str) -> None:
        if total > 1:
            self.progress.setRange(0, total)
            self.progress.setValue(done)
        else:
            self.progress.setRange(0, 0)
        self.progress.setFormat(message)

    def show_success(self, job_id: str, status: str, reference_id: str) -> None:
        self.job_id = job_id
        self.result.setText(f"Job {status}: {job_id}\n(reference ID {reference_id})")
        self.result.setVisible(True)
        self.copy_job_id.setVisible(True)
        self.error.setVisible(False)

    def show_failure(self, message: str) -> None:
        self.error.setText(message)
        self.error.setVisible(True)
        self.result.setVisible(False)
        self.copy_job_id.setVisible(False)

    def clear_outcome(self, keep_success: bool = False) -> None:
        """Hide the last submission's outcome (its cause is gone: another job, another connection)."""
        self.error.setText("")
        self.error.setVisible(False)
        if not keep_success:
            self.job_id = ""
            self.result.setText("")
            self.result.setVisible(False)
            self.copy_job_id.setVisible(False)

    def _on_new_batch_clicked(self) -> None:
        name, ok = QInputDialog.getText(self, "New batch", "Name of the new batch:")
        if ok and name.strip():
            self.batch_create_requested.emit(name.strip())
