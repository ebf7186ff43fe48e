# The two commands a newcomer needs (see README.md).
.PHONY: dev test rehearse bench sam-local test-sam-local faults soak

## Start the whole API locally on http://127.0.0.1:9000 (Ctrl-C stops it)
dev:
	scripts/dev.sh

## Run every check and test; installs and starts what it needs
test:
	scripts/test.sh

## What AWS enforces, before a deploy: the recorded AWS calls of the last make test against
## each function's IAM policy, and scripts/deploy.sh run for every stage against emulated
## AWS APIs (see docs/deploying.md); make test runs it last
rehearse:
	scripts/rehearse.sh

## Print the benchmark table of every function, argon2 against the C reference, start-up
## step by step, and the capacity and cost model (see scripts/bench.sh)
bench:
	scripts/bench.sh

## The API through SAM's local mode (sam local start-api) on http://127.0.0.1:3000 (Ctrl-C stops it)
sam-local:
	scripts/sam-local.sh

## Prove sam local: a flow through start-api and a sam local invoke (see docs/deploying.md, "sam local")
test-sam-local:
	scripts/sam-local-test.sh

## Every flow many times with DynamoDB and SES faults injected by a proxy (errors,
## resets, delays), checking the invariants after each call (see docs/faults.md)
faults:
	scripts/faults.sh

## A realistic mix of every endpoint from Locust for SOAK_SECONDS (default 300): requests,
## statuses, p50/p99 latency, each function's memory at start, half-time and end
soak:
	scripts/soak.sh
