"""cdn kv: a DynamoDB-compatible table origin on SQLite, with a cacheable read facade.

- ``kv.values``: attribute values (validation, numbers, sizes, ordering, sortable key bytes);
- ``kv.expressions`` (+ ``expressions.lark``): the expression grammar and its trees;
- ``kv.evaluate``: conditions, updates and projections applied to items;
- ``kv.schema``: a table's key schema; ``kv.store``: the SQLite file;
- ``kv.operations``: the DynamoDB operations (tables, items, reads, batches, transactions); ``kv.database``: the store on its own thread;
- ``kv.legacy``: legacy parameters as expression trees; ``kv.facade``: the CDN read facade and
  its purges; ``kv.purging``: purges delivered before a write answers; ``kv.app``/``kv.server``: the aiohttp shell.

Rules: a server-layer shell: imports ``cdn`` and ``serving``, never ``edge``, ``cluster``
or ``cli``.
"""
