"""The job: reference ID, batch, the exact JSON that will be sent, and Submit with its reasons.

This panel shows; the main window decides (from core's validation) what it shows. Submit is enabled
only when there are no blocking problems, and the reasons are listed next to it, not hidden behind a
grey button. A failure keeps every field as it was.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
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


class JobPanel(QWidget):
    reference_id_edited = Signal(str)
    batch_chosen = Signal(object)          # batch_id or None (the project's default batch)
    batch_create_requested = Signal(str)
    submit_requested = Signal()
    cancel_requested = Signal()

    def __init__(self, parent=None):
        super().__init__(parent)
        lay = QVBoxLayout(self)
        form = QFormLayout()
        self.reference_id = QLineEdit()
        self.reference_id.setPlaceholderText("Your own unique ID for this job")
        self.reference_id.setToolTip("Must be unique in the project; suggested from the primary image's file name.")
        form.addRow("Reference ID", self.reference_id)
        self.reference_note = QLabel("")
        self.reference_note.setWordWrap(True)
        set_status(self.reference_note, "warning")
        self.reference_note.setVisible(False)
        form.addRow("", self.reference_note)
        batch_row = QHBoxLayout()
        self.batch = QComboBox()
        # Long batch names must not widen the panel (the window fits 1024 px); the list shows them whole.
        self.batch.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
        self.batch.setMinimumContentsLength(12)
        self.batch.addItem("Project's default batch", None)
        self.new_batch = QPushButton("New batch…")
        batch_row.addWidget(self.batch, 1)
        batch_row.addWidget(self.new_batch)
        form.addRow("Batch", batch_row)
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
        self.result = QLineEdit()
        self.result.setReadOnly(True)
        self.result.setFrame(False)
        self.result.setVisible(False)
        lay.addWidget(self.result)
        self.error = QLabel("")
        self.error.setWordWrap(True)
        self.error.setObjectName("jobError")
        set_status(self.error, "error")
        self.error.setVisible(False)
        lay.addWidget(self.error)

        self.reference_id.textEdited.connect(self.reference_id_edited)
        self.batch.currentIndexChanged.connect(lambda _i: self.batch_chosen.emit(self.batch.currentData()))
        self.new_batch.clicked.connect(self._on_new_batch_clicked)
        self.copy.clicked.connect(lambda: QGuiApplication.clipboard().setText(self.preview.toPlainText()))
        self.submit.clicked.connect(self.submit_requested)
        self.cancel.clicked.connect(self.cancel_requested)

    # ------------------------------------------------------------- showing
    def show_payload(self, text: str) -> None:
        if text != self.preview.toPlainText():
            bar = self.preview.verticalScrollBar().value()
            self.preview.setPlainText(text)
            self.preview.verticalScrollBar().setValue(bar)

    def set_blockers(self, reasons: list[str]) -> None:
        """Problems that stop submission (empty: Submit is enabled)."""
        shown = reasons[:6] + ([f"… and {len(reasons) - 6} more"] if len(reasons) > 6 else [])
        self.reasons.setText("Cannot submit yet:\n• " + "\n• ".join(shown) if reasons else "")
        self.submit.setEnabled(not reasons and not self.cancel.isVisible())

    def set_batches(self, batches: dict[str, str]) -> None:
        """The batches offered for another profile (name -> batch_id); the default batch is chosen."""
        self.batch.clear()
        self.batch.addItem("Project's default batch", None)
        for name, batch_id in batches.items():
            self.add_batch(name, batch_id, select=False)
        self.batch.setCurrentIndex(0)

    def add_batch(self, name: str, batch_id: str, select: bool = True) -> None:
        self.batch.addItem(f"{name} ({batch_id[:8]}…)", batch_id)
        if select:
            self.batch.setCurrentIndex(self.batch.count() - 1)

    def set_busy(self, busy: bool) -> None:
        self.progress.setVisible(busy)
        self.cancel.setVisible(busy)
        self.cancel.setEnabled(busy)
        if busy:
            self.progress.setRange(0, 0)
            self.submit.setEnabled(False)
            self.result.setVisible(False)
            self.error.setVisible(False)

    def show_progress(self, phase: str, done: int, total: int, message: str) -> None:
        if total > 1:
            self.progress.setRange(0, total)
            self.progress.setValue(done)
        else:
            self.progress.setRange(0, 0)
        self.progress.setFormat(message)

    def show_success(self, job_id: str, status: str, reference_id: str) -> None:
        self.result.setText(f"Job {status}: {job_id}  (reference ID {reference_id})")
        self.result.setVisible(True)
        self.error.setVisible(False)

    def show_failure(self, message: str) -> None:
        self.error.setText(message)
        self.error.setVisible(True)
        self.result.setVisible(False)

    def _on_new_batch_clicked(self) -> None:
        name, ok = QInputDialog.getText(self, "New batch", "Name of the new batch:")
        if ok and name.strip():
            self.batch_create_requested.emit(name.strip())
