"""A fault-injecting HTTP proxy between the functions and the emulator, over
real TCP (`make faults`; Toxiproxy is in no registry reachable here).

Every request is forwarded to UPSTREAM unless a rule picks it. A rule names
the service (`dynamodb`: the operation is the `X-Amz-Target` header's
`DynamoDB_20120810.<Operation>`; `secretsmanager`: the header's
`secretsmanager.<Operation>`; `ses`: `POST /v2/email/outbound-emails` is
`SendEmail`), the operation (or `*`), the fault, and when: `probability`
(0–1) or `nth` (the Nth matching call since the rules were set; `every`
repeats it every `nth`). The first rule that fires wins.

Faults, shaped as AWS answers them:
  conflict     TransactWriteItems: TransactionCanceledException whose reasons
               hold one TransactionConflict (the rest None); other writes:
               TransactionConflictException
  throughput   ProvisionedThroughputExceededException (400)
  throttle     ThrottlingException (400); SES: TooManyRequestsException (429)
  internal     500 InternalServerError (SES: InternalFailure, Secrets Manager:
               InternalServiceError)
  rejected     SES: MessageRejected (400)
  reset        the connection reset before the request reaches the emulator
  reset-after  the request applied by the emulator, then the connection reset
               (the answer lost: the SDK may retry a write that happened)
  delay        held past the SDK's attempt timeout (DELAY seconds), then
               forwarded: the late attempt may still land after a retry
Secrets Manager (the functions' secrets, read at run time) takes throttle,
internal, reset, reset-after and delay: a scenario can take it away.

DynamoDB accepts a TransactWriteItems again with the same ClientRequestToken
for 10 minutes without applying it twice (the SDK fills the token once per
operation, so its own retries reuse it); moto ignores the token, so this
proxy keeps that promise: a repeated token with the same body answers the
first success, with another body IdempotentParameterMismatchException.

Control, on the same port (the SDK never calls these paths):
  PUT  /__faults/rules   a JSON list of rules (replaces them; counts restart)
  POST /__faults/pause, /__faults/resume   no faults for a while; the rules
                         and their counts stay
  GET  /__faults/stats   {"requests": {op: n}, "injected": {fault: n},
                         "fired": {"fault service:op": n}, "rules": [rule + {"fired": n}]}
                         (the rules' own counts: since they were set)
  POST /__faults/stats   the same, and the counts start again

With --record FILE it also appends one JSON line per AWS call, what IAM
decides on and nothing of the data: the caller's access key id (each local
function has its own), the operation, and the tables each of its items
names (SES: the sender's domain; Secrets Manager: the SecretId, a name,
never a value). scripts/iam_check.py reads these.
"""

import argparse
import asyncio
import json
import random
import socket
import struct
import time
from collections import Counter

from aiohttp import ClientSession, ClientTimeout, web

DYNAMODB_TARGET = "DynamoDB_20120810."
SECRETSMANAGER_TARGET = "secretsmanager."
# Per service: (HTTP status, error type, message) of each answered fault.
ERRORS = {
    "dynamodb": {
        "throughput": (
            400,
            "ProvisionedThroughputExceededException",
            "The level of configured provisioned throughput for the table was exceeded.",
        ),
        "throttle": (400, "ThrottlingException", "Rate of requests exceeds the allowed throughput."),
        "internal": (500, "InternalServerError", "Internal server error"),
    },
    "ses": {
        "throttle": (429, "TooManyRequestsException", "Too many requests."),
        "internal": (500, "InternalFailure", "The request processing has failed because of an unknown error."),
        "rejected": (400, "MessageRejected", "Email address is not verified."),
    },
    "secretsmanager": {
        "throttle": (400, "ThrottlingException", "Rate exceeded"),
        "internal": (500, "InternalServiceError", "An error occurred on the server side."),
    },
}
HOP_HEADERS = {"host", "content-length", "transfer-encoding", "connection", "keep-alive"}


def operation(request, body):
    """(service, operation) of a request."""
    target = request.headers.get("X-Amz-Target", "")
    if target.startswith(DYNAMODB_TARGET):
        return "dynamodb", target[len(DYNAMODB_TARGET) :]
    if target.startswith(SECRETSMANAGER_TARGET):
        return "secretsmanager", target[len(SECRETSMANAGER_TARGET) :]
    if request.path == "/v2/email/outbound-emails" and request.method == "POST":
        return "ses", "SendEmail"
    if request.path.startswith("/v2/"):
        return "ses", f"{request.method} {request.path}"
    return "other", f"{request.method} {request.path}"


class Rules:
    def __init__(self):
        self.rules = []
        self.paused = False
        self.matched = Counter()
        # Per rule (by index), the faults it injected since the rules were set:
        # a placed scenario checks its own faults fired on its operation.
        self.fired = Counter()
        self.requests = Counter()
        self.injected = Counter()
        self.fired_on = Counter()

    def set(self, rules):
        for rule in rules:
            if rule["fault"] not in FAULTS:
                raise ValueError(f"unknown fault {rule['fault']!r}")
        self.rules = rules
        self.matched = Counter()
        self.fired = Counter()
        self.paused = False

    def pick(self, service, op):
        """The fault to inject into this call, if any."""
        if self.paused:
            return None
        for index, rule in enumerate(self.rules):
            if rule.get("service", "*") not in ("*", service) or rule.get("operation", "*") not in ("*", op):
                continue
            self.matched[index] += 1
            count = self.matched[index]
            if "nth" in rule:
                nth = rule["nth"]
                fires = count % nth == 0 if rule.get("every") else count == nth
            else:
                fires = random.random() < rule.get("probability", 0)
            if fires and applicable(rule["fault"], service, op):
                self.fired[index] += 1
                self.fired_on[f"{rule['fault']} {service}:{op}"] += 1
                return rule["fault"]
        return None


def applicable(fault, service, op):
    if fault in ("reset", "reset-after", "delay"):
        return service in ("dynamodb", "ses", "secretsmanager")
    if fault == "conflict":
        return service == "dynamodb" and op in ("TransactWriteItems", "UpdateItem", "PutItem", "DeleteItem")
    return fault in ERRORS.get(service, {})


def aws_error(service, status, error_type, message):
    if service == "dynamodb":
        body = {"__type": f"com.amazonaws.dynamodb.v20120810#{error_type}", "message": message}
        return web.json_response(body, status=status, content_type="application/x-amz-json-1.0")
    if service == "secretsmanager":
        body = {"__type": error_type, "Message": message}
        return web.json_response(body, status=status, content_type="application/x-amz-json-1.1")
    return web.json_response(
        {"message": message}, status=status, headers={"x-amzn-ErrorType": f"{error_type}:http://internal.amazon.com/"}
    )


def conflict(op, body):
    if op != "TransactWriteItems":
        return aws_error(
            "dynamodb", 400, "TransactionConflictException", "Transaction is ongoing for the item"
        )
    items = len(json.loads(body or b"{}").get("TransactItems", [])) or 1
    reasons = [{"Code": "None"} for _ in range(items)]
    reasons[random.randrange(items)] = {
        "Code": "TransactionConflict",
        "Message": "Transaction is ongoing for the item",
    }
    message = "Transaction cancelled, please refer cancellation reasons for specific reasons [{}]".format(
        ", ".join(r["Code"] for r in reasons)
    )
    response = aws_error("dynamodb", 400, "TransactionCanceledException", message)
    response.body = json.dumps(
        {
            "__type": "com.amazonaws.dynamodb.v20120810#TransactionCanceledException",
            "message": message,
            "CancellationReasons": reasons,
        }
    ).encode()
    return response


def reset(request):
    """Closes the client's connection with a TCP RST (SO_LINGER 0)."""
    sock = request.transport.get_extra_info("socket")
    if sock is not None:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    request.transport.abort()
    # Nothing reaches the client; aiohttp drops this on the closed transport.
    return web.Response(status=599)


FAULTS = {"conflict", "throughput", "throttle", "internal", "rejected", "reset", "reset-after", "delay"}


IDEMPOTENCY_SECONDS = 600


class Idempotency:
    """DynamoDB's ClientRequestToken promise for TransactWriteItems."""

    def __init__(self):
        self.seen = {}
        # One request per token at a time at the emulator: DynamoDB never
        # applies a token twice, even while its first request is in flight.
        self.locks = {}

    def lock(self, token):
        return self.locks.setdefault(token, asyncio.Lock())

    def token(self, op, body):
        if op != "TransactWriteItems":
            return None
        return json.loads(body or b"{}").get("ClientRequestToken")

    def earlier(self, token, body):
        """The first success under `token`, or a mismatch error, or None."""
        now = time.monotonic()
        self.seen = {t: v for t, v in self.seen.items() if now - v[0] < IDEMPOTENCY_SECONDS}
        if token not in self.seen:
            return None
        _, first_body, answer = self.seen[token]
        if first_body != body:
            return aws_error(
                "dynamodb",
                400,
                "IdempotentParameterMismatchException",
                "The request uses the same client token as a previous, but non-identical request.",
            )
        status, headers, payload = answer
        return web.Response(status=status, headers=headers, body=payload)

    def remember(self, token, body, response):
        if token is not None and response.status == 200:
            self.seen[token] = (time.monotonic(), body, (response.status, dict(response.headers), response.body))


def call_record(request, body, service, op):
    """What IAM decides a call on: who, which operation, on what."""
    credential = request.headers.get("Authorization", "").partition("Credential=")[2]
    record = {"key": credential.split("/", 1)[0], "service": service, "op": op}
    try:
        data = json.loads(body or b"{}")
    except ValueError:
        data = {}
    if service == "dynamodb":
        if op in ("TransactWriteItems", "TransactGetItems"):
            items = [(kind, item[kind]["TableName"]) for item in data.get("TransactItems", []) for kind in item]
        elif op in ("BatchGetItem", "BatchWriteItem"):
            items = [(op, table) for table in data.get("RequestItems", {})]
        else:
            items = [(op, data.get("TableName", ""))]
        record["items"] = items
    elif service == "secretsmanager":
        record["secret"] = data.get("SecretId", "")
    elif op == "SendEmail":
        record["identity"] = data.get("FromEmailAddress", "").rpartition("@")[2].strip(">")
        record["configuration_set"] = data.get("ConfigurationSetName")
    return record


def build_app(upstream, delay, record=None):
    rules = Rules()
    idempotency = Idempotency()
    session_box = {}

    async def start(app):
        session_box["session"] = ClientSession(timeout=ClientTimeout(total=60), auto_decompress=False)

    async def stop(app):
        await session_box["session"].close()

    async def forward(request, body, op):
        token = idempotency.token(op, body)
        if token is None:
            return await send(request, body)
        async with idempotency.lock(token):
            earlier = idempotency.earlier(token, body)
            if earlier is not None:
                return earlier
            response = await send(request, body)
            idempotency.remember(token, body, response)
            return response

    async def send(request, body):
        headers = {k: v for k, v in request.headers.items() if k.lower() not in HOP_HEADERS}
        async with session_box["session"].request(
            request.method, upstream + request.path_qs, headers=headers, data=body
        ) as answer:
            payload = await answer.read()
            out = {k: v for k, v in answer.headers.items() if k.lower() not in HOP_HEADERS}
            return web.Response(status=answer.status, headers=out, body=payload)

    async def handle(request):
        body = await request.read()
        service, op = operation(request, body)
        rules.requests[f"{service}:{op}"] += 1
        if record is not None and service != "other":
            record.write(json.dumps(call_record(request, body, service, op)) + "\n")
            record.flush()
        fault = rules.pick(service, op)
        if fault is None:
            return await forward(request, body, op)
        rules.injected[fault] += 1
        print(f"{time.strftime('%H:%M:%S')} {fault} {service}:{op}", flush=True)
        if fault == "reset":
            return reset(request)
        if fault == "reset-after":
            await forward(request, body, op)
            return reset(request)
        if fault == "delay":
            await asyncio.sleep(delay[service])
            return await forward(request, body, op)
        if fault == "conflict":
            return conflict(op, body)
        return aws_error(service, *ERRORS[service][fault])

    async def put_rules(request):
        try:
            rules.set(await request.json())
        except (ValueError, KeyError, TypeError) as error:
            return web.json_response({"error": str(error)}, status=400)
        return web.json_response({"rules": rules.rules})

    async def pause(request):
        rules.paused = request.path.endswith("/pause")
        return web.json_response({"paused": rules.paused})

    async def stats(request):
        answer = {
            "requests": dict(rules.requests),
            "injected": dict(rules.injected),
            "fired": dict(rules.fired_on),
            "rules": [dict(rule, fired=rules.fired[index]) for index, rule in enumerate(rules.rules)],
        }
        if request.method == "POST":
            rules.requests.clear()
            rules.injected.clear()
            rules.fired_on.clear()
        return web.json_response(answer)

    app = web.Application(client_max_size=16 * 1024 * 1024)
    app.on_startup.append(start)
    app.on_cleanup.append(stop)
    app.router.add_put("/__faults/rules", put_rules)
    app.router.add_post("/__faults/pause", pause)
    app.router.add_post("/__faults/resume", pause)
    app.router.add_route("GET", "/__faults/stats", stats)
    app.router.add_route("POST", "/__faults/stats", stats)
    app.router.add_route("*", "/{tail:.*}", handle)
    return app


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--upstream", required=True, help="the emulator, e.g. http://127.0.0.1:4731")
    # Past shared/src/aws.rs's attempt timeouts (DynamoDB 800 ms, SES 2 s,
    # Secrets Manager 1 s).
    parser.add_argument("--dynamodb-delay", type=float, default=1.2)
    parser.add_argument("--ses-delay", type=float, default=2.5)
    parser.add_argument("--secretsmanager-delay", type=float, default=1.5)
    parser.add_argument("--record", help="append each AWS call's caller, operation and resources (JSON lines)")
    args = parser.parse_args()
    delay = {"dynamodb": args.dynamodb_delay, "ses": args.ses_delay, "secretsmanager": args.secretsmanager_delay}
    record = open(args.record, "a") if args.record else None
    web.run_app(
        build_app(args.upstream.rstrip("/"), delay, record),
        host="127.0.0.1",
        port=args.port,
        access_log=None,
        print=None,
    )


if __name__ == "__main__":
    main()
