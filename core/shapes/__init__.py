"""Vector pre-labels (issue 25): import from YOLO, COCO, LabelMe, VOC, CVAT and Label Studio into a
``maker_response`` fragment (:mod:`.readers`), and the one shape check (:mod:`.model`, which every job's
validation runs, so this package imports only it: the readers load with the ``shapes`` command)."""

from .model import KINDS, Outcome, Shape, check_shapes, fragment

__all__ = ["KINDS", "Outcome", "Shape", "check_shapes", "fragment"]
