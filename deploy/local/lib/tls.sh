# shellcheck shell=bash disable=SC2034 # TLS_* are used by nodes.sh and envfile.sh
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
    tls_pair_ok "$TLS_CA" "$TLS_CA_KEY" &&
    tls_pair_ok "$TLS_SERVER_CERT" "$TLS_SERVER_KEY" &&
    tls_pair_ok "$TLS_CLIENT_CERT" "$TLS_CLIENT_KEY"
}

# tls_pair_ok CERT KEY: the key belongs to the certificate, which is valid for another day.
tls_pair_ok() {
  openssl x509 -checkend 86400 -noout -in "$1" >/dev/null 2>&1 &&
    [[ $(openssl x509 -noout -pubkey -in "$1" 2>/dev/null) == $(openssl pkey -pubout -in "$2" 2>/dev/null) ]]
}

# tls_issue DIR NAME SUBJECT_CN EXTENSIONS: key + certificate signed by DIR's CA (openssl
# output goes to stdout/stderr of the caller).
tls_issue() {
  local dir=$1 name=$2 cn=$3 ext=$4
  openssl genrsa -out "$dir/$name-key.pem" 2048 &&
    openssl req -new -key "$dir/$name-key.pem" -subj "/CN=$cn" -out "$dir/$name.csr" &&
    printf '%s\n' "$ext" >"$dir/$name.ext" &&
    openssl x509 -req -in "$dir/$name.csr" -CA "$dir/ca.pem" -CAkey "$dir/ca-key.pem" -CAcreateserial \
      -days "$TLS_DAYS" -sha256 -extfile "$dir/$name.ext" -out "$dir/$name-cert.pem" &&
    rm -f "$dir/$name.csr" "$dir/$name.ext"
}

# tls_generate DIR: a CA, server and client material in DIR (names as in TLS_* above).
tls_generate() {
  local dir=$1
  umask 077
  openssl genrsa -out "$dir/ca-key.pem" 2048 &&
    openssl req -x509 -new -key "$dir/ca-key.pem" -sha256 -days "$TLS_DAYS" -subj "/CN=testbed-rig-ca" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
      -out "$dir/ca.pem" &&
    tls_issue "$dir" server localhost "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth
subjectAltName=IP:127.0.0.1,DNS:localhost" &&
    tls_issue "$dir" client testbed-platform "basicConstraints=CA:FALSE
keyUsage=critical,digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth" &&
    mv "$dir/client-cert.pem" "$dir/cert.pem" &&
    mv "$dir/client-key.pem" "$dir/key.pem" &&
    chmod 644 "$dir/ca.pem" "$dir/server-cert.pem" "$dir/cert.pem"
}

# Set to 1 when this run made new certificates: running daemons must then be restarted.
TLS_CHANGED=0

tls_up() {
  command -v openssl >/dev/null || ensure_pkgs openssl
  if tls_valid; then
    log "tls: certificates present in $TLS_DIR"
    return 0
  fi
  local t0 tmp="$TLS_DIR.new"
  t0=$(now_ms)
  rm -rf "$tmp"
  install -d -m 700 "$tmp"
  (tls_generate "$tmp") >"$STATE_DIR/openssl.log" 2>&1 ||
    fail_component tls "generating certificates failed" "$STATE_DIR/openssl.log"
  rm -rf "$TLS_DIR"
  mv "$tmp" "$TLS_DIR"
  tls_valid || die "tls: the generated certificates do not verify"
  TLS_CHANGED=1
  log "tls: generated CA, server and client certificates in $TLS_DIR ($(elapsed_since "$t0"))"
}
