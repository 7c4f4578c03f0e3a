"""The main window's signal wiring: which panel's signal reaches which handler. Kept apart from
:mod:`gui.main_window` so that the window's class stays about what it does, not what is plugged where."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from playment_submit.gui.main_window import MainWindow


def connect_panels(w: MainWindow) -> None:
    """Connect ``w``'s panels to each other and to the window's handlers (called once, from __init__)."""
    w.addresses.busy_changed.connect(lambda b: w.set_busy("file addresses", b))
    w.primary.primary_changed.connect(w.on_primary_changed)
    w.primary.image_loaded.connect(w.on_image_loaded)
    w.references.references_changed.connect(w.on_form_edited)
    w.mask_panel.mask_changed.connect(w.on_mask_changed)
    w.mask_panel.preview_requested.connect(w.remote.fetch_mask)
    w.mask_panel.busy_changed.connect(lambda b: w.set_busy("mask", b))
    w.mask_panel.opacity_changed.connect(w.view.set_opacity)
    w.mask_panel.class_visibility_changed.connect(w.view.set_class_visible)
    w.mask_panel.class_highlighted.connect(w.view.set_highlight)
    w.view.hovered.connect(w.hover.setText)
    w.shapes.attach_view(w.view)

    def on_shapes(fragment) -> None:  # the Shapes tab's edit: the draft's shapes (not while filling the form)
        if not w.filling:
            w.draft.set_shapes(fragment)
        w.schedule_refresh()

    w.shapes.shapes_changed.connect(on_shapes)
    w.job.reference_id_edited.connect(lambda _t: w.on_form_edited())
    w.job.batch_chosen.connect(lambda _b: w.on_form_edited())
    w.job.batch_create_requested.connect(w.remote.create_batch)
    w.job.batch_refresh_requested.connect(w.load_batches)
    w.job.profile_workflow_requested.connect(w.on_profile_workflow_requested)
    w.job.submit_requested.connect(w.submit)
    w.job.cancel_requested.connect(w.on_cancel_requested)
    w.connection.profile_applied.connect(w.on_profile_applied)
    w.connection.connection_applied.connect(w.on_connection_applied)
    w.connection.storage_applied.connect(w.on_storage_applied)
    w.history.reopen_requested.connect(lambda payload: w.files.open_job_data(payload, "History"))
    w.history.status_refresh_requested.connect(w.remote.refresh_statuses)
    w.history.status_cancel_requested.connect(w.remote.cancel_statuses)
    w.results.download_requested.connect(w.remote.download_results)
    w.results.cancel_requested.connect(w.remote.cancel_results)
    if hasattr(w.bulk, "openRowRequested"):  # the Bulk tab's "open this row in the Job tab"
        w.bulk.openRowRequested.connect(lambda data: w.files.open_job_data(data, "the Bulk tab"))
