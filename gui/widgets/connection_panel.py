"""Connection: a named profile (base URL, project, workflow) and the API key (OS keyring only).

The key is never written to a file: it goes to the keyring through core.settings; without a keyring
backend the panel says so and the key comes from PLAYMENT_API_KEY. "Test connection" runs on a worker.
"""

from __future__ import annotations

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from playment_submit.core.client import PlaymentClient
from playment_submit.core.errors import PlaymentError, ValidationError
from playment_submit.core.settings import (
    SecretStoreUnavailable,
    delete_profile,
    get_api_key,
    load_profiles,
    merged_profile,
    save_profiles,
    set_api_key,
)
from playment_submit.gui.style import set_status
from playment_submit.gui.workers import start_worker


def test_connection(base_url: str, project_id: str, api_key: str):
    with PlaymentClient(base_url, project_id, api_key, timeout=(5.0, 10.0), get_retries=1) as client:
        return client.test_connection()


class ConnectionPanel(QWidget):
    connection_applied = Signal(str, str, str, object)  # base_url, project_id, workflow_id, api_key or None
    storage_applied = Signal(dict)                        # the profile's storage settings
    profile_applied = Signal(object)                      # the core.settings.Profile saved and now in use

    def __init__(self, backend, parent=None):
        super().__init__(parent)
        self.backend = backend
        lay = QVBoxLayout(self)
        form = QFormLayout()
        self.profile = QComboBox()
        self.profile.setEditable(True)
        self.profile.setToolTip("Pick a saved profile, or type a new name and press \"Save and use\".")
        self.base_url = QLineEdit(backend.base_url)
        self.project_id = QLineEdit(backend.project_id)
        self.workflow_id = QLineEdit(backend.workflow_id)
        self.api_key = QLineEdit()
        self.api_key.setEchoMode(QLineEdit.EchoMode.Password)
        self.api_key.setPlaceholderText("sandbox key in use" if backend.sandbox_mode else "stored in the OS keyring")
        self.api_key.setToolTip("Kept in the operating system's keyring, never in a file or a log.")
        self.delete = QPushButton("Delete…")
        self.delete.setToolTip("Forget the profile shown and its key in the keyring (its history stays on disk).")
        profile_row = QHBoxLayout()  # beside the profile it deletes; keeps the tab narrow enough for 1024 px
        profile_row.addWidget(self.profile, 1)
        profile_row.addWidget(self.delete)
        form.addRow("Profile", profile_row)
        form.addRow("Base URL", self.base_url)
        form.addRow("Project ID", self.project_id)
        form.addRow("Workflow ID", self.workflow_id)
        form.addRow("API key", self.api_key)
        lay.addLayout(form)
        lay.addWidget(self._build_storage_group(backend.profile.storage, backend.sandbox_mode))
        self.warning = QLabel(backend.key_warning or "")
        self.warning.setWordWrap(True)
        set_status(self.warning, "warning")
        self.warning.setVisible(bool(backend.key_warning))
        lay.addWidget(self.warning)
        row = QHBoxLayout()
        self.save = QPushButton("Save and use")
        self.test = QPushButton("Test connection")
        row.addWidget(self.save)
        row.addWidget(self.test)
        row.addStretch(1)
        lay.addLayout(row)
        self.result = QLabel("")
        self.result.setWordWrap(True)
        lay.addWidget(self.result)
        lay.addStretch(1)
        self._worker = None
        self.key_source = QLabel("")
        self.key_source.setWordWrap(True)
        form.addRow("", self.key_source)
        self._fill_profiles(backend.profile.name)
        self._show_key_source(backend.profile.name)
        self.save.clicked.connect(self._on_save_clicked)
        self.test.clicked.connect(self._on_test_clicked)
        self.delete.clicked.connect(self._on_delete_clicked)
        self.profile.activated.connect(self._on_profile_changed)

    # ------------------------------------------------------------- profiles
    def _fill_profiles(self, current: str) -> None:
        try:
            names = sorted(load_profiles()[0])
        except PlaymentError as e:  # a broken profiles.json: said, not raised
            names = []
            self.result.setText(str(e))
        self.profile.blockSignals(True)
        self.profile.clear()
        self.profile.addItems(names if current in names else [current, *names])
        self.profile.setCurrentText(current)
        self.profile.blockSignals(False)

    def _show_key_source(self, name: str) -> None:
        if self.backend.sandbox_mode and name == self.backend.profile.name:
            self.key_source.setText("The sandbox's own key is in use.")
            return
        _, source, _ = get_api_key(name)
        self.key_source.setText({"keyring": "A key for this profile is in the OS keyring.",
                                 "environment": "The key comes from PLAYMENT_API_KEY.",
                                 "none": "No key stored for this profile yet."}[source])

    def _on_profile_changed(self, _index: int) -> None:
        """A saved profile was picked: show its settings (applied with "Save and use")."""
        name = self.profile.currentText().strip()
        try:
            profile = load_profiles()[0].get(name)
        except PlaymentError as e:
            self.result.setText(str(e))
            return
        if profile is None:
            return
        self._show_fields(profile.base_url, profile.project_id, profile.workflow_id, profile.storage)
        self._show_key_source(name)
        self.result.setText(f"Profile \"{name}\" shown; press \"Save and use\" to switch to it.")

    def _show_fields(self, base_url: str, project_id: str, workflow_id: str, storage: dict,
                     default_kind: str = "none") -> None:
        storage = storage or {}
        self.base_url.setText(base_url)
        self.project_id.setText(project_id)
        self.workflow_id.setText(workflow_id)
        kind = storage.get("kind") or default_kind
        self.storage_kind.setCurrentIndex(max(0, self.storage_kind.findData(kind)))
        self.bucket.setText(storage.get("bucket", ""))
        self.prefix.setText(storage.get("prefix", ""))
        self.endpoint.setText(storage.get("endpoint_url", ""))
        self.url_style.setCurrentIndex(max(0, self.url_style.findData(storage.get("url_style", "s3"))))

    def _on_delete_clicked(self) -> None:
        name = self.profile.currentText().strip()
        in_use = self.backend.profile.name
        if not name:
            return
        if name == in_use:
            self.result.setText(f"Profile \"{name}\" is in use; switch to another profile (pick it and press "
                                f"\"Save and use\") before deleting this one.")
            return
        answer = QMessageBox.question(
            self, "Delete profile",
            f"Delete the profile \"{name}\" and its API key in the keyring?\n\n"
            "Its submission history stays on disk and comes back if a profile of that name is saved again.")
        if answer != QMessageBox.StandardButton.Yes:
            return
        try:
            delete_profile(name)
        except PlaymentError as e:
            self.result.setText(str(e))
            return
        self._fill_profiles(in_use)
        b = self.backend
        self._show_fields(b.base_url, b.project_id, b.workflow_id, b.profile.storage,
                          "sandbox" if b.sandbox_mode else "none")
        self._show_key_source(in_use)
        self.result.setText(f"Deleted profile \"{name}\"; showing \"{in_use}\", the profile in use.")

    def _build_storage_group(self, storage: dict, sandbox: bool) -> QGroupBox:
        """Where local files go before a job is sent (credentials come from the AWS chain, never here)."""
        box = QGroupBox("Uploading local files")
        form = QFormLayout(box)
        self.storage_kind = QComboBox()
        for label, kind in (("URLs only (no uploads)", "none"), ("S3 or S3-compatible bucket", "s3")) + (
                (("The sandbox's own storage", "sandbox"),) if sandbox else ()):
            self.storage_kind.addItem(label, kind)
        self.storage_kind.setCurrentIndex(max(0, self.storage_kind.findData(storage.get("kind") or
                                                                            ("sandbox" if sandbox else "none"))))
        self.bucket = QLineEdit(storage.get("bucket", ""))
        self.prefix = QLineEdit(storage.get("prefix", ""))
        self.endpoint = QLineEdit(storage.get("endpoint_url", ""))
        self.endpoint.setPlaceholderText("only for MinIO, Wasabi, GCS interop…")
        self.url_style = QComboBox()
        for label, style in (("s3://bucket/key (Playment reads via bucket policy)", "s3"),
                             ("public https URL", "https"), ("presigned https URL", "presigned")):
            self.url_style.addItem(label, style)
        self.url_style.setCurrentIndex(max(0, self.url_style.findData(storage.get("url_style", "s3"))))
        form.addRow("Storage", self.storage_kind)
        form.addRow("Bucket", self.bucket)
        form.addRow("Prefix", self.prefix)
        form.addRow("Endpoint", self.endpoint)
        form.addRow("URL style", self.url_style)
        self.storage_kind.currentIndexChanged.connect(self._on_storage_kind_changed)
        self._on_storage_kind_changed()
        return box

    def _on_storage_kind_changed(self, *_args) -> None:
        s3 = self.storage_kind.currentData() == "s3"
        for w in (self.bucket, self.prefix, self.endpoint, self.url_style):
            w.setEnabled(s3)

    def storage_settings(self) -> dict:
        kind = self.storage_kind.currentData()
        if kind != "s3":
            return {"kind": kind}
        out = {"kind": "s3", "bucket": self.bucket.text().strip(), "prefix": self.prefix.text().strip(),
               "url_style": self.url_style.currentData()}
        if self.endpoint.text().strip():
            out["endpoint_url"] = self.endpoint.text().strip()
        return out

    def _key(self) -> str | None:
        return self.api_key.text().strip() or None

    def _on_save_clicked(self) -> None:
        name = self.profile.currentText().strip() or "default"
        key = self._key_or_current()  # read before the field is cleared below
        try:
            profiles, _ = load_profiles()
            unreadable = None
        except PlaymentError as e:  # a broken profiles.json: said, and the settings are used unsaved
            profiles, unreadable = {}, e
        try:  # core's rule: the form's fields over the saved profile, which keeps batches and default batch
            profile = merged_profile(profiles.get(name), name=name, base_url=self.base_url.text(),
                                     project_id=self.project_id.text(), workflow_id=self.workflow_id.text(),
                                     storage=self.storage_settings())
        except ValidationError as e:  # nothing saved or applied; the form keeps what was typed
            self.result.setText(str(e))
            return
        if unreadable is not None:
            self.result.setText(str(unreadable))
        else:
            try:
                profiles[name] = profile
                save_profiles(profiles, current=name)
                key = self._key()
                if key:
                    set_api_key(name, key)
                self.result.setText(f"Saved profile \"{name}\".")
            except SecretStoreUnavailable as e:
                self.warning.setText(str(e))
                self.warning.setVisible(True)
            except PlaymentError as e:
                self.result.setText(str(e))
        self.api_key.clear()
        self._fill_profiles(name)
        self._show_key_source(name)
        self.profile_applied.emit(profile)
        self.connection_applied.emit(profile.base_url, profile.project_id, profile.workflow_id, key)
        self.storage_applied.emit(profile.storage)

    def _key_or_current(self) -> str | None:
        return self._key() or self.backend.api_key

    def _on_test_clicked(self) -> None:
        key = self._key_or_current()
        if not key:
            self.result.setText("No API key: enter one above (or set PLAYMENT_API_KEY).")
            return
        self.result.setText("Testing…")
        self.test.setEnabled(False)
        self._worker = start_worker(test_connection, self.base_url.text().strip(), self.project_id.text().strip(), key,
                                     owner=self)
        self._worker.returned.connect(lambda report: self.result.setText(
            ("✔ " if report.ok else "✖ ") + report.message))
        self._worker.errored.connect(lambda e: self.result.setText(f"✖ {e}"))
        self._worker.finished.connect(lambda: self.test.setEnabled(True))
