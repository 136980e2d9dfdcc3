# shellcheck shell=bash
# deploy/local/.env: what tests and `npm run start:services` need to reach the rig
# (KEY=value lines, no quotes).

env_contents() {
  local n
  printf '# written by deploy/local/stack.sh: the local test rig (see deploy/local/README.md)\n'
  printf 'DATABASE_URL=postgresql://%s:%s@127.0.0.1:%s/%s\n' "$PG_USER" "$PG_PASSWORD" "$PG_PORT" "$PG_DB"
  printf 'KAFKA_BROKERS=127.0.0.1:%s\n' "$KAFKA_PORT"
  printf 'TESTBED_REGISTRY=%s\n' "$REGISTRY_ADDR"
  printf 'TESTBED_NODES=%s\n' "$(
    IFS=,
    printf '%s' "${NODES[*]/#/node}"
  )"
  for n in "${NODES[@]}"; do
    printf 'NODE%s_DOCKER_HOST=tcp://127.0.0.1:%s\n' "$n" "$(node_port "$n")"
    printf 'NODE%s_DOCKER_SOCKET=%s\n' "$n" "$(node_socket "$n")"
    printf 'NODE%s_MACVLAN_PARENT=%s\n' "$n" "$(node_parent "$n")"
    printf 'NODE%s_CGROUP_PARENT=/testbed-node%s\n' "$n" "$n"
  done
  printf 'DOCKER_TLS_CA=%s\n' "$TLS_CA"
  printf 'DOCKER_TLS_CERT=%s\n' "$TLS_CLIENT_CERT"
  printf 'DOCKER_TLS_KEY=%s\n' "$TLS_CLIENT_KEY"
  # Not OTEL_EXPORTER_OTLP_ENDPOINT: tests merge this file into their environment (rigEnv) and
  # every process they start would then export its spans to Jaeger.
  printf 'JAEGER_OTLP_ENDPOINT=%s\n' "$JAEGER_OTLP_URL"
  printf 'JAEGER_QUERY_URL=%s\n' "$JAEGER_QUERY_URL"
}

# Rewrite .env only when its contents change.
env_up() {
  local tmp
  tmp=$(mktemp "$ENV_FILE.XXXXXX")
  env_contents >"$tmp"
  if [[ -f $ENV_FILE ]] && cmp -s "$tmp" "$ENV_FILE"; then
    rm -f "$tmp"
    log "env: $ENV_FILE up to date"
  else
    chmod 644 "$tmp"
    mv "$tmp" "$ENV_FILE"
    log "env: wrote $ENV_FILE"
  fi
}
