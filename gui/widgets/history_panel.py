"""History: this profile's submissions from the journal, searchable and filterable, with a context menu.

Each row is one reference ID: when, its job ID, what this app recorded (created, failed, ...), and the
message. The "Playment status" column shows Playment's own status of each job: at first as the journal last
stored it (no request), then as "Refresh status" finds it (the main window runs ``core.status.refresh_statuses``
in a worker and hands the report to :meth:`HistoryPanel.show_status_report`). A status that changed since the
user last looked is bold, its tooltip says what it was; the counts by status are shown above the table. The
column stays hidden until some row has a value.

Right-click (or the keyboard's menu key) on a row: copy its job ID or reference ID, or open the job in
the Job tab (the payload as it was sent, to fix or send again under a new reference ID). Ctrl+C copies the
job ID; Enter opens the row.
"""

from __future__ import annotations

from PySide6.QtCore import QSortFilterProxyModel, Qt, Signal
from PySide6.QtGui import QAction, QFont, QGuiApplication, QKeySequence, QStandardItem, QStandardItemModel
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMenu,
    QProgressBar,
    QPushButton,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from playment_submit.core.status import HISTORY_SHOWN
from playment_submit.gui.style import set_status

COLS = ("Time (UTC)", "Reference ID", "Job ID", "State", "Playment status", "Message")
TIME, REF, JOB, STATE, LIVE, MESSAGE = range(len(COLS))
PAYLOAD_ROLE = Qt.ItemDataRole.UserRole + 1
CHANGED_ROLE = Qt.ItemDataRole.UserRole + 2  # on the status item: True when it changed since the last look
SHOWN = HISTORY_SHOWN  # the most recent journal entries listed (those whose news the refresh's worker finds)

# (label, the journal states it shows); "problems" are the rows that need a look
FILTERS = (("All", None), ("Created", {"created"}), ("Problems", {"failed", "ambiguous", "sending"}))


class _Filter(QSortFilterProxyModel):
    """Rows whose state is in ``states`` (None: all) and whose reference ID, job ID or message holds the
    search text (case-insensitive)."""

    def __init__(self, parent=None):
        super().__init__(parent)
        self.states: set[str] | None = None
        self.text = ""

    def set(self, states: set[str] | None, text: str) -> None:
        if hasattr(self, "beginFilterChange"):  # Qt 6.10+: invalidateFilter() is deprecated there
            self.beginFilterChange()
            self.states, self.text = states, text.strip().lower()
            self.endFilterChange()
        else:
            self.states, self.text = states, text.strip().lower()
            self.invalidateFilter()

    def filterAcceptsRow(self, row, parent) -> bool:
        m = self.sourceModel()
        if self.states is not None and m.index(row, STATE, parent).data() not in self.states:
            return False
        if not self.text:
            return True
        return any(self.text in str(m.index(row, c, parent).data() or "").lower() for c in (REF, JOB, MESSAGE, LIVE))


class HistoryPanel(QWidget):
    reopen_requested = Signal(dict)   # the payload as sent, to open in the Job tab
    status_refresh_requested = Signal()
    status_cancel_requested = Signal()

    def __init__(self, journal, parent=None):
        super().__init__(parent)
        self.journal = journal
        self.stale = False
        self.changes: dict[str, str | None] = {}  # job_id -> the status it had when last looked at (shown bold)
        lay = QVBoxLayout(self)
        status_bar = QHBoxLayout()
        self.refresh_status = QPushButton("Refresh s&tatus")
        self.refresh_status.setToolTip("Ask Playment where every job not yet final stands (a batch page answers "
                                       "up to 100 jobs)")
        self.status_progress = QProgressBar()
        self.status_progress.setVisible(False)
        self.status_cancel = QPushButton("Cancel")
        self.status_cancel.setVisible(False)
        self.status_summary = QLabel("")
        self.status_summary.setWordWrap(True)
        self.status_summary.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        status_bar.addWidget(self.refresh_status)
        status_bar.addWidget(self.status_progress)
        status_bar.addWidget(self.status_cancel)
        status_bar.addWidget(self.status_summary, 1)
        lay.addLayout(status_bar)
        bar = QHBoxLayout()
        self.search = QLineEdit()
        self.search.setPlaceholderText("Search reference ID, job ID or message")
        self.search.setClearButtonEnabled(True)
        self.filter = QComboBox()
        for label, _states in FILTERS:
            self.filter.addItem(label)
        self.filter.setToolTip("Show all submissions, only the created ones, or only those that need a look")
        self.count = QLabel("")
        find = QLabel("Fin&d")
        find.setBuddy(self.search)
        bar.addWidget(find)
        bar.addWidget(self.search, 1)
        show = QLabel("Sho&w")
        show.setBuddy(self.filter)
        bar.addWidget(show)
        bar.addWidget(self.filter)
        bar.addWidget(self.count)
        lay.addLayout(bar)

        self.model = QStandardItemModel(0, len(COLS), self)
        self.model.setHorizontalHeaderLabels(COLS)
        self.proxy = _Filter(self)
        self.proxy.setSourceModel(self.model)
        self.table = QTableView()
        self.table.setModel(self.proxy)
        self.table.verticalHeader().setVisible(False)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setTabKeyNavigation(False)  # Tab leaves the table; Ctrl+Tab switches the window's tabs
        self.table.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        header = self.table.horizontalHeader()
        header.setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        header.setStretchLastSection(True)
        self.table.setColumnHidden(LIVE, True)  # until a live status is known
        lay.addWidget(self.table, 1)

        self.copy_job_action = self._action("Copy &job ID", QKeySequence.StandardKey.Copy, self.copy_job_id)
        self.copy_ref_action = self._action("Copy &reference ID", None, self.copy_reference_id)
        self.reopen_action = self._action("&Open in the Job tab", None, self.reopen_selected)
        self.reopen_action.setShortcuts([QKeySequence(Qt.Key.Key_Return), QKeySequence(Qt.Key.Key_Enter)])
        self.search.textChanged.connect(self._on_filter_changed)
        self.filter.currentIndexChanged.connect(self._on_filter_changed)
        self.table.customContextMenuRequested.connect(self._on_context_menu)
        self.table.doubleClicked.connect(lambda _i: self.reopen_selected())
        self.refresh_status.clicked.connect(self.status_refresh_requested)
        self.status_cancel.clicked.connect(self.status_cancel_requested)
        self.table.selectionModel().selectionChanged.connect(lambda *_: self._update_actions())
        self.refresh()

    def _action(self, text: str, shortcut, slot) -> QAction:
        a = QAction(text, self.table)
        if shortcut is not None:
            a.setShortcut(QKeySequence(shortcut))
        a.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        a.triggered.connect(slot)
        self.table.addAction(a)
        return a

    # ------------------------------------------------------------- content
    def refresh(self) -> None:
        """Rebuild from the journal: its entries, and Playment's statuses as last stored (no request)."""
        self.stale = False
        entries = self.journal.history(SHOWN) if self.journal is not None else []
        live = {self.model.item(r, REF).text(): self.model.item(r, LIVE).text() for r in range(self.model.rowCount())}
        # the listed jobs' stored statuses only (looked up by key), not every job the journal knows
        stored = (self.journal.remote_statuses([e.job_id for e in entries if e.job_id])
                  if self.journal is not None else {})
        unseen = [j for j, rs in stored.items() if rs.changed_since_seen and j not in self.changes]
        for j in unseen:  # moved since the last look (e.g. by `results`): news for this window until refreshed
            self.changes[j] = stored[j].seen_status
        self.model.setRowCount(0)
        for e in entries:
            rs = stored.get(e.job_id) if e.job_id else None
            status = rs.status if rs is not None and rs.status else live.get(e.reference_id, "")
            values = ((e.updated_at or "")[:19].replace("T", " "), e.reference_id, e.job_id or "", e.state,
                      status or "", e.message or "")
            items = [QStandardItem(str(v)) for v in values]
            items[REF].setData(e.payload, PAYLOAD_ROLE)
            if rs is not None:
                self._mark(items[LIVE], rs.status, rs.checked_at, e.job_id)
            self.model.appendRow(items)
        self._show_live_column()
        self._update_count()
        self._update_actions()
        if unseen and self.isVisible():
            self.journal.mark_statuses_seen(unseen)  # shown (bold) now; the next look is against these

    def _mark(self, item: QStandardItem, status: str | None, checked_at: str | None, job_id: str | None) -> None:
        """Bold with a "was ..." tooltip when the status changed since the user last looked."""
        when = f"Checked {checked_at[:19].replace('T', ' ')} UTC" if checked_at else ""
        changed = job_id is not None and job_id in self.changes and status is not None
        font = QFont(item.font())
        font.setBold(changed)
        item.setFont(font)
        if changed and job_id is not None:
            was = self.changes[job_id]
            tip = f"Changed since the last look (was {was})" if was else "New since the last look (first status seen)"
            item.setToolTip("\n".join(t for t in (tip, when) if t))
        else:
            item.setToolTip(when)
        item.setData(changed, CHANGED_ROLE)

    def show_status_report(self, report) -> None:
        """A ``core.status.StatusReport`` just read from Playment (``refresh_and_mark_seen``): the listed jobs'
        changes marked bold, the counts above the table. The worker marked every refreshed status "seen" in the
        journal (the next refresh marks only what moves after this look)."""
        self.changes = dict(report.changes)  # the listed jobs' news, found in the worker (which marked them seen)
        text = report.summary()
        if report.errors:
            text += f" {len(report.errors)} not read: " + report.errors[0] + (" …" if len(report.errors) > 1 else "")
        self.status_summary.setText(text)
        self.status_summary.setToolTip("\n".join(report.errors))
        set_status(self.status_summary, "warning" if report.errors else None)
        self.refresh()

    def show_status_failure(self, message: str) -> None:
        self.status_summary.setText(message)
        self.status_summary.setToolTip("")
        set_status(self.status_summary, "error")

    def set_status_busy(self, busy: bool) -> None:
        self.refresh_status.setEnabled(not busy)
        self.status_progress.setVisible(busy)
        self.status_cancel.setVisible(busy)
        self.status_cancel.setEnabled(busy)
        if busy:
            self.status_progress.setRange(0, 0)
            self.status_progress.setFormat("Asking Playment…")
            self.status_summary.setText("")

    def show_status_progress(self, done: int, total: int, what: str) -> None:
        if total > 0:
            self.status_progress.setRange(0, total)
            self.status_progress.setValue(done)
        self.status_progress.setFormat(f"{done} of {total} jobs")
        self.status_progress.setToolTip(f"Last asked: {what}")

    def set_live_status(self, statuses: dict[str, str]) -> None:
        """Playment's own status per reference ID (from the server); shows the column once one is known."""
        for r in range(self.model.rowCount()):
            ref = self.model.item(r, REF).text()
            if ref in statuses:
                self.model.item(r, LIVE).setText(statuses[ref])
        self._show_live_column()

    def _show_live_column(self) -> None:
        self.table.setColumnHidden(LIVE, not any(self.model.item(r, LIVE).text()
                                                 for r in range(self.model.rowCount())))

    def rowCount(self) -> int:
        """Rows shown (after search and filter)."""
        return self.proxy.rowCount()

    def item(self, row: int, column: int) -> QStandardItem:
        """The item shown at (row, column) (after search and filter)."""
        return self.model.itemFromIndex(self.proxy.mapToSource(self.proxy.index(row, column)))

    def _on_filter_changed(self, *_args) -> None:
        self.proxy.set(FILTERS[self.filter.currentIndex()][1], self.search.text())
        self._update_count()
        self._update_actions()

    def _update_count(self) -> None:
        shown, total = self.proxy.rowCount(), self.model.rowCount()
        self.count.setText(f"{shown} of {total}" if shown != total else f"{total} submission{'s' * (total != 1)}")

    # ------------------------------------------------------------- actions
    def selected_row(self) -> int | None:
        rows = self.table.selectionModel().selectedRows() if self.table.selectionModel() else []
        return rows[0].row() if rows else None

    def _selected(self, column: int) -> QStandardItem | None:
        row = self.selected_row()
        return None if row is None else self.item(row, column)

    def _update_actions(self) -> None:
        job, ref = self._selected(JOB), self._selected(REF)
        self.copy_job_action.setEnabled(bool(job is not None and job.text()))
        self.copy_ref_action.setEnabled(ref is not None)
        self.reopen_action.setEnabled(ref is not None and isinstance(ref.data(PAYLOAD_ROLE), dict))

    def copy_job_id(self) -> None:
        job = self._selected(JOB)
        if job is not None and job.text():
            QGuiApplication.clipboard().setText(job.text())

    def copy_reference_id(self) -> None:
        ref = self._selected(REF)
        if ref is not None:
            QGuiApplication.clipboard().setText(ref.text())

    def reopen_selected(self) -> None:
        ref = self._selected(REF)
        payload = ref.data(PAYLOAD_ROLE) if ref is not None else None
        if isinstance(payload, dict):
            self.reopen_requested.emit(payload)

    def context_menu(self) -> QMenu:
        self._update_actions()
        menu = QMenu(self)
        for a in (self.copy_job_action, self.copy_ref_action):
            menu.addAction(a)
        menu.addSeparator()
        menu.addAction(self.reopen_action)
        return menu

    def _on_context_menu(self, pos) -> None:
        index = self.table.indexAt(pos)
        if index.isValid():
            self.table.selectRow(index.row())
        self.context_menu().exec(self.table.viewport().mapToGlobal(pos))
