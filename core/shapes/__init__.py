"""Vector pre-labels (issue 25): import from YOLO, COCO, LabelMe, VOC, CVAT and Label Studio into a
``maker_response`` fragment, and the one shape check."""

from .model import KINDS, Outcome, Shape, check_shapes, fragment
from .readers import FORMATS, MAX_BYTES, read_source

__all__ = ["FORMATS", "KINDS", "MAX_BYTES", "Outcome", "Shape", "check_shapes", "fragment", "read_source"]
