"""The edge-function runtime: Lambda-style functions in worker processes, CloudFront Functions in-process.

- ``fn.pool.LambdaPool``: warm pool, cold starts, keep-warm, throttling, timeouts, memory;
- ``fn.cloudfront.CloudFrontFunction``: in-process runs under a CPU-time budget;
- ``fn.chain.FunctionChain``: what the edge calls at each trigger (``run(trigger, given)``);
- ``fn.host.FunctionHost``: a topology's functions in one process;
- ``fn.api``: the Lambda invoke API (`cdn fn serve`); ``fn.metrics``: Prometheus metrics.

Rules: a shell over ``cdn.functions`` (the pure rules); imports ``cdn`` and ``serving`` only,
never ``edge``, ``sim`` or ``cli``. Handler code never runs in the host's event loop except
CloudFront Functions, which are bounded (see fn/cloudfront.py).
"""
