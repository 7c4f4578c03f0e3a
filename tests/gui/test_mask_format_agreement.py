"""The window's import dialog, the command line and core's registry of mask formats agree: one table."""

from __future__ import annotations

import pytest

pytest.importorskip("pytestqt", reason="pytest-qt drives the widget tests")

from playment_submit.core.cli.mask_formats import TABLE
from playment_submit.core.mask.formats import registry
from playment_submit.gui.widgets import mask_import_dialog
from playment_submit.gui.widgets.mask_import_dialog import MaskImportDialog


def test_dialog_cli_and_registry_list_the_same_formats_and_options(qtbot, tmp_path):
    source = tmp_path / "unknown.bin"
    source.write_bytes(b"x")
    dialog = MaskImportDialog(str(source))
    qtbot.addWidget(dialog)
    listed = [dialog.format.itemData(i) for i in range(dialog.format.count()) if dialog.format.itemData(i)]
    assert tuple(listed) == registry.FORMATS == tuple(f["name"] for f in TABLE["formats"])
    for i in range(dialog.format.count()):
        fmt = dialog.format.itemData(i)
        if fmt:
            assert dialog.format.itemText(i) == f"{fmt}: {registry.BY_NAME[fmt].summary}"
    # the dialog shows exactly the registry's dialog options of each format, and has a field for each of them
    assert {f: registry.dialog_fields(f) for f in registry.FORMATS} == mask_import_dialog.FIELDS
    dialog_options = {o.key for o in registry.OPTIONS if o.dialog}
    assert dialog_options <= set(dialog._rows)
    for f in TABLE["formats"]:  # the command line's copy names the same options per format
        assert tuple(o for o in f["options"] if o in dialog_options) == mask_import_dialog.FIELDS[f["name"]]
    coco = dialog.format.findData("cityscapes")
    dialog.format.setCurrentIndex(coco)
    shown = {key for key, (_label, widget) in dialog._rows.items() if not widget.isHidden()}
    assert shown == {*registry.dialog_fields("cityscapes"), "map"}
    ids = [dialog.ids.itemData(i) for i in range(1, dialog.ids.count())]  # after "from the file name"
    assert tuple(ids) == tuple(v for v, _label in registry.OPTION_BY_KEY["ids"].choices)


def test_the_dialogs_format_box_speaks_the_windows_words_not_command_line_flags(qtbot, tmp_path):
    # issue 23 item 11: the format box named the command-line flag --image
    source = tmp_path / "unknown.bin"
    source.write_bytes(b"x")
    dialog = MaskImportDialog(str(source))
    qtbot.addWidget(dialog)
    texts = [dialog.format.itemText(i) for i in range(dialog.format.count())]
    assert any(t.startswith("coco: ") and "image" in t for t in texts)
    assert not [t for t in texts if "--" in t]
