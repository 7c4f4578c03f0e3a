"""The Shapes panel (issue 25, window): a shapes file imported through core, drawn over the image in the label's
colour with a light fill, hidden and highlighted from the list, renamed and removed through core, hover names the
shape. Real QApplication (pytest-qt), real files."""

from __future__ import annotations

import json

from PySide6.QtCore import QPointF, Qt
from PySide6.QtGui import QColor, QImage, QPainter, QPixmap
from PySide6.QtWidgets import QGraphicsScene, QGraphicsView

from playment_submit.core.legend import name_colours
from playment_submit.gui.widgets.shapes_panel import ShapesPanel

W, H = 400, 300


def box(x0, y0, x1, y1, label, sid):
    return {"_id": sid, "label": label, "attributes": {}, "state": "editable",
            "coordinates": [{"x": x0, "y": y0}, {"x": x1, "y": y0}, {"x": x1, "y": y1}, {"x": x0, "y": y1}]}


FRAGMENT = {"rectangles": {"data": [box(0.1, 0.1, 0.5, 0.5, "car", "a"), box(0.6, 0.6, 0.9, 0.9, "person", "b")]}}


def _setup(qtbot, tmp_path):
    view = QGraphicsView()
    scene = QGraphicsScene(view)   # owned by the view, as the window's views own theirs
    view.setScene(scene)
    image = QImage(W, H, QImage.Format.Format_RGB32)
    image.fill(QColor("#000000"))
    scene.addPixmap(QPixmap.fromImage(image))
    view.setSceneRect(0, 0, W, H)
    view.resize(W + 40, H + 40)
    panel = ShapesPanel()
    qtbot.addWidget(view)
    qtbot.addWidget(panel)
    panel.attach_view(view)
    panel.set_image(None, (W, H))
    view.show()
    panel.show()
    shapes = tmp_path / "shapes.json"
    shapes.write_text(json.dumps(FRAGMENT))
    return view, panel, shapes


def _scene_pixel(view, x, y) -> QColor:
    img = QImage(W, H, QImage.Format.Format_RGB32)
    img.fill(QColor("#000000"))
    p = QPainter(img)
    view.scene().render(p, img.rect(), view.sceneRect())
    p.end()
    return img.pixelColor(x, y)


def _import(qtbot, panel, path):
    with qtbot.waitSignal(panel.shapes_changed, timeout=10000) as changed:
        panel.import_file(str(path))
    qtbot.waitUntil(lambda: panel.item is not None, timeout=10000)
    return changed.args[0]


def test_imported_shapes_are_drawn_listed_and_named_on_hover(qtbot, tmp_path):
    view, panel, shapes = _setup(qtbot, tmp_path)
    fragment = _import(qtbot, panel, shapes)
    assert fragment == FRAGMENT
    assert [panel.list.item(r, 1).text() for r in range(panel.list.rowCount())] == ["car", "person"]
    assert panel.list.item(0, 2).text() == "1 box"
    assert "2 shapes in 2 labels" in panel.status.text()
    colours = name_colours(["car", "person"])
    edge = _scene_pixel(view, 40, 100)      # car's left edge (x = 0.1 * 400)
    car = QColor(colours["car"])
    assert abs(edge.red() - car.red()) + abs(edge.green() - car.green()) + abs(edge.blue() - car.blue()) < 90
    inside = _scene_pixel(view, 120, 90)    # a light fill: tinted, far from the outline's full colour
    assert inside != QColor("#000000") and inside.red() <= car.red() // 2 + 10
    assert panel.item.describe(QPointF(120, 90)) == 'rectangle 1 ("car")'
    assert panel.item.describe(QPointF(10, 10)) == ""


def test_hiding_highlighting_renaming_and_removing_go_through_the_list(qtbot, tmp_path):
    view, panel, shapes = _setup(qtbot, tmp_path)
    _import(qtbot, panel, shapes)
    panel.list.item(0, 0).setCheckState(Qt.CheckState.Unchecked)          # hide car
    assert panel.item.hidden == {"car"}
    assert _scene_pixel(view, 40, 100) == QColor("#000000")
    assert panel.item.describe(QPointF(120, 90)) == ""                     # hidden shapes are not hovered
    panel.list.selectRow(1)
    assert panel.item.highlight == "person"
    with qtbot.waitSignal(panel.shapes_changed, timeout=5000) as renamed:
        panel.list.item(1, 1).setText("pedestrian")
    assert [s["label"] for s in renamed.args[0]["rectangles"]["data"]] == ["car", "pedestrian"]
    qtbot.waitUntil(lambda: panel.list.rowCount() == 2 and panel.list.item(1, 1).text() == "pedestrian",
                    timeout=5000)
    assert panel.item.hidden == {"car"}                                    # what was hidden stays hidden
    with qtbot.waitSignal(panel.shapes_changed, timeout=5000) as removed:
        panel.list.label_removed.emit("car")
    assert [s["_id"] for s in removed.args[0]["rectangles"]["data"]] == ["b"]
    with qtbot.waitSignal(panel.shapes_changed, timeout=5000) as cleared:
        panel.clear_button.click()
    assert cleared.args[0] is None
    qtbot.waitUntil(lambda: panel.item is None and panel.list.rowCount() == 0, timeout=5000)


def test_a_bad_file_is_said_in_a_sentence(qtbot, tmp_path):
    _, panel, _ = _setup(qtbot, tmp_path)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"rectangles": {"data": [box(0.5, 0.1, 0.2, 0.4, "car", "a")]}}))
    panel.import_file(str(bad))
    qtbot.waitUntil(lambda: "has no area" in panel.status.text(), timeout=10000)
    assert panel.fragment is None and panel.item is None
