# The two commands a newcomer needs (see README.md).
.PHONY: dev test bench sam-local test-sam-local

## Start the whole API locally on http://127.0.0.1:9000 (Ctrl-C stops it)
dev:
	scripts/dev.sh

## Run every check and test; installs and starts what it needs
test:
	scripts/test.sh

## Print the benchmarks' figures: cold start against a hello-world function, hashing memory
bench:
	python3 scripts/cold_start.py
	cargo bench -p password-service --bench hash_memory

## The API through SAM's local mode (sam local start-api) on http://127.0.0.1:3000 (Ctrl-C stops it)
sam-local:
	scripts/sam-local.sh

## Prove sam local: a flow through start-api and a sam local invoke (see README, "sam local")
test-sam-local:
	scripts/sam-local-test.sh
