"""Bucket CORS: Put/Get/DeleteBucketCors through boto3, preflights and Origin requests as a
browser sends them (raw aiohttp, no credentials), AWS's validation, and durability."""

from __future__ import annotations

import aiohttp
import pytest
from botocore.exceptions import ClientError
from storage_support import client, error_code, start_server

from storage.cors import NOT_ALLOWED, NOT_ENABLED, VARY

APP = "https://app.example"


def _config(*rules: dict) -> dict:
    return {"CORSRules": list(rules)}


def _refusal(call) -> tuple[str, int, str]:
    with pytest.raises(ClientError) as excinfo:
        call()
    response = excinfo.value.response
    return (
        error_code(excinfo),
        response["ResponseMetadata"]["HTTPStatusCode"],
        response["Error"]["Message"],
    )


async def _options(url: str, path: str, headers: dict[str, str]) -> tuple[int, dict, str]:
    async with (
        aiohttp.ClientSession() as session,
        session.options(url + path, headers=headers) as answer,
    ):
        return answer.status, dict(answer.headers), await answer.text()


async def _get(url: str, path: str, headers: dict[str, str]) -> tuple[int, dict]:
    async with aiohttp.ClientSession() as session, session.get(url + path, headers=headers) as got:
        await got.read()
        return got.status, dict(got.headers)


def _preflight(origin: str, method: str, headers: str | None = None) -> dict[str, str]:
    fields = {"Origin": origin, "Access-Control-Request-Method": method}
    if headers is not None:
        fields["Access-Control-Request-Headers"] = headers
    return fields


@pytest.fixture
def public_rules(s3, bucket) -> str:
    """A bucket that lets https://app.example GET/HEAD and any origin GET."""
    s3.put_bucket_cors(
        Bucket=bucket,
        CORSConfiguration=_config(
            {
                "ID": "app",
                "AllowedOrigins": [APP],
                "AllowedMethods": ["GET", "HEAD", "PUT"],
                "AllowedHeaders": ["x-amz-*", "content-type"],
                "ExposeHeaders": ["ETag", "x-amz-request-id"],
                "MaxAgeSeconds": 600,
            },
            {"AllowedOrigins": ["*"], "AllowedMethods": ["GET"], "AllowedHeaders": ["*"]},
        ),
    )
    s3.put_object(Bucket=bucket, Key="page.js", Body=b"console.log(1)")
    return bucket


# -- Put / Get / Delete ---------------------------------------------------------------------


def test_get_bucket_cors_returns_what_was_put(s3, public_rules):
    rules = s3.get_bucket_cors(Bucket=public_rules)["CORSRules"]
    assert rules[0] == {
        "ID": "app",
        "AllowedOrigins": [APP],
        "AllowedMethods": ["GET", "HEAD", "PUT"],
        "AllowedHeaders": ["x-amz-*", "content-type"],
        "ExposeHeaders": ["ETag", "x-amz-request-id"],
        "MaxAgeSeconds": 600,
    }
    assert rules[1] == {"AllowedOrigins": ["*"], "AllowedMethods": ["GET"], "AllowedHeaders": ["*"]}


def test_get_bucket_cors_without_configuration_is_no_such_cors_configuration(s3, bucket):
    code, status, _ = _refusal(lambda: s3.get_bucket_cors(Bucket=bucket))
    assert (code, status) == ("NoSuchCORSConfiguration", 404)


def test_delete_bucket_cors_removes_it_with_204(s3, public_rules):
    answer = s3.delete_bucket_cors(Bucket=public_rules)
    assert answer["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert _refusal(lambda: s3.get_bucket_cors(Bucket=public_rules))[0] == (
        "NoSuchCORSConfiguration"
    )


def test_put_bucket_cors_replaces_the_configuration(s3, public_rules):
    s3.put_bucket_cors(
        Bucket=public_rules,
        CORSConfiguration=_config({"AllowedOrigins": [APP], "AllowedMethods": ["DELETE"]}),
    )
    rules = s3.get_bucket_cors(Bucket=public_rules)["CORSRules"]
    assert rules == [{"AllowedOrigins": [APP], "AllowedMethods": ["DELETE"]}]


def test_cors_of_a_missing_bucket_is_no_such_bucket(s3):
    assert _refusal(lambda: s3.get_bucket_cors(Bucket="no-such-bucket-cors"))[0] == "NoSuchBucket"


async def test_cors_configuration_needs_a_signature(node, public_rules):
    status, _ = await _get(node.url, f"/{public_rules}?cors", {})
    assert status == 403


# -- validation -----------------------------------------------------------------------------


def test_more_than_100_rules_is_invalid_request(s3, bucket):
    rule = {"AllowedOrigins": [APP], "AllowedMethods": ["GET"]}
    code, status, _ = _refusal(
        lambda: s3.put_bucket_cors(Bucket=bucket, CORSConfiguration=_config(*[rule] * 101))
    )
    assert (code, status) == ("InvalidRequest", 400)


def test_100_rules_are_accepted(s3, bucket):
    rule = {"AllowedOrigins": [APP], "AllowedMethods": ["GET"]}
    s3.put_bucket_cors(Bucket=bucket, CORSConfiguration=_config(*[rule] * 100))
    assert len(s3.get_bucket_cors(Bucket=bucket)["CORSRules"]) == 100


def test_an_unsupported_method_is_invalid_request(s3, bucket):
    code, status, message = _refusal(
        lambda: s3.put_bucket_cors(
            Bucket=bucket,
            CORSConfiguration=_config({"AllowedOrigins": [APP], "AllowedMethods": ["PATCH"]}),
        )
    )
    assert (code, status) == ("InvalidRequest", 400)
    assert "Unsupported method is PATCH" in message


def test_two_wildcards_in_an_origin_is_invalid_request(s3, bucket):
    code, status, message = _refusal(
        lambda: s3.put_bucket_cors(
            Bucket=bucket,
            CORSConfiguration=_config(
                {"AllowedOrigins": ["https://*.*.example"], "AllowedMethods": ["GET"]}
            ),
        )
    )
    assert (code, status) == ("InvalidRequest", 400)
    assert "can not have more than one wildcard" in message


def test_two_wildcards_in_an_allowed_header_is_invalid_request(s3, bucket):
    code, _, _ = _refusal(
        lambda: s3.put_bucket_cors(
            Bucket=bucket,
            CORSConfiguration=_config(
                {"AllowedOrigins": [APP], "AllowedMethods": ["GET"], "AllowedHeaders": ["x-*-*"]}
            ),
        )
    )
    assert code == "InvalidRequest"


def test_a_wildcard_expose_header_is_invalid_request(s3, bucket):
    code, _, _ = _refusal(
        lambda: s3.put_bucket_cors(
            Bucket=bucket,
            CORSConfiguration=_config(
                {"AllowedOrigins": [APP], "AllowedMethods": ["GET"], "ExposeHeaders": ["*"]}
            ),
        )
    )
    assert code == "InvalidRequest"


@pytest.mark.parametrize(
    "body",
    [
        b"<CORSConfiguration><CORSRule><AllowedMethod>GET</AllowedMethod></CORSRule>"
        b"</CORSConfiguration>",
        b"<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin></CORSRule>"
        b"</CORSConfiguration>",
        b"<CORSConfiguration></CORSConfiguration>",
        b"<CORSConfiguration><CORSRule><AllowedOrigin>*</AllowedOrigin>"
        b"<AllowedMethod>GET</AllowedMethod><MaxAgeSeconds>soon</MaxAgeSeconds></CORSRule>"
        b"</CORSConfiguration>",
        b"<CORSConfiguration><Rule/></CORSConfiguration>",
        b"<Tagging/>",
        b"<CORSConfiguration><CORSRule>",
    ],
    ids=["no-origin", "no-method", "no-rule", "max-age-text", "other-element", "root", "broken"],
)
def test_a_malformed_body_is_malformed_xml_in_s3_error_shape(node, bucket, body):
    from test_storage_tagging import _signed

    status, headers, answer = _signed(node.url, "PUT", f"/{bucket}?cors", body)
    assert status == 400
    assert b"<Code>MalformedXML</Code>" in answer
    assert f"<RequestId>{headers['x-amz-request-id']}</RequestId>".encode() in answer


# -- preflights -----------------------------------------------------------------------------


async def test_preflight_of_an_allowed_origin_echoes_it_with_the_rule_fields(node, public_rules):
    status, headers, _ = await _options(
        node.url, f"/{public_rules}/page.js", _preflight(APP, "PUT", "Content-Type, X-Amz-Date")
    )
    assert status == 200
    assert headers["Access-Control-Allow-Origin"] == APP
    assert headers["Access-Control-Allow-Methods"] == "GET, HEAD, PUT"
    assert headers["Access-Control-Allow-Headers"] == "content-type, x-amz-date"
    assert headers["Access-Control-Max-Age"] == "600"
    assert headers["Access-Control-Expose-Headers"] == "ETag, x-amz-request-id"
    assert headers["Vary"] == VARY


async def test_preflight_matched_by_a_wildcard_origin_answers_star(node, public_rules):
    status, headers, _ = await _options(
        node.url, f"/{public_rules}/page.js", _preflight("https://other.example", "GET", "x-any")
    )
    assert status == 200
    assert headers["Access-Control-Allow-Origin"] == "*"
    assert headers["Access-Control-Allow-Headers"] == "x-any"  # AllowedHeader "*"
    assert "Access-Control-Max-Age" not in headers


async def test_preflight_of_a_method_no_rule_allows_is_refused(node, public_rules):
    status, _, body = await _options(
        node.url, f"/{public_rules}/page.js", _preflight("https://other.example", "PUT")
    )
    assert status == 403
    assert "<Code>CORSResponse</Code>" in body
    assert NOT_ALLOWED in body


async def test_preflight_of_a_header_no_rule_allows_is_refused(node, public_rules):
    status, _, body = await _options(
        node.url, f"/{public_rules}/page.js", _preflight(APP, "PUT", "authorization")
    )
    assert status == 403
    assert NOT_ALLOWED in body


async def test_preflight_origin_wildcard_matches_subdomains_only(node, s3, bucket):
    s3.put_bucket_cors(
        Bucket=bucket,
        CORSConfiguration=_config(
            {"AllowedOrigins": ["https://*.example.com"], "AllowedMethods": ["GET"]}
        ),
    )
    allowed = await _options(node.url, f"/{bucket}/k", _preflight("https://a.example.com", "GET"))
    refused = await _options(node.url, f"/{bucket}/k", _preflight("https://example.org", "GET"))
    assert (
        allowed[0] == 200 and allowed[1]["Access-Control-Allow-Origin"] == "https://a.example.com"
    )
    assert refused[0] == 403


async def test_preflight_without_configuration_says_cors_is_not_enabled(node, bucket):
    status, _, body = await _options(node.url, f"/{bucket}/k", _preflight(APP, "GET"))
    assert status == 403
    assert "<Code>CORSResponse</Code>" in body and NOT_ENABLED in body


async def test_preflight_without_origin_is_bad_request(node, public_rules):
    status, _, body = await _options(
        node.url, f"/{public_rules}/k", {"Access-Control-Request-Method": "GET"}
    )
    assert status == 400 and "<Code>BadRequest</Code>" in body


async def test_preflight_on_the_bucket_itself_is_answered(node, public_rules):
    status, headers, _ = await _options(node.url, f"/{public_rules}", _preflight(APP, "GET"))
    assert status == 200 and headers["Access-Control-Allow-Origin"] == APP


# -- actual requests ------------------------------------------------------------------------


async def test_get_with_an_allowed_origin_carries_allow_origin_and_expose_headers(
    node, s3, public_rules
):
    url = s3.generate_presigned_url(
        "get_object", Params={"Bucket": public_rules, "Key": "page.js"}, ExpiresIn=300
    )
    async with aiohttp.ClientSession() as session, session.get(url, headers={"Origin": APP}) as got:
        assert got.status == 200
        assert await got.read() == b"console.log(1)"
        assert got.headers["Access-Control-Allow-Origin"] == APP
        assert got.headers["Access-Control-Expose-Headers"] == "ETag, x-amz-request-id"
        assert "Origin" in got.headers["Vary"]


async def test_get_with_an_origin_no_rule_allows_has_no_cors_fields(node, s3, bucket):
    s3.put_bucket_cors(
        Bucket=bucket,
        CORSConfiguration=_config({"AllowedOrigins": [APP], "AllowedMethods": ["GET"]}),
    )
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "k"})
    status, headers = await _get(url, "", {"Origin": "https://evil.example"})
    assert status == 200
    assert "Access-Control-Allow-Origin" not in headers


async def test_an_unsigned_get_is_still_refused_but_tells_the_browser(node, public_rules):
    status, headers = await _get(node.url, f"/{public_rules}/page.js", {"Origin": APP})
    assert status == 403  # CORS does not grant access: the bucket is private
    assert headers["Access-Control-Allow-Origin"] == APP  # the browser may read the refusal


async def test_a_signed_get_matched_by_a_wildcard_origin_echoes_the_origin(node, s3, bucket):
    s3.put_bucket_cors(
        Bucket=bucket,
        CORSConfiguration=_config({"AllowedOrigins": ["*"], "AllowedMethods": ["GET"]}),
    )
    s3.put_object(Bucket=bucket, Key="k", Body=b"x")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "k"})
    status, headers = await _get(url, "", {"Origin": "https://other.example"})
    assert status == 200
    assert headers["Access-Control-Allow-Origin"] == "https://other.example"
    assert headers["Access-Control-Allow-Credentials"] == "true"
    unsigned = await _get(node.url, f"/{bucket}/k", {"Origin": "https://other.example"})
    assert unsigned[1]["Access-Control-Allow-Origin"] == "*"


async def test_an_actual_request_is_matched_by_its_access_control_request_method(
    node, public_rules
):
    asks_get = {"Origin": "https://other.example", "Access-Control-Request-Method": "GET"}
    async with (
        aiohttp.ClientSession() as session,
        session.put(node.url + f"/{public_rules}/k", headers=asks_get, data=b"") as put,
    ):
        assert put.status == 403  # unsigned: refused, but matched by the GET rule
        assert put.headers["Access-Control-Allow-Origin"] == "*"
        assert put.headers["Access-Control-Allow-Methods"] == "GET"


def test_boto3_put_with_an_origin_gets_allow_origin(s3, public_rules):
    s3.meta.events.register(
        "before-sign.s3.PutObject", lambda request, **_: request.headers.add_header("Origin", APP)
    )
    try:
        answer = s3.put_object(Bucket=public_rules, Key="up", Body=b"y")
    finally:
        s3.meta.events.unregister("before-sign.s3.PutObject")
    assert answer["ResponseMetadata"]["HTTPHeaders"]["access-control-allow-origin"] == APP


# -- durability -----------------------------------------------------------------------------


async def test_configuration_survives_a_restart_and_goes_with_the_bucket(tmp_path):
    import asyncio

    def first_life() -> None:
        node = start_server(tmp_path, keys=(("AKIDCDNLABTEST", "cdnlab/secret+key"),))
        try:
            s3 = client(node.url)
            s3.create_bucket(Bucket="kept")
            s3.put_bucket_cors(
                Bucket="kept",
                CORSConfiguration=_config(
                    {"AllowedOrigins": [APP], "AllowedMethods": ["GET"], "MaxAgeSeconds": 5}
                ),
            )
        finally:
            node.stop()

    await asyncio.to_thread(first_life)
    node = await asyncio.to_thread(
        start_server, tmp_path, keys=(("AKIDCDNLABTEST", "cdnlab/secret+key"),)
    )
    try:
        s3 = client(node.url)
        rules = await asyncio.to_thread(s3.get_bucket_cors, Bucket="kept")
        assert rules["CORSRules"] == [
            {"AllowedOrigins": [APP], "AllowedMethods": ["GET"], "MaxAgeSeconds": 5}
        ]
        status, headers, _ = await _options(node.url, "/kept/k", _preflight(APP, "GET"))
        assert status == 200 and headers["Access-Control-Max-Age"] == "5"
        await asyncio.to_thread(s3.delete_bucket, Bucket="kept")
        await asyncio.to_thread(s3.create_bucket, Bucket="kept")
        code = _refusal(lambda: s3.get_bucket_cors(Bucket="kept"))[0]
        assert code == "NoSuchCORSConfiguration"
        assert not list((tmp_path / "tmp").iterdir())  # no staging file left behind
    finally:
        await asyncio.to_thread(node.stop)


def test_an_id_over_255_characters_is_invalid_request(s3, bucket):
    rule = {"ID": "r" * 256, "AllowedOrigins": [APP], "AllowedMethods": ["GET"]}
    code, status, _ = _refusal(
        lambda: s3.put_bucket_cors(Bucket=bucket, CORSConfiguration=_config(rule))
    )
    assert (code, status) == ("InvalidRequest", 400)


def test_a_damaged_stored_configuration_is_ignored_and_the_bucket_kept(tmp_path):
    import json

    folder = tmp_path / "buckets" / "damaged"
    (folder / "objects").mkdir(parents=True)
    (folder / "bucket.json").write_text(json.dumps({"created": 1.0, "cors": [{"id": 3}]}))
    node = start_server(tmp_path, keys=(("AKIDCDNLABTEST", "cdnlab/secret+key"),))
    try:
        s3 = client(node.url)
        assert "damaged" in [b["Name"] for b in s3.list_buckets()["Buckets"]]
        assert _refusal(lambda: s3.get_bucket_cors(Bucket="damaged"))[0] == (
            "NoSuchCORSConfiguration"
        )
    finally:
        node.stop()
