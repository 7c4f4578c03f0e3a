"""Mask formats for the command line's parser: a plain-data copy of core.mask.formats.registry.

GENERATED: do not edit. `python -m playment_submit.core.mask.formats.registry` rewrites it from the
registry (the one table); tests/core/test_mask_format_table.py fails while the two differ. Plain
data, so that building the parser (every command, --help included) loads neither numpy nor Pillow.
"""

from __future__ import annotations

from typing import Any

TABLE: dict[str, Any] = {
    'formats': [
        {
            'name': 'coco',
            'summary': 'COCO instances JSON (polygons, RLE, iscrowd), one of its images at a time',
            'description': [
                'a COCO instances JSON: polygons, uncompressed and compressed RLE, iscrowd. --image picks the',
                'image (file_name or id); the output has its width and height. Categories become classes',
                '(--instances: one entry per annotation, "<category> #<k>"). Where annotations overlap, the',
                'LATER ONE IN THE FILE WINS.',
            ],
            'options': ['image', 'instances'],
        },
        {
            'name': 'voc',
            'summary': 'Pascal VOC class PNG: palette, 8-bit grey or RGB (0 and 255 unlabelled)',
            'description': [
                "a Pascal VOC class mask: a palette or 8-bit grey PNG (indices 1..20 are VOC's classes unless",
                '--classes names them), or an RGB PNG coloured by the labelmap.txt beside it (--labelmap) or',
                "else by VOC's 21-class colour map. 0 (background) and 255 (void) are unlabelled; any other",
                'colour, and a 16-bit grey PNG, is refused.',
            ],
            'options': ['classes', 'classes_start', 'labelmap', 'ignore'],
        },
        {
            'name': 'cityscapes',
            'summary': 'Cityscapes *_labelIds / *_labelTrainIds / *_instanceIds PNG',
            'description': [
                "*_labelIds.png, *_labelTrainIds.png / *_trainIds.png or *_instanceIds.png, by the name's",
                'suffix or --ids; named by the official Cityscapes label table (trainIds: 0 = road, 255 =',
                'ignore). A *_color.png is refused (several classes share a colour there).',
            ],
            'options': ['ids', 'instances', 'ignore'],
        },
        {
            'name': 'cvat',
            'summary': 'CVAT segmentation mask (RGB PNG) with its labelmap.txt',
            'description': [
                'a CVAT segmentation mask (RGB PNG) and its labelmap.txt (name:r,g,b::), found next to the',
                "mask or in the two folders above it, or --labelmap; CVAT's colours are kept; black is",
                'unlabelled.',
            ],
            'options': ['labelmap'],
        },
        {
            'name': 'binary',
            'summary': 'a folder of per-class 0/255 masks named after their class',
            'description': [
                'a folder of per-class masks named after their class (car.png: 0 outside, 255 inside);',
                'where they overlap the later file in sorted name order wins, or the later line of --order.',
            ],
            'options': ['order'],
        },
        {
            'name': 'index',
            'summary': 'a class-index PNG/TIFF/.npy with its class names',
            'description': [
                'a class-index PNG/TIFF (8 or 16 bit) or .npy with --classes; --unlabelled VALUE (default 0)',
                'and --ignore VALUE ... become unlabelled. (`mask encode` is the older form of this path.)',
            ],
            'options': ['classes', 'classes_start', 'unlabelled', 'ignore'],
        },
    ],
    'options': [
        {
            'key': 'image',
            'flag': '--image',
            'help': 'the image whose annotations become the mask',
            'metavar': 'FILE_NAME|ID',
            'choices': [],
            'formats': ['coco'],
        },
        {
            'key': 'instances',
            'flag': '--instances',
            'help': 'one legend entry per instance ("car #1", "car #2"; cityscapes: instanceIds)',
            'metavar': None,
            'choices': [],
            'formats': ['coco', 'cityscapes'],
        },
        {
            'key': 'classes',
            'flag': '--classes',
            'help': (
                'class names by value, one per line (line 1 names value 1; value 0 when line 1 '
                'names background, line 1 is __ignore__ or --unlabelled is not 0), or "n: name" '
                'lines, or JSON'
            ),
            'metavar': 'FILE',
            'choices': [],
            'formats': ['voc', 'index'],
        },
        {
            'key': 'ids',
            'flag': '--ids',
            'help': "which ids the PNG holds (default: from the file name's suffix)",
            'metavar': None,
            'choices': ['label', 'train', 'instance'],
            'formats': ['cityscapes'],
        },
        {
            'key': 'labelmap',
            'flag': '--labelmap',
            'help': 'the labelmap.txt naming the colours (default: found beside the mask or above it)',
            'metavar': 'FILE',
            'choices': [],
            'formats': ['voc', 'cvat'],
        },
        {
            'key': 'order',
            'flag': '--order',
            'help': 'class names one per line; later lines win overlaps',
            'metavar': 'FILE',
            'choices': [],
            'formats': ['binary'],
        },
        {
            'key': 'unlabelled',
            'flag': '--unlabelled',
            'help': 'the value meaning unlabelled (default: %(default)d)',
            'metavar': None,
            'choices': [],
            'formats': ['index'],
        },
        {
            'key': 'ignore',
            'flag': '--ignore',
            'help': 'values that become unlabelled (negative ones too: -1 in a .npy)',
            'metavar': 'VALUE',
            'choices': [],
            'formats': ['voc', 'cityscapes', 'index'],
        },
        {
            'key': 'classes_start',
            'flag': '--classes-start',
            'help': (
                'force a plain class list to start at index 0 or 1 (default: 0 when line 1 names '
                'background or is __ignore__, else 1)'
            ),
            'metavar': '0|1',
            'choices': [],
            'formats': ['voc', 'index'],
        },
    ],
}

FORMATS: tuple[str, ...] = tuple(f["name"] for f in TABLE["formats"])
