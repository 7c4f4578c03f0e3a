"""File > Open recent: primary images opened before, newest first, kept in QSettings across windows."""

from __future__ import annotations

from PIL import Image


def test_recent_primary_images_survive_a_restart(make_window, tmp_path):
    paths = []
    for n in ("a", "b"):
        paths.append(tmp_path / f"{n}.png")
        Image.new("RGB", (8, 6)).save(paths[-1])
    win = make_window(show=False)
    for p in (paths[0], paths[1], paths[0]):
        win.primary.set_value(str(p))
    make_window.close(win)

    win = make_window(show=False)  # a new window: read back from QSettings
    win.recent_menu.aboutToShow.emit()
    actions = win.recent_menu.actions()
    assert [a.text() for a in actions] == ["a.png", "b.png"]  # newest first, no duplicates
    paths[1].unlink()
    win.recent_menu.aboutToShow.emit()
    assert [a.text() for a in win.recent_menu.actions()] == ["a.png"]  # gone from disk: not offered
    win.recent_menu.actions()[0].trigger()
    assert win.primary.value() == str(paths[0].resolve())
