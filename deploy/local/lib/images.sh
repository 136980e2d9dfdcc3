# shellcheck shell=bash
# Base images built here (no registry is reachable) and imported into every node:
#   testbed/busybox     Debian's busybox-static with a link per applet (sh, sleep, ip, ...)
#   testbed/debian-ssh  debootstrap minbase bookworm + openssh-server, iproute2
# Root filesystem tarballs are cached in .cache/images; imports are skipped when the image exists.

IMAGE_CACHE="$CACHE_DIR/images"
BUSYBOX_TAR="$IMAGE_CACHE/busybox-rootfs.tar"
DEBIAN_SSH_TAR="$IMAGE_CACHE/debian-ssh-rootfs.tar"
DEBIAN_SUITE=bookworm

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

build_debian_ssh_tar() {
  [[ -s $DEBIAN_SSH_TAR ]] && return 0
  ensure_pkgs debootstrap
  local root mirror t0 rc=0
  t0=$(now_ms)
  mirror=$(debian_mirror)
  root=$(mktemp -d "$IMAGE_CACHE/debian-ssh.XXXXXX")
  log "images: debootstrap $DEBIAN_SUITE from $mirror (about a minute, once)"
  debootstrap --variant=minbase --include=openssh-server,iproute2 "$DEBIAN_SUITE" "$root" "$mirror" \
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
  # Each container makes its own host keys (ssh-keygen -A); sshd needs /run/sshd.
  rm -f "${root:?}"/etc/ssh/ssh_host_*
  rm -rf "${root:?}"/var/cache/apt/archives/*.deb "${root:?}"/var/lib/apt/lists/* "${root:?}"/dev/* "${root:?}"/run/*
  mkdir -p "$root/run/sshd" "$root/root/.ssh"
  chmod 700 "$root/root/.ssh"
  printf 'testbed\n' >"$root/etc/hostname"
  tar --numeric-owner -C "$root" -cf "$DEBIAN_SSH_TAR.tmp" .
  mv "$DEBIAN_SSH_TAR.tmp" "$DEBIAN_SSH_TAR"
  rm -rf "$root"
  log "images: built debian-ssh rootfs ($(du -h "$DEBIAN_SSH_TAR" | cut -f1), $(elapsed_since "$t0"))"
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
  if ((${#IMPORTED[@]})); then
    log "images: imported ${IMPORTED[*]} ($(elapsed_since "$t0"))"
  else
    log "images: testbed/busybox and testbed/debian-ssh present on every node"
  fi
}

images_status() {
  local n name missing=()
  for n in "${NODES[@]}"; do
    for name in testbed/busybox testbed/debian-ssh; do
      node_docker "$n" --timeout 10 image inspect "$name" >/dev/null 2>&1 || missing+=("node$n:$name")
    done
  done
  if ((${#missing[@]})); then
    printf '%-10s DOWN  missing %s\n' images "${missing[*]}"
    return 1
  fi
  printf '%-10s up    testbed/busybox, testbed/debian-ssh on node%s\n' images "$(
    IFS=,
    echo "${NODES[*]}"
  )"
}
