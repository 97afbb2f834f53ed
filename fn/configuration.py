"""What the Lambda API says about a function (``FunctionConfiguration``), from its spec and code.

Rules: the fields boto3's ``get_function_configuration``, ``get_function`` and
``list_functions`` read, as Lambda fills them for a zip-packaged Python function at
``$LATEST``: the handler as ``module.function``, ``CodeSize`` and ``CodeSha256`` (base64 of the
SHA-256) of the code file, ``LastModified`` from its modification time, the timeout in whole
seconds (rounded up: Lambda's unit), the memory, and ``State: Active``. The account, region and
role are fixed placeholders (no IAM here). A CloudFront Function served by the same API says so
in its ``Description``.
"""

from __future__ import annotations

import base64
import hashlib
import math
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cdn.functions.spec import FunctionSpec
from cdn.functions.triggers import FunctionKind

__all__ = ["ACCOUNT", "REGION", "function_arn", "function_configuration"]

ACCOUNT = "000000000000"
REGION = "us-east-1"
_RUNTIME = "python3.11"


def function_arn(name: str) -> str:
    """The ARN of the function called ``name`` (unqualified)."""
    return f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:{name}"


def function_configuration(spec: FunctionSpec) -> dict[str, Any]:
    """Lambda's ``FunctionConfiguration`` of ``spec`` (reads the code file once)."""
    path = Path(spec.code)
    try:
        code = path.read_bytes()
        modified = datetime.fromtimestamp(path.stat().st_mtime, UTC)
    except OSError:  # gone since it was loaded: what is running is still described
        code, modified = b"", datetime.fromtimestamp(0, UTC)
    kind = (
        "CloudFront Function"
        if spec.kind is FunctionKind.CLOUDFRONT_FUNCTION
        else "Lambda@Edge-style function"
    )
    return {
        "FunctionName": spec.name,
        "FunctionArn": function_arn(spec.name),
        "Runtime": _RUNTIME,
        "Role": f"arn:aws:iam::{ACCOUNT}:role/cdnlab-function",
        "Handler": f"{path.stem}.{spec.handler}",
        "CodeSize": len(code),
        "Description": f"cdnlab {kind} from {path.name}",
        "Timeout": max(1, math.ceil(spec.timeout)),
        "MemorySize": spec.memory,
        "LastModified": modified.strftime("%Y-%m-%dT%H:%M:%S.000+0000"),
        "CodeSha256": base64.b64encode(hashlib.sha256(code).digest()).decode("ascii"),
        "Version": "$LATEST",
        "State": "Active",
        "LastUpdateStatus": "Successful",
        "PackageType": "Zip",
        "Architectures": ["x86_64"],
        "EphemeralStorage": {"Size": 512},
    }
