"""The endpoint's body is a raw e-mail; it is spooled to disk rather than held in memory."""

from __future__ import annotations

import tempfile

from rest_framework.parsers import BaseParser

CHUNK = 1024 * 1024


class RawMessageParser(BaseParser):
    media_type = "message/rfc822"

    def parse(self, stream, media_type=None, parser_context=None):
        spool = tempfile.SpooledTemporaryFile(max_size=4 * CHUNK)  # noqa: SIM115 - the view closes it
        if stream is not None:
            while chunk := stream.read(CHUNK):
                spool.write(chunk)
        spool.seek(0)
        return spool


class OctetStreamParser(RawMessageParser):
    media_type = "application/octet-stream"
