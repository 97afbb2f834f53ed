"""Lambda@Edge, origin-response: add security headers to every response before it is cached.

Runs once per origin fetch (never on hits: the stored response already carries them).
"""

SECURITY_HEADERS = {
    "strict-transport-security": (
        "Strict-Transport-Security",
        "max-age=63072000; includeSubDomains; preload",
    ),
    "x-content-type-options": ("X-Content-Type-Options", "nosniff"),
    "x-frame-options": ("X-Frame-Options", "DENY"),
    "referrer-policy": ("Referrer-Policy", "strict-origin-when-cross-origin"),
    "content-security-policy": ("Content-Security-Policy", "default-src 'self'"),
}


def handler(event, context):
    response = event["Records"][0]["cf"]["response"]
    headers = response["headers"]
    for name, (key, value) in SECURITY_HEADERS.items():
        headers[name] = [{"key": key, "value": value}]
    return response
