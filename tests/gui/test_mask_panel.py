"""The colour-code dialog shows the legend core's encode will produce, as the user types."""

from __future__ import annotations

from PySide6.QtCore import QThreadPool

from core.mask import encode
from gui.widgets.mask_panel import ClassNamesDialog
from resources import sample_classes, sample_job_files


def test_class_names_dialog_shows_the_generated_legend(qtbot):
    dialog = ClassNamesDialog([])
    qtbot.addWidget(dialog)
    dialog.show()
    dialog.editor.setPlainText("\n".join(sample_classes()))
    _, legend = encode(str(sample_job_files()["index_mask"]), sample_classes())
    expected = [f"{k}  {v}" for k, v in legend.items()]
    qtbot.waitUntil(lambda: [dialog.legend_list.item(i).text() for i in range(dialog.legend_list.count())]
                    == expected, timeout=10000)
    assert dialog.error.text() == ""
    dialog.editor.appendPlainText("lid")  # a sixth class: added at the end, the others keep their colours
    qtbot.waitUntil(lambda: dialog.legend_list.count() == 6, timeout=10000)
    assert [dialog.legend_list.item(i).text() for i in range(5)] == expected
    assert dialog.legend_list.item(5).text().endswith("  lid")
    assert dialog.names() == [*sample_classes(), "lid"]
    QThreadPool.globalInstance().waitForDone(5000)
