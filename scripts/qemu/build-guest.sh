#!/usr/bin/env bash
# Builds a tiny QEMU guest for the KVM-bridge test: the Debian kernel (unpacked, not installed)
# and a busybox initramfs whose /init brings up eth0 from the kernel command line
# (tb.ip=, tb.target=, tb.count=), waits for the target, says TB-READY on the serial console,
# pings it tb.count times 20 ms apart, prints the summary and powers off.
# Needs: qemu-system-x86 busybox-static (apt). Output: $TB_GUEST_DIR (default /tmp/tapbond-guest).
set -euo pipefail
OUT=${TB_GUEST_DIR:-/tmp/tapbond-guest}
[[ -s $OUT/vmlinuz && -s $OUT/initrd.gz && -z ${FORCE:-} ]] && { echo "$OUT ready"; exit 0; }
BB=$(command -v busybox) || { echo "build-guest: needs busybox-static" >&2; exit 1; }
W=$(mktemp -d /tmp/tapbond-guest-build.XXXXXX)
trap 'rm -rf "$W"' EXIT
PKG=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-/{print $2; exit}')
(cd "$W" && apt-get download "$PKG" >/dev/null 2>&1) || { echo "build-guest: apt-get download $PKG failed (apt-get update?)" >&2; exit 1; }
dpkg-deb -x "$W"/"$PKG"_*.deb "$W/k"
VER=${PKG#linux-image-}
MODS="$W/k/lib/modules/$VER/kernel"
R="$W/root"
mkdir -p "$R"/{bin,proc,sys,dev,mod}
cp "$BB" "$R/bin/busybox"
for m in drivers/virtio/virtio_ring drivers/virtio/virtio drivers/virtio/virtio_pci_modern_dev \
         drivers/virtio/virtio_pci_legacy_dev drivers/virtio/virtio_pci net/core/failover \
         drivers/net/net_failover drivers/net/virtio_net; do
  f=$(ls "$MODS/$m".ko* 2>/dev/null | head -1)
  [[ -n $f ]] || { echo "build-guest: module $m missing" >&2; exit 1; }
  case $f in *.xz) xz -dc "$f" > "$R/mod/$(basename "$m").ko" ;; *) cp "$f" "$R/mod/$(basename "$m").ko" ;; esac
done
cat > "$R/init" <<'INIT'
#!/bin/busybox sh
/bin/busybox --install -s /bin
mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev
for m in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci failover net_failover virtio_net; do
  insmod /mod/$m.ko 2>/dev/null
done
for w in $(cat /proc/cmdline); do
  case $w in tb.ip=*) IP=${w#tb.ip=};; tb.target=*) T=${w#tb.target=};; tb.count=*) N=${w#tb.count=};; esac
done
i=0; while [ ! -e /sys/class/net/eth0 ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done
ip link set lo up; ip link set eth0 up; ip addr add "$IP" dev eth0
i=0; while ! ping -c1 -W1 "$T" >/dev/null 2>&1 && [ $i -lt 30 ]; do i=$((i+1)); done
echo "TB-READY $(cat /sys/class/net/eth0/address)"
ping -c "${N:-300}" -i 0.02 -W 1 "$T" | tail -2
echo "TB-DONE"
poweroff -f
INIT
chmod +x "$R/init"
mkdir -p "$OUT"
(cd "$R" && find . | busybox cpio -o -H newc 2>/dev/null | gzip -1) > "$OUT/initrd.gz"
cp "$W/k/boot/vmlinuz-$VER" "$OUT/vmlinuz"
echo "$OUT ready ($PKG)"
