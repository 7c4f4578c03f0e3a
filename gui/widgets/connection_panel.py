"""Connection: a named profile (base URL, project, workflow) and the API key (OS keyring only).

The key is never written to a file: it goes to the keyring through core.settings; without a keyring
backend the panel says so and the key comes from PLAYMENT_API_KEY. "Test connection" runs on a worker.
"""

from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPlainTextEdit,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from playment_submit.core.errors import PlaymentError, ValidationError
from playment_submit.core.network import describe as describe_network
from playment_submit.core.settings import (
    SANDBOX_PROFILE,
    Profile,
    SecretStoreUnavailable,
    class_list_from_text,
    delete_profile,
    get_api_key,
    load_profiles,
    merged_profile,
    read_class_list,
    save_profiles,
    set_api_key,
    set_current_profile,
)
from playment_submit.core.storage import is_sandbox_api
from playment_submit.gui.dialogs import open_file
from playment_submit.gui.style import set_status
from playment_submit.gui.workers import start_worker


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
        self.profile.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)  # typing a name never replaces an entry
        self.profile.setToolTip("Pick a saved profile, or type a new name and press \"Save and use\".")
        self.base_url = QLineEdit(backend.base_url)
        self.project_id = QLineEdit(backend.project_id)
        self.workflow_id = QLineEdit(backend.workflow_id)
        self.api_key = QLineEdit()
        self.api_key.setEchoMode(QLineEdit.EchoMode.Password)
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
        lay.addWidget(self._build_classes_group(backend.profile.classes))
        # the profile as saved may be unusable (its storage, URL or key): said here, the window still opens
        said = "\n".join(backend.start_notices())
        self.warning = QLabel(said)
        self.warning.setWordWrap(True)
        set_status(self.warning, "warning")
        self.warning.setVisible(bool(said))
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
        # Which certificates are trusted and which proxy the base URL goes through (core.network).
        self.network = QLabel("")
        self.network.setObjectName("networkLine")
        self.network.setWordWrap(True)
        set_status(self.network, "muted")
        form.addRow("Network", self.network)
        self.base_url.textChanged.connect(lambda text: self.network.setText(describe_network(text.strip())))
        self.network.setText(describe_network(self.base_url.text().strip()))
        self._fill_profiles(backend.profile.name)
        self._show_key_source(backend.profile.name)
        self.save.clicked.connect(self._on_save_clicked)
        self.test.clicked.connect(self._on_test_clicked)
        self.delete.clicked.connect(self._on_delete_clicked)
        self.profile.activated.connect(self._on_profile_changed)

    # ------------------------------------------------------------- profiles
    def _has_sandbox(self) -> bool:
        return getattr(self.backend, "sandbox", None) is not None

    def _fill_profiles(self, current: str) -> None:
        try:
            names = sorted(n for n in load_profiles()[0] if n != SANDBOX_PROFILE)
        except PlaymentError as e:  # a broken profiles.json: said, not raised
            names = []
            self.result.setText(str(e))
        if self._has_sandbox():  # the embedded sandbox stays one pick away while it runs
            names = [SANDBOX_PROFILE, *names]
        self.profile.blockSignals(True)
        self.profile.clear()
        self.profile.addItems(names if current in names else [current, *names])
        self.profile.setCurrentText(current)
        self.profile.blockSignals(False)

    def _show_key_source(self, name: str) -> None:
        """Where the key of the profile shown comes from, in the line under the key box and in the box's
        placeholder (the box itself never shows a stored key)."""
        if name == SANDBOX_PROFILE and self._has_sandbox():
            self.key_source.setText("The sandbox's own key is used; nothing goes to Playment.")
            self.api_key.setPlaceholderText("sandbox key in use")
            return
        _, source, _ = get_api_key(name)
        self.key_source.setText({"keyring": "A key for this profile is in the OS keyring.",
                                 "session": "The key typed for this profile is kept for this session only "
                                            "(no keyring to store it in).",
                                 "environment": "The key comes from PLAYMENT_API_KEY.",
                                 "none": "No key stored for this profile yet: paste it above and press "
                                         "\"Save and use\"."}[source])
        self.api_key.setPlaceholderText({"keyring": "stored in the OS keyring (type to replace it)",
                                         "session": "kept for this session (type to replace it)",
                                         "environment": "from PLAYMENT_API_KEY (type to store one)",
                                         "none": "paste the profile's API key"}[source])

    def _on_profile_changed(self, _index: int) -> None:
        """A saved profile was picked: show its settings (applied with "Save and use")."""
        name = self.profile.currentText().strip()
        try:
            profile = load_profiles()[0].get(name)
        except PlaymentError as e:
            self.result.setText(str(e))
            return
        if name == SANDBOX_PROFILE and self._has_sandbox():
            sb = self.backend.sandbox
            profile = Profile(name=name, base_url=sb.base_url, project_id=sb.project_id, workflow_id=sb.workflow_id,
                              storage={"kind": "sandbox"},
                              classes=list(self.backend.profile.classes) if self.backend.sandbox_mode else [])
        if profile is None:
            return
        self._show_fields(profile.base_url, profile.project_id, profile.workflow_id, profile.storage)
        self.set_classes(profile.classes)
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
        self.set_classes(b.profile.classes)
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
        for combo in (self.storage_kind, self.url_style):  # long choices do not widen the tab (1024 px screens)
            combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
            combo.setMinimumContentsLength(16)
            for i in range(combo.count()):
                combo.setItemData(i, combo.itemText(i), Qt.ItemDataRole.ToolTipRole)
        form.addRow("Storage", self.storage_kind)
        form.addRow("Bucket", self.bucket)
        form.addRow("Prefix", self.prefix)
        form.addRow("Endpoint", self.endpoint)
        form.addRow("URL style", self.url_style)
        self.storage_kind.currentIndexChanged.connect(self._on_storage_kind_changed)
        self._on_storage_kind_changed()
        return box

    def _build_classes_group(self, classes: list[str]) -> QGroupBox:
        """The project's class names, kept with the profile: a mask import refuses any other name."""
        box = QGroupBox("Project classes")
        col = QVBoxLayout(box)
        self.classes_box = QPlainTextEdit()
        self.classes_box.setObjectName("profileClasses")
        self.classes_box.setPlaceholderText("One class name per line, as in the Playment project (optional)")
        self.classes_box.setToolTip("The project's class names, one per line. Masks imported on the Mask tab "
                                    "and bulk rows with mask_source are refused when they name another class.")
        self.classes_box.setTabChangesFocus(True)
        lines = self.classes_box.fontMetrics().lineSpacing()
        self.classes_box.setMinimumHeight(3 * lines + 12)
        self.classes_box.setMaximumHeight(4 * lines + 12)  # the tab still fits a 700-pixel-high window
        col.addWidget(self.classes_box)
        row = QHBoxLayout()
        self.load_classes = QPushButton("Load from file…")
        self.load_classes.setToolTip("A text file with one class name per line")
        self.classes_count = QLabel("")
        self.classes_count.setWordWrap(True)
        set_status(self.classes_count, "muted")
        row.addWidget(self.load_classes)
        row.addWidget(self.classes_count, 1)
        col.addLayout(row)
        self.classes_box.textChanged.connect(self._on_classes_edited)
        self.load_classes.clicked.connect(self._on_load_classes_clicked)
        self.set_classes(classes)
        return box

    def set_classes(self, classes: list[str]) -> None:
        self.classes_box.setPlainText("\n".join(classes))

    def classes(self) -> list[str]:
        """The class names in the box, as core keeps them (trimmed, no blanks or repeats)."""
        return class_list_from_text(self.classes_box.toPlainText())

    def _on_classes_edited(self) -> None:
        n = len(self.classes())
        self.classes_count.setText(f"{n} class{'es' if n != 1 else ''}; saved with \"Save and use\"." if n
                                   else "No class list: imported masks keep their own class names.")

    def _on_load_classes_clicked(self) -> None:
        path = open_file(self, "classes", "Project class names", "Text files (*.txt);;All files (*)")
        if path:
            self.load_classes_file(path)

    def load_classes_file(self, path: str) -> bool:
        """Show the class names of a text file in the box (saved with "Save and use"); False and the
        reason shown when the file cannot be used."""
        try:
            names = read_class_list(path)
        except PlaymentError as e:
            self.result.setText(str(e))
            return False
        self.set_classes(names)
        self.result.setText(f"{len(names)} class names loaded; press \"Save and use\" to keep them with the "
                            f"profile.")
        return True

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
        if name == SANDBOX_PROFILE:
            self._use_sandbox()
            return
        key = self._key_for(name)  # read before the field is cleared below
        try:
            profiles, _ = load_profiles()
            unreadable = None
        except PlaymentError as e:  # a broken profiles.json: said, and the settings are used unsaved
            profiles, unreadable = {}, e
        storage, not_inherited = self.storage_settings(), ""
        if storage.get("kind") == "sandbox" and not is_sandbox_api(self.base_url.text().strip()):
            # copied from the sandbox profile: a sandbox's own storage never goes with another server's URL
            storage, not_inherited = {"kind": "none"}, (" Its storage is \"None\" (URLs only): the sandbox's own "
                                                        "storage only works with a local sandbox; choose S3 storage "
                                                        "to upload local files.")
            self.storage_kind.setCurrentIndex(max(0, self.storage_kind.findData("none")))
        try:  # core's rule: the form's fields over the saved profile, which keeps batches and default batch
            profile = merged_profile(profiles.get(name), name=name, base_url=self.base_url.text(),
                                     project_id=self.project_id.text(), workflow_id=self.workflow_id.text(),
                                     storage=storage, classes=self.classes())
        except ValidationError as e:  # nothing saved or applied; the form keeps what was typed
            self.result.setText(str(e))
            return
        if unreadable is not None:
            self.result.setText(str(unreadable))
        else:
            try:
                profiles[name] = profile
                save_profiles(profiles, current=name)
                typed = self._key()  # only a key typed now is stored; ``key`` stays the one in use
                if typed:
                    set_api_key(name, typed)
                self.result.setText(f"Saved profile \"{name}\".{not_inherited}")
            except SecretStoreUnavailable as e:
                self.warning.setText(str(e))
                self.warning.setVisible(True)
            except PlaymentError as e:
                self.result.setText(str(e))
        self.api_key.clear()
        self._fill_profiles(name)
        self.profile_applied.emit(profile)
        # "" (not None) when the profile has no key: the sandbox's key is never carried over to another server
        self.connection_applied.emit(profile.base_url, profile.project_id, profile.workflow_id, key or "")
        self.storage_applied.emit(profile.storage)
        self._show_key_source(name)

    def show_notices(self, notices: list[str]) -> None:
        """The session's notices as they are now (core's start_notices), replacing the ones shown."""
        said = "\n".join(notices)
        self.warning.setText(said)
        self.warning.setVisible(bool(said))

    def _use_sandbox(self) -> None:
        """"sandbox" picked and "Save and use": back to the embedded sandbox (never saved as a profile)."""
        if not self._has_sandbox():
            self.result.setText(f"\"{SANDBOX_PROFILE}\" is the name of the app's own sandbox, which is not running "
                                f"now (start the app with --sandbox); save this profile under another name.")
            return
        sb = self.backend.sandbox
        profile = Profile(name=SANDBOX_PROFILE, base_url=sb.base_url, project_id=sb.project_id,
                          workflow_id=sb.workflow_id, default_batch_id=sb.default_batch_id or "",
                          storage=self.storage_settings(),  # "URLs only" may be tried on the sandbox too
                          classes=self.classes())
        try:
            set_current_profile(SANDBOX_PROFILE)
            self.result.setText("Using the sandbox: nothing goes to Playment.")
        except PlaymentError as e:  # a broken profiles.json: the sandbox is still used, only not remembered
            self.result.setText(str(e))
        self.api_key.clear()
        self._show_fields(sb.base_url, sb.project_id, sb.workflow_id, profile.storage)
        self.profile_applied.emit(profile)
        self.connection_applied.emit(sb.base_url, sb.project_id, sb.workflow_id, sb.api_key)
        self.storage_applied.emit(profile.storage)
        self._fill_profiles(SANDBOX_PROFILE)
        self._show_key_source(SANDBOX_PROFILE)

    def _key_for(self, name: str) -> str | None:
        """The key to use for profile ``name``: the one typed, else the one stored for it (keyring or
        environment), else the one in use when ``name`` is the real profile in use; never another's."""
        typed = self._key()
        if typed:
            return typed
        if name == SANDBOX_PROFILE and self._has_sandbox():
            return str(self.backend.sandbox.api_key)
        stored, _, _ = get_api_key(name)
        if stored:
            return stored
        if name == self.backend.profile.name and not self.backend.sandbox_mode:
            return self.backend.api_key
        return None

    def _key_or_current(self) -> str | None:
        return self._key_for(self.profile.currentText().strip() or "default")

    def _on_test_clicked(self) -> None:
        key = self._key_or_current()
        if not key:
            self.result.setText("No API key: enter one above (or set PLAYMENT_API_KEY).")
            return
        self.result.setText("Testing…")
        self.test.setEnabled(False)
        # The Session's client settings and retry policy (made quick for a test): no numbers of the panel's own.
        self._worker = start_worker(self.backend.test_connection, self.base_url.text().strip(),
                                    self.project_id.text().strip(), key, owner=self)
        self._worker.returned.connect(lambda report: self.result.setText(
            ("✔ " if report.ok else "✖ ") + report.message))
        self._worker.errored.connect(lambda e: self.result.setText(f"✖ {e}"))
        self._worker.finished.connect(lambda: self.test.setEnabled(True))
