"""cdn kv: a DynamoDB-compatible table origin on SQLite, with a cacheable read facade.

- ``kv.values``: attribute values (validation, numbers, sizes, ordering, sortable key bytes);
- ``kv.expressions`` (+ ``expressions.lark``, ``reserved_words.txt``): the expression grammar
  and its trees; ``kv.legacy``: the legacy parameters as the same trees;
- ``kv.evaluate``: conditions, updates and projections applied to items;
- ``kv.schema``: key schemas of tables and indexes; ``kv.store``: the SQLite file;
- ``kv.operations``: the DynamoDB operations (tables, items, reads, batches, transactions);
- ``kv.database``: which thread runs what (writer on the loop, reader and checkpointer threads);
- ``kv.facade``: the CDN read facade and the purges of a change; ``kv.purging``: purges
  delivered before a write answers; ``kv.app``, ``kv.server``: the aiohttp shell.

Rules: a server-layer shell: imports ``cdn`` and ``serving``, never ``edge``, ``cluster``
or ``cli``.
"""
