"""An S3-compatible storage origin on local disk (`cdn storage`).

- ``storage.names``: S3 bucket-name rules, key rules, keys to safe file names;
- ``storage.objectfile``: one object = one file (body, then its metadata, then a footer);
- ``storage.store``: buckets, objects, listings and multipart uploads on disk, crash-safe;
- ``storage.payload``: request bodies in (aws-chunked decoding, checksums, digests);
- ``storage.auth``: SigV4 header and presigned-query verification (serving.sigv4) in S3's words;
- ``storage.xmlpages``: S3's XML answers and errors;
- ``storage.app`` / ``storage.handlers``: the aiohttp app; ``storage.server``: on a socket.

Rules: a server-layer shell; imports ``cdn`` and ``serving`` only (never ``edge``,
``cluster`` or ``cli``). Purges reach the CDN through ``serving.purge_notify``.
"""
