"""History: this profile's submissions from the journal (time, reference ID, job ID, status)."""

from __future__ import annotations

from PySide6.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem

COLS = ("Time (UTC)", "Reference ID", "Job ID", "Status", "Message")


class HistoryPanel(QTableWidget):
    def __init__(self, journal, parent=None):
        super().__init__(0, len(COLS), parent)
        self.journal = journal
        self.stale = False
        self.setHorizontalHeaderLabels(COLS)
        self.verticalHeader().setVisible(False)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.horizontalHeader().setStretchLastSection(True)
        self.refresh()

    def refresh(self) -> None:
        self.stale = False
        entries = self.journal.history(500) if self.journal is not None else []
        self.setRowCount(len(entries))
        for r, e in enumerate(entries):
            values = ((e.updated_at or "")[:19].replace("T", " "), e.reference_id, e.job_id or "", e.state,
                      e.message or "")
            for c, v in enumerate(values):
                self.setItem(r, c, QTableWidgetItem(str(v)))
