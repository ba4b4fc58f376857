"""Typed errors of the library. The CLI turns every LiccError into a one-line message and
exit status 1; anything else is a bug."""


class LiccError(Exception):
    """Base class of every error licc reports to a user."""


class FormatError(LiccError):
    """The bytes are not a licc file, or its header is malformed or unsupported."""


class TruncatedError(FormatError):
    """The file ends before the length its header declares."""


class ChecksumError(FormatError):
    """A section's CRC-32 does not match: the file was corrupted."""


class CorruptStreamError(FormatError):
    """A coded section passed its checksum but does not decode consistently."""


class ModelMismatchError(LiccError):
    """The file was made by weights that are not available here."""


class ImageError(LiccError):
    """The input image cannot be read or is not supported."""


class OutputError(LiccError):
    """The output path cannot be written (exists, is the input, directory missing...)."""
