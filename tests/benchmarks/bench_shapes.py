"""Do 5,000 boxes draw and hover without freezing the window? (issue 25: "5,000 boxes draw and hover with the
event loop never more than 50 ms late".)

A 10 ms QTimer heartbeat on the GUI thread, its longest gap measured while:

  (a) idle (the baseline, in the same run),
  (b) importing a shapes file of N boxes in 20 labels through the Shapes panel (core reads and checks it, the
      layer and its paths are built in a worker) until the item is in the scene and the view repainted,
  (c) repainting the view 60 times (one frame each, as when panning), zoomed to fit and at 4x,
  (d) hovering: 300 pointer moves across the image, each asking core's spatial index what is under it.

Target: no gap over 50 ms in (b)-(d). Run: ``QT_QPA_PLATFORM=offscreen .venv/bin/python
tests/benchmarks/bench_shapes.py [--boxes 5000]``. Exit status 1 when the target is missed.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from PySide6.QtCore import QEvent, QPoint, QPointF, Qt, QTimer
from PySide6.QtGui import QColor, QImage, QMouseEvent, QPixmap
from PySide6.QtWidgets import QApplication, QGraphicsScene, QGraphicsView

W, H = 4096, 3072


class Heartbeat:
    def __init__(self):
        self.timer = QTimer()
        self.timer.setInterval(10)
        self.timer.timeout.connect(self._beat)
        self.gaps: list[float] = []
        self._last: float | None = None

    def _beat(self):
        now = time.perf_counter()
        if self._last is not None:
            self.gaps.append(now - self._last)
        self._last = now

    def start(self):
        self.gaps, self._last = [], None
        self.timer.start()

    def stop(self) -> float:
        self.timer.stop()
        return max(self.gaps, default=0.0) * 1000


def pump(app, seconds: float) -> None:
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        app.processEvents()
        time.sleep(0.001)


def run_until(app, done, timeout=120.0) -> float:
    t0 = time.perf_counter()
    while not done():
        app.processEvents()
        time.sleep(0.001)
        if time.perf_counter() - t0 > timeout:
            raise TimeoutError
    return time.perf_counter() - t0


def shapes_file(folder: Path, n: int) -> Path:
    side = int(n ** 0.5) + 1
    data = []
    for i in range(n):
        x, y = (i % side) / side, (i // side) / side
        w = h = 0.8 / side
        data.append({"_id": f"b{i}", "label": f"class {i % 20}", "attributes": {}, "state": "editable",
                     "coordinates": [{"x": x, "y": y}, {"x": x + w, "y": y}, {"x": x + w, "y": y + h},
                                     {"x": x, "y": y + h}]})
    path = folder / "boxes.json"
    path.write_text(json.dumps({"rectangles": {"data": data}}))
    return path


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--boxes", type=int, default=5000)
    args = ap.parse_args(argv)
    from playment_submit.gui.widgets.shapes_panel import ShapesPanel

    app = QApplication.instance() or QApplication(sys.argv)
    view = QGraphicsView()
    scene = QGraphicsScene(view)
    view.setScene(scene)
    image = QImage(W, H, QImage.Format.Format_RGB32)
    image.fill(QColor("#303030"))
    scene.addPixmap(QPixmap.fromImage(image))
    view.resize(1000, 750)
    view.show()
    view.fitInView(0, 0, W, H, Qt.AspectRatioMode.KeepAspectRatio)
    panel = ShapesPanel()
    panel.attach_view(view)
    panel.set_image(None, (W, H))
    panel.show()
    beat = Heartbeat()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        path = shapes_file(Path(tmp), args.boxes)
        beat.start()
        pump(app, 1.0)
        rows.append(("idle (baseline)", beat.stop(), 1.0))

        beat.start()
        panel.import_file(str(path))
        took = run_until(app, lambda: panel.item is not None)
        view.viewport().repaint()
        rows.append((f"import + draw {args.boxes:,} boxes", beat.stop(), took))

        beat.start()
        t0 = time.perf_counter()
        for zoom in (1.0, 4.0):
            view.resetTransform()
            view.fitInView(0, 0, W, H, Qt.AspectRatioMode.KeepAspectRatio)
            view.scale(zoom, zoom)
            for _ in range(30):
                view.viewport().repaint()
                app.processEvents()
        rows.append(("60 repaints (fit and 4x)", beat.stop(), time.perf_counter() - t0))

        view.resetTransform()
        view.fitInView(0, 0, W, H, Qt.AspectRatioMode.KeepAspectRatio)
        beat.start()
        t0 = time.perf_counter()
        named = 0
        for i in range(300):
            pos = QPointF(20 + (i * 37) % 950, 20 + (i * 53) % 700)
            event = QMouseEvent(QEvent.Type.MouseMove, pos, view.viewport().mapToGlobal(pos.toPoint()).toPointF(),
                                Qt.MouseButton.NoButton, Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier)
            QApplication.sendEvent(view.viewport(), event)
            named += bool(panel.item.describe(view.mapToScene(QPoint(int(pos.x()), int(pos.y()))))) if panel.item else 0
            app.processEvents()
        rows.append((f"300 hovers ({named} over a shape)", beat.stop(), time.perf_counter() - t0))
    base = rows[0][1]
    print(f"\n{args.boxes:,} boxes in 20 labels over a {W}x{H} image; 10 ms heartbeat on the GUI thread\n")
    print(f"{'phase':38} {'longest gap ms':>15} {'x idle':>8} {'seconds':>8}")
    for name, gap, secs in rows:
        print(f"{name:38} {gap:15.1f} {gap / base:8.2f} {secs:8.2f}")
    worst = max(gap for _, gap, _ in rows[1:])
    print(f"\ntarget: no gap over 50 ms: {'met' if worst <= 50 else 'MISSED'} (worst {worst:.1f} ms)")
    return 0 if worst <= 50 else 1


if __name__ == "__main__":
    sys.exit(main())
