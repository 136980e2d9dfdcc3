# shellcheck shell=bash
# TLS material for the Docker daemons' TCP endpoints (.state/tls): one CA, a server
# certificate for 127.0.0.1/localhost, a client certificate for the platform. File names follow
# Docker's convention (ca.pem, cert.pem, key.pem), so DOCKER_CERT_PATH=.state/tls works with
# the docker CLI too.

TLS_DIR="$STATE_DIR/tls"
TLS_CA="$TLS_DIR/ca.pem"
TLS_CA_KEY="$TLS_DIR/ca-key.pem"
TLS_SERVER_CERT="$TLS_DIR/server-cert.pem"
TLS_SERVER_KEY="$TLS_DIR/server-key.pem"
TLS_CLIENT_CERT="$TLS_DIR/cert.pem"
TLS_CLIENT_KEY="$TLS_DIR/key.pem"
TLS_DAYS=3650

tls_valid() {
  local f
  for f in "$TLS_CA" "$TLS_CA_KEY" "$TLS_SERVER_CERT" "$TLS_SERVER_KEY" "$TLS_CLIENT_CERT" "$TLS_CLIENT_KEY"; do
    [[ -s $f ]] || return 1
  done
  openssl verify -CAfile "$TLS_CA" "$TLS_SERVER_CERT" "$TLS_CLIENT_CERT" >/dev/null 2>&1 &&
    openssl x509 -checkend 86400 -noout -in "$TLS_SERVER_CERT" >/dev/null 2>&1 &&
    openssl x509 -checkend 86400 -noout -in "$TLS_CLIENT_CERT" >/dev/null 2>&1
}

# tls_issue NAME SUBJECT_CN EXTENSIONS: key + certificate signed by the CA (openssl output
# goes to stdout/stderr of the caller).
tls_issue() {
  local name=$1 cn=$2 ext=$3
  openssl genrsa -out "$TLS_DIR/$name-key.pem" 2048 &&
    openssl req -new -key "$TLS_DIR/$name-key.pem" -subj "/CN=$cn" -out "$TLS_DIR/$name.csr" &&
    printf '%s\n' "$ext" >"$TLS_DIR/$name.ext" &&
    openssl x509 -req -in "$TLS_DIR/$name.csr" -CA "$TLS_CA" -CAkey "$TLS_CA_KEY" -CAcreateserial \
      -days "$TLS_DAYS" -sha256 -extfile "$TLS_DIR/$name.ext" -out "$TLS_DIR/$name-cert.pem" &&
    rm -f "$TLS_DIR/$name.csr" "$TLS_DIR/$name.ext"
}

tls_generate() {
  umask 077
  openssl genrsa -out "$TLS_CA_KEY" 2048 &&
    openssl req -x509 -new -key "$TLS_CA_KEY" -sha256 -days "$TLS_DAYS" -subj "/CN=testbed-rig-ca" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
      -out "$TLS_CA" &&
    tls_issue server localhost "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,DNS:localhost" &&
    tls_issue client testbed-platform "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth" &&
    mv "$TLS_DIR/client-cert.pem" "$TLS_CLIENT_CERT" &&
    mv "$TLS_DIR/client-key.pem" "$TLS_CLIENT_KEY" &&
    chmod 644 "$TLS_CA" "$TLS_SERVER_CERT" "$TLS_CLIENT_CERT"
}

tls_up() {
  command -v openssl >/dev/null || ensure_pkgs openssl
  if tls_valid; then
    log "tls: certificates present in $TLS_DIR"
    return 0
  fi
  local t0
  t0=$(now_ms)
  rm -rf "$TLS_DIR"
  install -d -m 700 "$TLS_DIR"
  (tls_generate) >"$STATE_DIR/openssl.log" 2>&1 ||
    fail_component tls "generating certificates failed" "$STATE_DIR/openssl.log"
  tls_valid || die "tls: the generated certificates do not verify"
  log "tls: generated CA, server and client certificates in $TLS_DIR ($(elapsed_since "$t0"))"
}
