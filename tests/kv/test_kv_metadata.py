"""Table metadata: time to live settings and tags, recorded and kept across restarts."""

from __future__ import annotations

from typing import Any

import pytest
from botocore.exceptions import ClientError
from kv_support import client

ARN = "arn:aws:dynamodb:us-east-1:000000000000:table/users"


def test_time_to_live_is_disabled_until_enabled(ddb: Any, users: str) -> None:
    assert ddb.describe_time_to_live(TableName=users)["TimeToLiveDescription"] == {
        "TimeToLiveStatus": "DISABLED"
    }
    ddb.update_time_to_live(
        TableName=users, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires"}
    )
    assert ddb.describe_time_to_live(TableName=users)["TimeToLiveDescription"] == {
        "TimeToLiveStatus": "ENABLED",
        "AttributeName": "expires",
    }


def test_enabling_time_to_live_twice_is_refused(ddb: Any, users: str) -> None:
    spec = {"Enabled": True, "AttributeName": "expires"}
    ddb.update_time_to_live(TableName=users, TimeToLiveSpecification=spec)
    with pytest.raises(ClientError) as excinfo:
        ddb.update_time_to_live(TableName=users, TimeToLiveSpecification=spec)
    assert excinfo.value.response["Error"]["Message"] == "TimeToLive is already enabled"


def test_disabling_time_to_live(ddb: Any, users: str) -> None:
    ddb.update_time_to_live(
        TableName=users, TimeToLiveSpecification={"Enabled": True, "AttributeName": "e"}
    )
    ddb.update_time_to_live(
        TableName=users, TimeToLiveSpecification={"Enabled": False, "AttributeName": "e"}
    )
    status = ddb.describe_time_to_live(TableName=users)["TimeToLiveDescription"]["TimeToLiveStatus"]
    assert status == "DISABLED"


def test_tags_are_added_listed_and_removed(ddb: Any, users: str) -> None:
    ddb.tag_resource(
        ResourceArn=ARN, Tags=[{"Key": "team", "Value": "api"}, {"Key": "env", "Value": "dev"}]
    )
    ddb.untag_resource(ResourceArn=ARN, TagKeys=["env"])
    assert ddb.list_tags_of_resource(ResourceArn=ARN)["Tags"] == [{"Key": "team", "Value": "api"}]


def test_create_table_tags_are_kept_and_not_described(ddb: Any) -> None:
    ddb.create_table(
        TableName="tagged",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
        Tags=[{"Key": "team", "Value": "api"}],
    )
    arn = ddb.describe_table(TableName="tagged")["Table"]["TableArn"]
    assert ddb.list_tags_of_resource(ResourceArn=arn)["Tags"] == [{"Key": "team", "Value": "api"}]
    assert "_tags" not in ddb.describe_table(TableName="tagged")["Table"]


def test_tags_of_a_missing_table_are_resource_not_found(ddb: Any) -> None:
    with pytest.raises(ClientError) as excinfo:
        ddb.list_tags_of_resource(ResourceArn=ARN)
    assert excinfo.value.response["Error"]["Code"] == "ResourceNotFoundException"


# --- found by the Alternator suite's test_ttl.py (docs/conformance-dynamodb.md) -------------


def test_disabling_time_to_live_names_the_current_attribute(ddb: Any, users: str) -> None:
    ddb.update_time_to_live(
        TableName=users, TimeToLiveSpecification={"Enabled": True, "AttributeName": "expires"}
    )
    with pytest.raises(ClientError) as excinfo:
        ddb.update_time_to_live(
            TableName=users, TimeToLiveSpecification={"Enabled": False, "AttributeName": "dog"}
        )
    assert excinfo.value.response["Error"] == {
        "Code": "ValidationException",
        "Message": "TimeToLive is active on a different AttributeName: "
        "current AttributeName is expires",
    }
    assert ddb.describe_time_to_live(TableName=users)["TimeToLiveDescription"] == {
        "TimeToLiveStatus": "ENABLED",
        "AttributeName": "expires",
    }


@pytest.mark.parametrize(
    ("spec", "code", "words"),
    [
        ({"AttributeName": "x" * 256, "Enabled": True}, "ValidationException", "length less"),
        ({"Enabled": True}, "ValidationException", "timeToLiveSpecification.attributeName"),
        ({"AttributeName": "e"}, "ValidationException", "timeToLiveSpecification.enabled"),
        ({"AttributeName": "e", "Enabled": "dog"}, "SerializationException", "Enabled"),
        ({"AttributeName": 3, "Enabled": True}, "SerializationException", "AttributeName"),
        ({"AttributeName": "", "Enabled": True}, "ValidationException", "length greater"),
    ],
    ids=["too-long", "no-name", "no-enabled", "enabled-not-bool", "name-not-string", "empty"],
)
def test_time_to_live_specification_errors(
    kv_url: str, users: str, spec: dict[str, Any], code: str, words: str
) -> None:
    # Not all of these pass boto3's own checks: a client that does not check reaches us.
    raw = client(kv_url, checked=False)
    with pytest.raises(ClientError) as excinfo:
        raw.update_time_to_live(TableName=users, TimeToLiveSpecification=spec)
    assert excinfo.value.response["Error"]["Code"] == code
    assert words in excinfo.value.response["Error"]["Message"]
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400


@pytest.mark.parametrize(
    "operation",
    ["tag_resource", "untag_resource", "list_tags_of_resource"],
)
def test_a_resource_that_is_not_an_arn_is_access_denied(
    ddb: Any, users: str, operation: str
) -> None:
    # AWS's IAM check answers before DynamoDB reads the ARN (Alternator's
    # test_tag_resource_incorrect, written against AWS).
    extra = {
        "tag_resource": {"Tags": [{"Key": "k", "Value": "v"}]},
        "untag_resource": {"TagKeys": ["k"]},
        "list_tags_of_resource": {},
    }[operation]
    with pytest.raises(ClientError) as excinfo:
        getattr(ddb, operation)(ResourceArn="I_do_not_exist", **extra)
    assert excinfo.value.response["Error"]["Code"] == "AccessDeniedException"
    assert "on resource: I_do_not_exist" in excinfo.value.response["Error"]["Message"]
    assert excinfo.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
