# shellcheck shell=bash
# Sourced by sam-local.sh and sam-local-test.sh: everything `sam local` needs
# on this machine, and how to stop it again.
#
#   sam_local_runtime_start  a Docker API for SAM CLI: Docker's if its daemon
#                            answers, else podman's (installed from Debian on
#                            first use), with a locally built base image
#   sam_local_emulator_start the emulator of `make dev` (scripts/emulator.py),
#                            where the containers reach it
#   sam_local_build          the functions for this host's instruction set, the
#                            template and --env-vars file SAM reads (.aws-sam/local)
#   SAM_LOCAL_ARGS           the options every `sam local` command here takes
#   sam_local_start_api      `sam local start-api` in the background (SAM_PID)
#   sam_local_stop           stops what the above started, in order
#
# Settings: SAM_PORT (the API, default 3000), EMULATOR_PORT (default
# local.env's, as `make dev`), SAM_LOCAL_RUNTIME=docker|podman to choose,
# SAM_LOCAL_ARCH=arm64|x86_64 (default: the host's; the other one runs
# emulated by qemu-user-static, e.g. the arm64 binaries AWS runs, on x86_64).

# Versions pinned to their upstream release; Debian's own revisions (security
# fixes) may move. Verified here: podman 4.3.1+ds1-8+deb12u1+b3, runc
# 1.1.5+ds1-1+deb12u1, debootstrap 1.0.128+nmu2+deb12u2.
PODMAN_PACKAGES=("podman=4.3.1+*" "runc=1.1.5+*")
DEBOOTSTRAP_PACKAGE="debootstrap=1.0.128+*"
QEMU_PACKAGE="qemu-user-static=1:7.2+*" # verified: 1:7.2+dfsg-7+deb12u18+b3

SAM_PORT=${SAM_PORT:-3000}
EMULATOR_PORT=${EMULATOR_PORT:-$(sed -n 's|^AWS_ENDPOINT_URL_DYNAMODB=http://127.0.0.1:\([0-9]*\).*|\1|p' local.env)}
export CARGO_TARGET_DIR=${CARGO_TARGET_DIR:-$PWD/target}
export SAM_CLI_TELEMETRY=0
# .local/venv first: its python3 has the zig that cargo-lambda builds with.
export PATH="$PWD/.local/venv/bin:$PWD/.local/sam/bin:$PATH"
# SAM gives each function credentials from its own environment (local.env's dummies).
while IFS='=' read -r key value; do
  export "$key=$value"
done < <(grep -E '^(AWS_REGION|AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY)=' local.env)

case "$(uname -m)" in
  x86_64 | amd64) SAM_LOCAL_HOST_ARCH=x86_64 ;;
  aarch64 | arm64) SAM_LOCAL_HOST_ARCH=arm64 ;;
  *) echo "sam local: no Lambda architecture for $(uname -m)" >&2; return 1 ;;
esac
SAM_LOCAL_ARCH=${SAM_LOCAL_ARCH:-$SAM_LOCAL_HOST_ARCH}
SAM_LOCAL_DIR=.aws-sam/local
SAM_LOCAL_ARGS=()
PODMAN_SERVICE_PID=
SAM_LOCAL_EMULATOR_PID=

sam_local_runtime_start() {
  local runtime=${SAM_LOCAL_RUNTIME:-}
  if [ -z "$runtime" ]; then
    if command -v docker >/dev/null && docker info >/dev/null 2>&1; then runtime=docker; else runtime=podman; fi
  fi
  SAM_LOCAL_RUNTIME=$runtime
  if [ "$runtime" = docker ]; then
    # SAM pulls public.ecr.aws/lambda/provided:al2023 itself. Its containers
    # sit on Docker's bridge; host-gateway is the host's address there.
    SAM_LOCAL_CONTAINER_HOST=host.docker.internal
    SAM_LOCAL_ARGS+=(--add-host "host.docker.internal:host-gateway")
    echo "sam local: Docker ($(docker version --format '{{.Server.Version}}'))"
    return 0
  fi

  if ! command -v podman >/dev/null || ! command -v runc >/dev/null; then
    echo "sam local: no Docker daemon; installing podman from Debian (once)…"
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${PODMAN_PACKAGES[@]}" >/dev/null
  fi
  export CONTAINERS_CONF="$PWD/scripts/podman-containers.conf"
  mkdir -p .local/podman
  local socket="$PWD/.local/podman/sam-$SAM_PORT.sock"
  rm -f "$socket"
  # In a session of its own: Ctrl-C must not stop the service before SAM has
  # removed its containers through it.
  setsid podman --runtime runc system service --time=0 "unix://$socket" >".local/podman/service-$SAM_PORT.log" 2>&1 &
  PODMAN_SERVICE_PID=$!
  for _ in $(seq 1 50); do [ -S "$socket" ] && break; sleep 0.2; done
  [ -S "$socket" ] || { cat ".local/podman/service-$SAM_PORT.log"; echo "sam local: podman's service did not start" >&2; return 1; }
  export DOCKER_HOST="unix://$socket"
  [ "$SAM_LOCAL_ARCH" = "$SAM_LOCAL_HOST_ARCH" ] || sam_local_emulate_arch
  # Through its Docker API podman puts every container on its bridge
  # (containers.conf's netns does not apply there); podman names the host's
  # address on it host.containers.internal.
  SAM_LOCAL_CONTAINER_HOST=host.containers.internal
  sam_local_base_image
  # No registry can be reached: SAM builds its image on the local stand-in.
  SAM_LOCAL_ARGS+=(--skip-pull-image --invoke-image "$SAM_LOCAL_BASE_IMAGE")
  echo "sam local: $(podman --version) (runc), base image $SAM_LOCAL_BASE_IMAGE"
}

# A stand-in for SAM's base image public.ecr.aws/lambda/provided:al2023,
# which cannot be pulled here: a minimal Debian of the host's release, from
# the host's own apt mirror. A Rust bootstrap needs only glibc (Debian 12 has
# 2.36, Amazon Linux 2023 2.34); SAM adds its runtime interface emulator
# (samcli/local/rapid/aws-lambda-rie-*) on top with a shell and `mv`.
sam_local_base_image() {
  local codename debian_arch=amd64
  codename=$(. /etc/os-release && echo "$VERSION_CODENAME")
  [ "$SAM_LOCAL_ARCH" = arm64 ] && debian_arch=arm64
  SAM_LOCAL_BASE_IMAGE="localhost/password-service-lambda-base:$codename-$SAM_LOCAL_ARCH"
  podman image exists "$SAM_LOCAL_BASE_IMAGE" && return 0
  command -v debootstrap >/dev/null ||
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$DEBOOTSTRAP_PACKAGE" >/dev/null
  local mirror rootfs
  mirror=$(apt-get indextargets --format '$(REPO_URI)' 'Identifier: Packages' "Codename: $codename" | head -n 1)
  rootfs=$(mktemp -d)
  echo "sam local: building $SAM_LOCAL_BASE_IMAGE with debootstrap (once, a minute; emulated, four)…"
  # --foreign and the second stage inside: that one runs the image's own
  # binaries, through qemu when the architecture is not the host's.
  if ! { debootstrap --variant=minbase --arch="$debian_arch" --foreign "$codename" "$rootfs" "$mirror" &&
    chroot "$rootfs" /debootstrap/debootstrap --second-stage; } >.local/podman/debootstrap.log 2>&1; then
    tail -n 20 .local/podman/debootstrap.log
    rm -rf "$rootfs"
    return 1
  fi
  rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
  mkdir -p "$rootfs/var/task" "$rootfs/var/runtime" "$rootfs/opt"
  tar -C "$rootfs" -c . | podman import --arch "$debian_arch" \
    --change 'ENV LAMBDA_TASK_ROOT=/var/task' --change 'ENV LAMBDA_RUNTIME_DIR=/var/runtime' \
    --change 'WORKDIR /var/task' --change 'CMD ["/bin/sh"]' - "$SAM_LOCAL_BASE_IMAGE" >/dev/null
  rm -rf "$rootfs"
}

# The other architecture's binaries (SAM's runtime interface emulator, the
# functions, the base image's) run through qemu-user-static, registered with
# the kernel's binfmt_misc with the F flag, so that it works inside containers
# too. The registration is the machine's and stays until it restarts.
sam_local_emulate_arch() {
  local qemu=qemu-aarch64
  [ "$SAM_LOCAL_ARCH" = x86_64 ] && qemu="qemu-x86_64"
  if [ ! -f "/usr/lib/binfmt.d/$qemu.conf" ]; then
    apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$QEMU_PACKAGE" >/dev/null
  fi
  [ -f /proc/sys/fs/binfmt_misc/register ] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
  [ -f "/proc/sys/fs/binfmt_misc/$qemu" ] || cat "/usr/lib/binfmt.d/$qemu.conf" >/proc/sys/fs/binfmt_misc/register
  echo "sam local: $SAM_LOCAL_ARCH emulated by $(qemu-${qemu#qemu-}-static --version | head -n 1)"
}

# The containers reach the host through its address on their bridge, not
# its loopback: the emulator listens on every interface (it holds only the
# local stack's dummy data), so it is not shared with a running `make dev`.
sam_local_emulator_start() {
  if (exec 3<>"/dev/tcp/127.0.0.1/$EMULATOR_PORT") 2>/dev/null; then
    echo "sam local: port $EMULATOR_PORT is in use (make dev?); set EMULATOR_PORT to another port" >&2
    return 1
  fi
  .local/venv/bin/python scripts/emulator.py serve --host 0.0.0.0 --port "$EMULATOR_PORT" >".local/emulator-$EMULATOR_PORT.log" 2>&1 &
  SAM_LOCAL_EMULATOR_PID=$!
  .local/venv/bin/python scripts/emulator.py wait --endpoint "http://127.0.0.1:$EMULATOR_PORT"
  .local/venv/bin/python scripts/emulator.py setup --endpoint "http://127.0.0.1:$EMULATOR_PORT"
  echo "sam local: emulator (DynamoDB, SES v2, Secrets Manager) on port $EMULATOR_PORT, for the functions http://$SAM_LOCAL_CONTAINER_HOST:$EMULATOR_PORT"
}

sam_local_build() {
  local lambda_dir="$CARGO_TARGET_DIR/lambda-$SAM_LOCAL_ARCH" started=$SECONDS
  local arch_flag=--x86-64
  [ "$SAM_LOCAL_ARCH" = arm64 ] && arch_flag=--arm64
  local binaries=() function
  for function in functions/*/; do binaries+=(--bin "$(basename "$function")"); done
  # target/lambda holds the arm64 build that deployments use; this one goes beside it.
  cargo lambda build --release "$arch_flag" --lambda-dir "$lambda_dir" "${binaries[@]}"
  mkdir -p "$SAM_LOCAL_DIR"
  .local/sam/bin/python scripts/sam_local.py template --lambda-dir "$lambda_dir" --out "$SAM_LOCAL_DIR/template.yaml"
  .local/sam/bin/python scripts/sam_local.py env-vars --out "$SAM_LOCAL_DIR/env-vars-$SAM_PORT.json" \
    --emulator-url "http://$SAM_LOCAL_CONTAINER_HOST:$EMULATOR_PORT" --api-url "http://127.0.0.1:$SAM_PORT"
  echo "sam local: functions built for $SAM_LOCAL_ARCH in $((SECONDS - started)) s"
  SAM_LOCAL_ARGS+=(
    --template "$SAM_LOCAL_DIR/template.yaml"
    --env-vars "$SAM_LOCAL_DIR/env-vars-$SAM_PORT.json"
    --parameter-overrides "Architecture=$SAM_LOCAL_ARCH SamLocal=true"
    # The functions' AWS_REGION: the emulator keeps its tables per region.
    --region "$AWS_REGION"
  )
}

# SAM's output goes to the terminal and to $SAM_LOG, where sam_local_stop
# finds the containers it started.
sam_local_start_api() {
  SAM_LOG=".local/sam-local-$SAM_PORT.log"
  : >"$SAM_LOG"
  # LAZY: a function's container starts on its first request and stays, as a
  # warm Lambda does; SAM removes them when it stops.
  sam local start-api "${SAM_LOCAL_ARGS[@]}" --host 127.0.0.1 --port "$SAM_PORT" --warm-containers LAZY \
    "$@" > >(tee -a "$SAM_LOG") 2>&1 &
  SAM_PID=$!
}

sam_local_stop() {
  if [ -n "${SAM_PID:-}" ]; then
    # Started in the background, SAM ignores Ctrl-C's SIGINT; on SIGTERM it
    # removes its containers (through podman's service, still running).
    kill -TERM "$SAM_PID" 2>/dev/null || true
    wait "$SAM_PID" 2>/dev/null || true
    SAM_PID=
  fi
  if [ -n "$PODMAN_SERVICE_PID" ] && [ -f "${SAM_LOG:-}" ]; then
    # Containers a failed shutdown left behind (`sam local invoke` logs too).
    local id
    sed -n 's/.*SAM_CONTAINER_ID: \([0-9a-f]*\).*/\1/p' "$SAM_LOG" | while read -r id; do
      if podman container exists "$id"; then podman rm -f "$id" >/dev/null; fi
    done
  fi
  if [ -n "$SAM_LOCAL_EMULATOR_PID" ]; then
    kill "$SAM_LOCAL_EMULATOR_PID" 2>/dev/null || true
    wait "$SAM_LOCAL_EMULATOR_PID" 2>/dev/null || true
    SAM_LOCAL_EMULATOR_PID=
  fi
  if [ -n "$PODMAN_SERVICE_PID" ]; then
    kill "$PODMAN_SERVICE_PID" 2>/dev/null || true
    wait "$PODMAN_SERVICE_PID" 2>/dev/null || true
    PODMAN_SERVICE_PID=
  fi
}
