#!/usr/bin/env bash
# `nestvm container run` refuses what it cannot run, on any host, before a
# VM starts: each with one line naming the problem and exit status 2 (a
# missing root, a bad -v, nonsense sizes, a hostile or broken bundle: a
# config.json that does not parse, lies about types, asks for a mount a VM
# cannot give, names a device as a bind source, is a symlink or is huge).
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
NV=${NESTVM:-build/nestvm}
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT
mkdir -p "$T/rootfs" "$T/b/rootfs" "$T/data"

t_expect "container --help lists run and its options" 0 '^  -v, --volume HOST:CTR' -- "$NV" container --help
t_bad "container with no command" 'usage: nestvm container run' "$NV" container
t_bad "an unknown container command" "container: unknown command 'start' \(only run\)" "$NV" container start x
t_bad "container run with no root" 'give a root filesystem or a bundle' "$NV" container run
t_bad "a root that is not there" "^nestvm: $T/none: not a folder" "$NV" container run "$T/none" true
t_bad "a root that is a file" 'not a folder' "$NV" container run /etc/hostname true
t_bad "-v without a container path" "-v '/tmp': give HOST-FOLDER:CONTAINER-PATH" "$NV" container run -v /tmp "$T/rootfs" true
t_bad "-v with a relative path" 'both paths must be absolute' "$NV" container run -v data:/data "$T/rootfs" true
t_bad "-v with a bad mode" "'rw2' is not ro or rw" "$NV" container run -v "$T/data:/data:rw2" "$T/rootfs" true
t_bad "-v of a missing folder" "mount /data: its source '$T/nope'" "$NV" container run -v "$T/nope:/data" "$T/rootfs" true
t_bad "-v of a device" 'neither a folder nor a regular file' "$NV" container run -v /dev/null:/x "$T/rootfs" true
vs=()
for i in 1 2 3 4 5 6 7 8; do vs+=(-v "$T/data:/d$i"); done
t_bad "eight -v folders (the root takes a share)" 'a VM has 8 shared folders at most' "$NV" container run "${vs[@]}" "$T/rootfs" true
t_bad "--memory nonsense" "--memory 'lots': give a size from 16M to 1T" "$NV" container run --memory lots "$T/rootfs" true
t_bad "--memory too small" "--memory '1M'" "$NV" container run --memory 1M "$T/rootfs" true
t_bad "--cpus 0" "--cpus '0'" "$NV" container run --cpus 0 "$T/rootfs" true
t_bad "an unknown option" "unknown option '--privileged'" "$NV" container run --privileged "$T/rootfs" true

cfg() { printf '%s' "$1" >"$T/b/config.json"; }
proc='"process":{"user":{"uid":0,"gid":0},"args":["/bin/true"],"cwd":"/"}'
cfg '{"ociVersion": "1.0.2", '
t_bad "a config.json cut short" 'config.json' "$NV" container run "$T/b"
cfg '{"ociVersion":"1.0.2",'"$proc"',"root":{"path":"rootfs"},"mounts":[{"destination":"/x","type":"overlay","source":"o"}]}'
t_bad "a mount type a VM cannot give" "mount /x: the type 'overlay' cannot be mounted in a VM" "$NV" container run "$T/b"
cfg '{"ociVersion":"1.0.2",'"$proc"',"root":{"path":"rootfs"},"mounts":[{"destination":"/x","type":"bind","source":"/dev/zero","options":["rbind"]}]}'
t_bad "a bundle binding a device" 'neither a folder nor a regular file' "$NV" container run "$T/b"
cfg '{"ociVersion":"1.0.2","process":{"user":{"uid":0,"gid":0},"args":"/bin/true","cwd":"/"},"root":{"path":"rootfs"}}'
t_bad "process.args that is not a list" 'process.args' "$NV" container run "$T/b"
cfg '{"ociVersion":"1.0.2",'"$proc"',"root":{"path":"../../../../../nonexistent"}}'
t_bad "a root path that leads nowhere" 'the root filesystem' "$NV" container run "$T/b"
ln -sf /etc/hostname "$T/b/link.json" && rm -f "$T/b/config.json" && ln -s link.json "$T/b/config.json"
t_bad "a config.json that is a symlink" 'config.json' "$NV" container run "$T/b"
rm -f "$T/b/config.json" && head -c $((5 << 20)) /dev/zero | tr '\0' ' ' >"$T/b/config.json"
t_bad "a config.json of 5 MiB" 'config.json: too large' "$NV" container run "$T/b"
t_summary
