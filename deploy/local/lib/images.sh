# shellcheck shell=bash
# Base images built here (no registry is reachable) and imported into the nodes:
#   testbed/busybox     Debian's busybox-static with a link per applet (sh, sleep, ip, ...)
#   testbed/debian-ssh  debootstrap minbase bookworm + openssh-server, iproute2
#   testbed/node:20     debootstrap minbase bookworm + this machine's own Node 20 binary, the base of
#                       the service images built here (services/*/Dockerfile, ARG NODE_IMAGE); on
#                       node1 only, the daemon that builds them (test/images)
# Root filesystem tarballs are cached in .cache/images (the Node base, keyed by the binary, in
# ${XDG_CACHE_HOME:-~/.cache}/testbed/images: outside the clone, so a fresh clone reuses it);
# imports are skipped when the image exists.

IMAGE_CACHE="$CACHE_DIR/images"
BUSYBOX_TAR="$IMAGE_CACHE/busybox-rootfs.tar"
DEBIAN_SSH_TAR="$IMAGE_CACHE/debian-ssh-rootfs.tar"
DEBIAN_SUITE=bookworm
NODE_BASE_IMAGE=testbed/node:20
NODE_BASE_NODE=1
NODE_BASE_CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/testbed/images"

# The Debian mirror apt uses here (deb822 .sources first, then sources.list).
debian_mirror() {
  local url=""
  url=$(grep -hsE '^\s*URIs:' /etc/apt/sources.list.d/*.sources 2>/dev/null |
    awk '{print $2}' | grep -v -- '-security' | head -n 1 || true)
  if [[ -z $url ]]; then
    url=$(cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
      awk '$1 == "deb" && $0 !~ /security/ {for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) {print $i; exit}}' || true)
  fi
  printf '%s' "${url:-http://deb.debian.org/debian}"
}

build_busybox_tar() {
  [[ -s $BUSYBOX_TAR ]] && return 0
  ensure_pkgs busybox-static
  local bb root applet
  bb=$(dpkg -L busybox-static | grep -E '/bin/busybox$' | head -n 1)
  [[ -x $bb ]] || die "images: busybox binary of busybox-static not found"
  root=$(mktemp -d "$IMAGE_CACHE/busybox.XXXXXX")
  mkdir -p "$root"/{bin,sbin,etc,dev,proc,sys,tmp,root,run,var}
  chmod 1777 "$root/tmp"
  cp "$bb" "$root/bin/busybox"
  for applet in $("$bb" --list); do
    [[ $applet == busybox ]] || ln -sf busybox "$root/bin/$applet"
  done
  printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$root/etc/passwd"
  printf 'root:x:0:\nnogroup:x:65534:\n' >"$root/etc/group"
  tar --numeric-owner -C "$root" -cf "$BUSYBOX_TAR.tmp" .
  mv "$BUSYBOX_TAR.tmp" "$BUSYBOX_TAR"
  rm -rf "$root"
  log "images: built busybox rootfs ($(du -h "$BUSYBOX_TAR" | cut -f1))"
}

# Unmount what debootstrap may leave mounted inside ROOT after a failure.
unmount_below() {
  local root=$1 m
  awk -v r="$root/" 'index($2, r) == 1 {print $2}' /proc/mounts | sort -r | while read -r m; do
    umount -l "$m" 2>/dev/null || true
  done
}

# debootstrap_rootfs NAME [PACKAGE,...]: a minbase bookworm in a new folder under the image cache
# (printed), with nothing mounted below it and no package cache, devices or runtime files left.
debootstrap_rootfs() {
  local name=$1 include=${2:-} root mirror rc=0
  mirror=$(debian_mirror)
  root=$(mktemp -d "$IMAGE_CACHE/$name.XXXXXX")
  log "images: debootstrap $DEBIAN_SUITE for $name from $mirror (about a minute, once)" >&2
  debootstrap --variant=minbase ${include:+--include=$include} "$DEBIAN_SUITE" "$root" "$mirror" \
    >"$STATE_DIR/debootstrap.log" 2>&1 || rc=$?
  unmount_below "$root"
  if awk -v r="$root/" 'index($2, r) == 1 {found = 1} END {exit !found}' /proc/mounts; then
    die "images: mounts remain below $root after debootstrap: unmount them, then remove the folder"
  fi
  if ((rc != 0)); then
    cp "$root/debootstrap/debootstrap.log" "$STATE_DIR/debootstrap-inner.log" 2>/dev/null || true
    rm -rf "$root"
    fail_component images "debootstrap failed (exit $rc)" "$STATE_DIR/debootstrap.log"
  fi
  rm -rf "${root:?}"/var/cache/apt/archives/*.deb "${root:?}"/var/lib/apt/lists/* "${root:?}"/dev/* "${root:?}"/run/*
  printf '%s' "$root"
}

build_debian_ssh_tar() {
  [[ -s $DEBIAN_SSH_TAR ]] && return 0
  local root t0
  t0=$(now_ms)
  ensure_pkgs debootstrap
  root=$(debootstrap_rootfs debian-ssh openssh-server,iproute2)
  # Each container makes its own host keys (ssh-keygen -A); sshd needs /run/sshd.
  rm -f "${root:?}"/etc/ssh/ssh_host_*
  mkdir -p "$root/run/sshd" "$root/root/.ssh"
  chmod 700 "$root/root/.ssh"
  printf 'testbed\n' >"$root/etc/hostname"
  tar --numeric-owner -C "$root" -cf "$DEBIAN_SSH_TAR.tmp" .
  mv "$DEBIAN_SSH_TAR.tmp" "$DEBIAN_SSH_TAR"
  rm -rf "$root"
  log "images: built debian-ssh rootfs ($(du -h "$DEBIAN_SSH_TAR" | cut -f1), $(elapsed_since "$t0"))"
}

# ---- testbed/node:20 -----------------------------------------------------------------------------

# This machine's Node binary (the one the rig's tests run): Node 20, or the rig refuses.
node_base_binary() {
  local bin version
  bin=$(command -v node) || die "images: no node on PATH (the base image of the services is this machine's Node 20)"
  bin=$(readlink -f "$bin")
  version=$("$bin" --version)
  [[ $version == v20.* ]] || die "images: $bin is Node $version; the services' base image needs Node 20"
  printf '%s' "$bin"
}

# What the image is made of: Node's version and the binary's digest (another binary, another image).
node_base_key() {
  local bin=$1
  printf '%s-%s-%s' "$("$bin" --version | tr -d v)" "$(sha256sum "$bin" | cut -c1-12)" "$DEBIAN_SUITE"
}

# build_node_base_tar BINARY KEY: a minbase bookworm with BINARY as /usr/local/bin/node (where the
# official node images keep it), cached under the key.
build_node_base_tar() {
  local bin=$1 key=$2 tarball root t0 missing
  tarball="$NODE_BASE_CACHE/node-$key-rootfs.tar"
  [[ -s $tarball ]] && return 0
  mkdir -p "$NODE_BASE_CACHE"
  t0=$(now_ms)
  ensure_pkgs debootstrap
  root=$(debootstrap_rootfs node-base)
  install -m 0755 "$bin" "$root/usr/local/bin/node"
  # Every library the binary links against must be in the image (libstdc++ and libgcc_s are,
  # through apt): the image's own ldd says, then the binary must run there (a binary built
  # against a newer glibc than bookworm's fails here, not in a container).
  missing=$(chroot "$root" /usr/bin/ldd /usr/local/bin/node 2>&1 | grep -F 'not found' || true)
  if [[ -n $missing ]]; then
    rm -rf "$root"
    die "images: $bin needs libraries a minbase $DEBIAN_SUITE does not have: $missing"
  fi
  if ! chroot "$root" /usr/local/bin/node -e 'require("node:zlib").gzipSync("x")' >"$STATE_DIR/node-base.log" 2>&1; then
    rm -rf "$root"
    fail_component images "$bin does not run in a minbase $DEBIAN_SUITE" "$STATE_DIR/node-base.log"
  fi
  # Documentation, manuals and translations: nothing in the image reads them.
  rm -rf "${root:?}"/usr/share/doc/* "${root:?}"/usr/share/man/* "${root:?}"/usr/share/info/* \
    "${root:?}"/usr/share/locale/* "${root:?}"/var/log/*.log "${root:?}"/var/cache/debconf/*-old
  tar --numeric-owner -C "$root" -cf "$tarball.tmp" .
  mv "$tarball.tmp" "$tarball"
  rm -rf "$root"
  # The tarballs of binaries this machine no longer has.
  find "$NODE_BASE_CACHE" -maxdepth 1 -name 'node-*-rootfs.tar' ! -name "node-$key-rootfs.tar" -delete
  log "images: built the Node base rootfs ($(du -h "$tarball" | cut -f1), $(elapsed_since "$t0"))"
}

# testbed/node:20 on the node that builds the service images; imported again when this machine's
# Node binary changes (the image's TESTBED_NODE_BASE names the key it was made from).
node_base_up() {
  local n=$NODE_BASE_NODE bin key have version
  bin=$(node_base_binary)
  key=$(node_base_key "$bin")
  have=$(node_docker "$n" --timeout 20 image inspect --format '{{range .Config.Env}}{{println .}}{{end}}' \
    "$NODE_BASE_IMAGE" 2>/dev/null | sed -n 's/^TESTBED_NODE_BASE=//p' || true)
  [[ $have == "$key" ]] && return 0
  build_node_base_tar "$bin" "$key"
  version=$("$bin" --version | tr -d v)
  node_docker "$n" --timeout 300 import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change "ENV NODE_VERSION=$version" \
    --change "ENV TESTBED_NODE_BASE=$key" \
    --change 'CMD ["node"]' \
    "$NODE_BASE_CACHE/node-$key-rootfs.tar" "$NODE_BASE_IMAGE" >/dev/null ||
    fail_component "node$n" "importing $NODE_BASE_IMAGE failed" "$(node_dir "$n")/dockerd.log"
  IMPORTED+=("node$n:$NODE_BASE_IMAGE")
}

# import_image NODE NAME TARBALL CMD_JSON
import_image() {
  local n=$1 name=$2 tarball=$3 cmd=$4
  if node_docker "$n" --timeout 20 image inspect "$name" >/dev/null 2>&1; then return 0; fi
  node_docker "$n" --timeout 300 import --change "CMD $cmd" "$tarball" "$name" >/dev/null ||
    fail_component "node$n" "importing $name failed" "$(node_dir "$n")/dockerd.log"
  IMPORTED+=("node$n:$name")
}

images_up() {
  local t0 n
  t0=$(now_ms)
  mkdir -p "$IMAGE_CACHE"
  build_busybox_tar
  build_debian_ssh_tar
  IMPORTED=()
  for n in "${NODES[@]}"; do
    import_image "$n" testbed/busybox "$BUSYBOX_TAR" '["sh"]'
    import_image "$n" testbed/debian-ssh "$DEBIAN_SSH_TAR" '["/bin/bash"]'
  done
  node_base_up
  if ((${#IMPORTED[@]})); then
    log "images: imported ${IMPORTED[*]} ($(elapsed_since "$t0"))"
  else
    log "images: testbed/busybox and testbed/debian-ssh present on every node, $NODE_BASE_IMAGE on node$NODE_BASE_NODE"
  fi
}

images_status() {
  local n name missing=()
  for n in "${NODES[@]}"; do
    for name in testbed/busybox testbed/debian-ssh; do
      node_docker "$n" --timeout 10 image inspect "$name" >/dev/null 2>&1 || missing+=("node$n:$name")
    done
  done
  node_docker "$NODE_BASE_NODE" --timeout 10 image inspect "$NODE_BASE_IMAGE" >/dev/null 2>&1 ||
    missing+=("node$NODE_BASE_NODE:$NODE_BASE_IMAGE")
  if ((${#missing[@]})); then
    printf '%-10s DOWN  missing %s\n' images "${missing[*]}"
    return 1
  fi
  printf '%-10s up    testbed/busybox, testbed/debian-ssh on node%s; %s on node%s\n' images "$(
    IFS=,
    echo "${NODES[*]}"
  )" "$NODE_BASE_IMAGE" "$NODE_BASE_NODE"
}
