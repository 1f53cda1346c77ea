//! Pure parsers of remote metadata formats: bytes in, types out, no I/O.
