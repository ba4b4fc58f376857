"""Constants of the .licc container (described in docs/format.md)."""

from ..limits import MAX_PIXELS, MAX_SIDE  # noqa: F401  (re-exported for the container)

MAGIC = b"LICC"
FORMAT_VERSION = 2  # 2: CRCs of the z and anchor symbols in the header (docs/format.md)
SUPPORTED_VERSIONS = (1, 2)

# Sections, in the order they are written.
TAG_HYPER = b"ZHYP"  # rANS stream of the hyper-latent z
TAG_ANCHOR = b"YANC"  # rANS stream of the anchor half of the latent
TAG_NONANCHOR = b"YNON"  # rANS stream of the non-anchor half
TAG_ALPHA = b"ALPH"  # zlib-compressed 8-bit alpha plane (lossless), optional
TAG_ICC = b"ICCP"  # ICC colour profile, verbatim, optional
TAG_EXIF = b"EXIF"  # EXIF block as Pillow writes it (orientation already applied), optional
KNOWN_TAGS = (TAG_HYPER, TAG_ANCHOR, TAG_NONANCHOR, TAG_ALPHA, TAG_ICC, TAG_EXIF)
REQUIRED_TAGS = (TAG_HYPER, TAG_ANCHOR, TAG_NONANCHOR)

# Colour modes of the source image; the codec always codes RGB, the decoder converts back.
MODES = {0: "RGB", 1: "L", 2: "RGBA", 3: "LA"}
MODE_CODES = {v: k for k, v in MODES.items()}

# Limits a forged header cannot exceed (the decoder refuses before allocating anything):
# MAX_SIDE and MAX_PIXELS, stated once in lic_codec/limits.py.
MAX_LATENT_CHANNELS = 4096
MAX_SECTIONS = 16
MAX_MODEL_NAME = 32
MODEL_ID_BYTES = 16
