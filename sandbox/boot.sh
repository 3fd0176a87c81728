#!/bin/bash
# Runs as PID 1 of fresh PID, mount, UTS, IPC and network namespaces (started by the Go
# harness through unshare), prepares a private view of the machine and execs systemd.
#
# Inputs (environment): SANDBOX_DIR (persistent state), SANDBOX_SHARED (host directory seen
# at the same path inside), SANDBOX_CGROUPS (cgroup directories to move into, one a line),
# SANDBOX_DOCKER (1: dockerd starts at boot), SANDBOX_REGISTRY (1: a registry on
# 127.0.0.1:443 standing in for Docker Hub and others; its files are made by the harness), SANDBOX_VENDOR_UNITS (1: a private
# /usr/lib/systemd/system in the unit path), SANDBOX_STORAGE_SIZE (the engines' storage on
# tmpfs of this size instead of directories under SANDBOX_DIR), SANDBOX_NOFILE, SANDBOX_NPROC (hard limits).
#
# What the host keeps: writes to /etc /var /srv /root /home /usr /opt land in overlay upper
# directories under SANDBOX_DIR; /run /tmp /var/tmp are tmpfs; /var/lib/containers and
# /var/lib/docker are plain directories under SANDBOX_DIR (container storage cannot sit on
# overlayfs). Systemd gets its own unit path with stand-in targets: the host's boot units
# (sysinit.target -> systemd-tmpfiles --remove) once emptied a host's /tmp.
set -euo pipefail
dir=${SANDBOX_DIR:?}
shared=${SANDBOX_SHARED:?}

# Own cgroups below the caller's, so that parallel sandboxes (and the containers they run)
# never share a systemd cgroup tree and can be removed as a whole.
while IFS= read -r cg; do
	[ -n "$cg" ] || continue
	if [ -e "$cg/cpuset.cpus" ] && [ -z "$(cat "$cg/cpuset.cpus")" ]; then
		cat "$cg/../cpuset.cpus" >"$cg/cpuset.cpus"
		cat "$cg/../cpuset.mems" >"$cg/cpuset.mems"
	fi
	echo 0 >"$cg/cgroup.procs"
done <<<"${SANDBOX_CGROUPS:-}"

mount --make-rprivate /
ip link set lo up

# Stage what must stay on the real filesystem before overlays cover its path.
mount -t tmpfs -o mode=0755 tmpfs /run
mkdir -p /run/.stage/containers /run/.stage/docker /run/.stage/shared /run/.stage/vendor-units
mkdir -p "$dir/storage/containers" "$dir/storage/docker" "$dir/vendor-units"
if [ -n "${SANDBOX_STORAGE_SIZE:-}" ]; then
	# engine storage on a filesystem of its own, small enough to fill (lost at a reboot)
	for d in containers docker; do mount -t tmpfs -o "mode=0700,size=$SANDBOX_STORAGE_SIZE" tmpfs "/run/.stage/$d"; done
else
	mount --bind "$dir/storage/containers" /run/.stage/containers
	mount --bind "$dir/storage/docker" /run/.stage/docker
fi
mount --bind "$shared" /run/.stage/shared
mount --bind "$dir/vendor-units" /run/.stage/vendor-units
# The journald units are copied before anything covers the host's unit directory.
u=/run/sandbox-units
mkdir -p "$u"
cp /lib/systemd/system/systemd-journald.service /lib/systemd/system/systemd-journald.socket "$u/"
# the host's dev-log socket would create /dev/log on the host's devtmpfs
sed '/^Symlinks=/d' /lib/systemd/system/systemd-journald-dev-log.socket >"$u/systemd-journald-dev-log.socket"

# /var last: the overlay directories live below /var on the host.
for d in etc srv root home usr opt var; do
	[ -d "/$d" ] || continue
	mkdir -p "$dir/overlay/$d/upper" "$dir/overlay/$d/work"
	mount -t overlay overlay -o "lowerdir=/$d,upperdir=$dir/overlay/$d/upper,workdir=$dir/overlay/$d/work" "/$d"
done
mkdir -p /var/lib/containers /var/lib/docker
mount --move /run/.stage/containers /var/lib/containers
mount --move /run/.stage/docker /var/lib/docker
# Hide the sandboxes' directories inside: the overlays' own upper directories are
# unreachable through the overlay (ELOOP), which would break `find /var` and the like.
base=$(dirname "$shared")
for d in "$dir" "$base"; do
	mkdir -p "$d"
	mount -t tmpfs -o mode=0755,size=1m tmpfs "$d"
done
mkdir -p "$shared"
mount --move /run/.stage/shared "$shared"
unit_path=/etc/systemd/system:/run/systemd/system:$u
if [ "${SANDBOX_VENDOR_UNITS:-}" = 1 ]; then
	# Packages install units into /usr/lib/systemd/system: a private, persistent, initially
	# empty one, so that the host's vendor units (and their .wants links) stay out.
	mount --move /run/.stage/vendor-units /usr/lib/systemd/system
	unit_path=$unit_path:/usr/lib/systemd/system
else
	umount /run/.stage/vendor-units
fi
rmdir /run/.stage/containers /run/.stage/docker /run/.stage/shared /run/.stage/vendor-units /run/.stage
for d in /tmp /var/tmp; do mount -t tmpfs -o mode=1777 tmpfs "$d"; done
mkdir -p /etc/rockon /var/lib/rockon /srv/rockon /etc/systemd/system

# The host's enabled units must not come along: a private, persistent /etc/systemd/system.
# (The marker lives in the /etc overlay itself, so it persists exactly as long as the rest.)
if [ ! -e /etc/systemd/.rockon-sandbox-cleared ]; then
	[ "$(findmnt -n -o FSTYPE /etc)" = overlay ] || { echo "boot: /etc is not the private overlay" >&2; exit 1; }
	find /etc/systemd/system -mindepth 1 -delete
	touch /etc/systemd/.rockon-sandbox-cleared
fi
# journald would read the host's kernel log (and every other sandbox's messages in it)
mkdir -p /etc/systemd/journald.conf.d
printf '[Journal]\nReadKMsg=no\n' >/etc/systemd/journald.conf.d/rockon-sandbox.conf
echo rockon-sandbox >/etc/hostname
hostname rockon-sandbox

# podman on this kind of machine: hybrid cgroups (crun refuses them, runc works) and an
# open-files hard limit below podman's default ulimits.
mkdir -p /etc/containers /etc/docker
cat >/etc/containers/containers.conf <<CONF
# written by the rockon sandbox at boot
[containers]
default_ulimits = ["nofile=${SANDBOX_NOFILE}:${SANDBOX_NOFILE}", "nproc=${SANDBOX_NPROC}:${SANDBOX_NPROC}"]
[engine]
runtime = "runc"
cgroup_manager = "systemd"
[network]
network_backend = "netavark"
CONF
# containers in systemd's tree (under this sandbox's cgroup), not in /docker at the host's root
[ -e /etc/docker/daemon.json ] || echo '{"exec-opts": ["native.cgroupdriver=systemd"]}' >/etc/docker/daemon.json

mkdir -p /run/systemd/system
unit() { printf '%b' "$2" >"$u/$1"; }
for t in sysinit basic multi-user default shutdown sockets timers paths slices local-fs local-fs-pre \
	remote-fs remote-fs-pre network network-online network-pre nss-lookup nss-user-lookup swap \
	cryptsetup time-set time-sync umount final emergency rescue getty graphical; do
	unit "$t.target" "[Unit]\nDescription=$t (rockon sandbox stand-in)\nDefaultDependencies=no\n"
done
wants="dbus.socket dbus.service systemd-journald.socket systemd-journald.service"
[ "${SANDBOX_DOCKER:-}" = 1 ] && wants="$wants docker.service"
unit sandbox.target "[Unit]\nDescription=rockon sandbox base\nDefaultDependencies=no\nWants=$wants\nAfter=$wants\n"
printf 'Wants=sandbox.target\nAfter=sandbox.target\n' >>"$u/multi-user.target"
unit exit.target "[Unit]\nDefaultDependencies=no\nRequires=systemd-exit.service\nAfter=systemd-exit.service\nAllowIsolate=yes\n"
unit systemd-exit.service "[Unit]\nDefaultDependencies=no\nRequires=shutdown.target umount.target final.target\nAfter=shutdown.target umount.target final.target\nSuccessAction=exit-force\n"
unit dbus.socket "[Unit]\nDefaultDependencies=no\n[Socket]\nListenStream=/run/dbus/system_bus_socket\n"
unit dbus.service "[Unit]\nDefaultDependencies=no\nRequires=dbus.socket\n[Service]\nExecStart=/usr/bin/dbus-daemon --system --address=systemd: --nofork --nopidfile --systemd-activation --syslog-only\nExecReload=/usr/bin/dbus-send --print-reply --system --type=method_call --dest=org.freedesktop.DBus / org.freedesktop.DBus.ReloadConfig\n"
unit docker.service "[Unit]\nDescription=Docker (rockon sandbox)\nRequires=dbus.socket\nAfter=dbus.socket systemd-journald.socket\n[Service]\nType=notify\nExecStart=/usr/sbin/dockerd -H unix:///run/docker.sock\nExecReload=/bin/kill -s HUP \$MAINPID\nDelegate=yes\nKillMode=process\nLimitNOFILE=infinity\nTimeoutStartSec=120\n"

if [ "${SANDBOX_REGISTRY:-}" = 1 ]; then
	r=/etc/rockon-sandbox-registry
	[ -s "$r/config.yml" ] || { echo "boot: no registry configuration in $r" >&2; exit 1; }
	# the names resolve to the registry; its CA is trusted system-wide (both files are in
	# the /etc overlay: the host's stay untouched)
	grep -q '# rockon sandbox registry' /etc/hosts || printf '127.0.0.1 %s # rockon sandbox registry\n' "$(cat "$r/hosts")" >>/etc/hosts
	bundle=/etc/ssl/certs/ca-certificates.crt
	grep -qF "$(sed -n 2p "$r/ca.crt")" "$bundle" || cat "$r/ca.crt" >>"$bundle"
	unit registry.service "[Unit]\nDescription=container registry (rockon sandbox)\nDefaultDependencies=no\n[Service]\nExecStart=/usr/bin/docker-registry serve $r/config.yml\nExecStartPost=/usr/bin/curl -sf -o /dev/null --retry 60 --retry-delay 1 --retry-connrefused https://registry-1.docker.io/v2/\n"
	printf 'Wants=registry.service\nAfter=registry.service\n' >>"$u/sandbox.target"
fi

export SYSTEMD_UNIT_PATH=$unit_path
exec /lib/systemd/systemd --system --unit="${SANDBOX_UNIT:-multi-user.target}" --log-target=journal --show-status=no
