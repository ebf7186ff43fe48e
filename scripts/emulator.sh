# Sourced by dev.sh and test.sh: starts the single-threaded emulator on PORT,
# creates the tables, the SES identity and the local secrets, and stops it
# when the shell exits.
start_emulator() {
  local port=$1
  local endpoint="http://127.0.0.1:$port"
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "Port $port is already in use: is another local stack running?" >&2
    return 1
  fi
  .local/venv/bin/python scripts/emulator.py serve --port "$port" >.local/emulator-$port.log 2>&1 &
  EMULATOR_PID=$!
  trap stop_emulator EXIT
  .local/venv/bin/python scripts/emulator.py wait --endpoint "$endpoint"
  .local/venv/bin/python scripts/emulator.py setup --endpoint "$endpoint"
}

stop_emulator() {
  if [ -n "${EMULATOR_PID:-}" ]; then
    kill "$EMULATOR_PID" 2>/dev/null || true
    wait "$EMULATOR_PID" 2>/dev/null || true
    EMULATOR_PID=
  fi
}
