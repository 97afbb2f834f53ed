"""What boto3's lambda client reads about functions from `cdn fn serve`: GetFunction,
GetFunctionConfiguration and ListFunctions (paged), as Lambda answers them."""

from __future__ import annotations

import asyncio
import base64
import hashlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from fn_support import handler_file, lambda_client, lambda_spec

from cdn.functions import FunctionSpec
from fn.api import HOST, FunctionServer
from fn.host import FunctionHost


@pytest.fixture
async def server(tmp_path: Path) -> AsyncIterator[FunctionServer]:
    specs = [lambda_spec(tmp_path, name="probe", memory=256, timeout=2.5, concurrency=3)]
    for n in range(4):  # more functions, for the pages
        folder = tmp_path / f"f{n}"
        folder.mkdir()
        specs.append(FunctionSpec(f"extra-{n}", str(handler_file(folder))))
    served = FunctionServer(FunctionHost(specs))
    await served.start()
    yield served
    await served.stop()


async def call(url: str, operation: str, **kwargs: Any) -> dict[str, Any]:
    return await asyncio.to_thread(lambda: getattr(lambda_client(url), operation)(**kwargs))


async def test_get_function_configuration_describes_the_function(server) -> None:
    answer = await call(server.url, "get_function_configuration", FunctionName="probe")
    spec = server.app[HOST].runner("probe").spec
    source = Path(spec.code).read_bytes()
    assert answer["FunctionName"] == "probe"
    assert answer["FunctionArn"] == "arn:aws:lambda:us-east-1:000000000000:function:probe"
    assert answer["Handler"] == f"{Path(spec.code).stem}.handler"
    assert (answer["MemorySize"], answer["Timeout"]) == (256, 3)  # whole seconds, rounded up
    assert answer["CodeSize"] == len(source)
    assert answer["CodeSha256"] == base64.b64encode(hashlib.sha256(source).digest()).decode()
    assert (answer["State"], answer["Version"], answer["PackageType"]) == (
        "Active",
        "$LATEST",
        "Zip",
    )


async def test_get_function_has_the_configuration_and_the_reserved_concurrency(server) -> None:
    answer = await call(server.url, "get_function", FunctionName="probe")
    assert answer["Configuration"]["FunctionName"] == "probe"
    assert answer["Concurrency"]["ReservedConcurrentExecutions"] == 3
    assert answer["Code"]["Location"].startswith("file://")


async def test_an_arn_or_a_qualified_name_names_the_function(server) -> None:
    arn = "arn:aws:lambda:us-east-1:000000000000:function:probe"
    for name in (arn, "probe:$LATEST"):
        answer = await call(server.url, "get_function_configuration", FunctionName=name)
        assert answer["FunctionName"] == "probe"


async def test_an_unknown_function_is_resource_not_found(server) -> None:
    with pytest.raises(ClientError) as raised:
        await call(server.url, "get_function", FunctionName="nope")
    assert raised.value.response["Error"]["Code"] == "ResourceNotFoundException"
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 404


async def test_list_functions_pages_through_every_function_by_name(server) -> None:
    def pages() -> list[list[str]]:
        paginator = lambda_client(server.url).get_paginator("list_functions")
        return [
            [f["FunctionName"] for f in page["Functions"]]
            for page in paginator.paginate(PaginationConfig={"PageSize": 2})
        ]

    seen = await asyncio.to_thread(pages)
    assert seen == [["extra-0", "extra-1"], ["extra-2", "extra-3"], ["probe"]]
    everything = await call(server.url, "list_functions")
    assert [f["FunctionName"] for f in everything["Functions"]] == sorted(
        ["probe", "extra-0", "extra-1", "extra-2", "extra-3"]
    )
    assert "NextMarker" not in everything


async def test_a_bad_page_size_is_a_clear_400(server) -> None:
    with pytest.raises(ClientError) as raised:
        await call(server.url, "list_functions", MaxItems=10_001)
    error = raised.value.response["Error"]
    assert error["Code"] == "InvalidParameterValueException"
    assert "MaxItems" in error["Message"]
