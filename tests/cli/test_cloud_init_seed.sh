#!/usr/bin/env bash
# The cloud-init NoCloud seed (--user-data, --ssh-key, --hostname), on this
# host (no KVM needed: the VMs stay Off): a named VM's seed in its folder is
# an ISO 9660 image with volume id cidata, Rock Ridge and Joliet, holding the
# user's user-data byte for byte (or a generated #cloud-config) and a
# meta-data with a stable instance id; `vm set` makes it again from the
# copies it keeps; bad input is one line, status 2, and creates nothing.
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
NV=${NESTVM:-build/nestvm}
case $NV in /*) ;; *) NV=$PWD/$NV ;; esac
T=$(mktemp -d)
export NESTVM_HOME=$T/home
trap 'rm -rf "$T"' EXIT
for tool in genisoimage isoinfo; do
	command -v $tool >/dev/null ||
		{ t_not_ok "$tool is installed (scripts/setup: genisoimage)" "missing"; t_summary; exit 1; }
done
cd "$T"
KEY='ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIA8YHIBx8Dktr7A1xi587AnCevN7W2l6H9f8qIZ4BeB8 me@host'
printf '%s\n' "$KEY" >key.pub
printf -- '-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ==\n-----END OPENSSH PRIVATE KEY-----\n' >key
printf '#cloud-config\npackages: [htop]\nruncmd:\n  - [ sh, -c, "echo ok > /run/nestvm-seed" ]\n' >user-data.yaml
SEED=$NESTVM_HOME/vms/web/cloud-init/seed.iso

# iso FILE: FILE of the seed, as Rock Ridge names it.
iso() { isoinfo -R -x "/$1" -i "$SEED"; }

t_expect "vm create with --user-data, --ssh-key, --hostname" 0 '^VM web created' -- \
	"$NV" vm create web --user-data user-data.yaml --ssh-key key.pub --hostname web1.example
info=$(isoinfo -d -i "$SEED" 2>&1)
printf '%s\n' "$info" | grep -q '^Volume id: cidata$' && t_ok "the seed's volume id is cidata" ||
	t_not_ok "the seed's volume id is cidata" "$(printf '%s' "$info" | head -n 8 | tr '\n' '|')"
printf '%s\n' "$info" | grep -q 'Rock Ridge' && printf '%s\n' "$info" | grep -q 'Joliet' &&
	t_ok "the seed has Rock Ridge and Joliet" || t_not_ok "the seed has Rock Ridge and Joliet" "$info"
names=$(isoinfo -R -f -i "$SEED" | sort | tr '\n' ' ')
[ "$names" = "/meta-data /user-data " ] && t_ok "the seed holds meta-data and user-data" ||
	t_not_ok "the seed holds meta-data and user-data" "it holds: $names"
iso user-data | cmp -s - user-data.yaml && t_ok "user-data is the user's file byte for byte" ||
	t_not_ok "user-data is the user's file byte for byte" "$(iso user-data | head -n 3 | tr '\n' '|')"
meta=$(iso meta-data)
id=$(printf '%s\n' "$meta" | sed -n 's/^instance-id: "\(nestvm-web-[0-9a-f]\{16\}\)"$/\1/p')
[ -n "$id" ] && t_ok "meta-data has the VM's instance id ($id)" || t_not_ok "meta-data has an instance id" "$meta"
printf '%s\n' "$meta" | grep -qx 'local-hostname: "web1.example"' && t_ok "meta-data has local-hostname" ||
	t_not_ok "meta-data has local-hostname" "$meta"
# With the user's own user-data, the key goes in meta-data's public-keys.
printf '%s\n' "$meta" | grep -A1 -x 'public-keys:' | grep -qxF "  - \"$KEY\"" &&
	t_ok "the key is in meta-data's public-keys (the user's user-data is left alone)" ||
	t_not_ok "the key is in meta-data's public-keys" "$meta"
show=$("$NV" vm show web)
printf '%s\n' "$show" | grep -Eq "^CloudInitHostname +: web1.example$" &&
	printf '%s\n' "$show" | grep -Eq "^CloudInitSeed +: $SEED \(readonly" &&
	printf '%s\n' "$show" | grep -Eq "^CloudInitUserData +: $T/user-data.yaml$" &&
	t_ok "vm show shows the settings" || t_not_ok "vm show shows the settings" "$(printf '%s' "$show" | grep CloudInit | tr '\n' '|')"
"$NV" vm show web --json | grep -q '"instance_id": *"'"$id"'"' && t_ok "vm show --json has cloud_init" ||
	t_not_ok "vm show --json has cloud_init" "$("$NV" vm show web --json | grep -A6 cloud_init | tr '\n' ' ')"

# vm set: made again from the copies kept in the VM's folder (the user's
# file may be gone); the instance id stays.
rm user-data.yaml key.pub
t_expect "vm set --hostname" 0 "CloudInitSeed $SEED \(made again\)" -- "$NV" vm set web --hostname web2
meta=$(iso meta-data)
printf '%s\n' "$meta" | grep -qx "instance-id: \"$id\"" && printf '%s\n' "$meta" | grep -qx 'local-hostname: "web2"' &&
	t_ok "the new host name, the same instance id" || t_not_ok "the new host name, the same instance id" "$meta"
iso user-data | grep -q 'echo ok > /run/nestvm-seed' && t_ok "the user-data again, from the VM's copy" ||
	t_not_ok "the user-data again, from the VM's copy" "$(iso user-data | tr '\n' '|')"
t_expect "vm set --user-data none" 0 'made again' -- "$NV" vm set web --user-data none
ud=$(iso user-data)
[ "$(printf '%s\n' "$ud" | head -n 1)" = "#cloud-config" ] &&
	printf '%s\n' "$ud" | grep -qx 'hostname: "web2"' &&
	printf '%s\n' "$ud" | grep -A1 -x 'ssh_authorized_keys:' | grep -qxF "  - \"$KEY\"" &&
	t_ok "without user-data, a generated #cloud-config with hostname and ssh_authorized_keys" ||
	t_not_ok "a generated #cloud-config" "$(printf '%s' "$ud" | tr '\n' '|')"
iso meta-data | grep -q 'public-keys' && t_not_ok "no public-keys when the user-data has the key" "$(iso meta-data)" ||
	t_ok "no public-keys in meta-data when the generated user-data has the key"
t_expect "vm set --ssh-key none --hostname none: no seed" 0 'CloudInitSeed none' -- \
	"$NV" vm set web --ssh-key none --hostname none
[ ! -e "$NESTVM_HOME/vms/web/cloud-init" ] && ! "$NV" vm show web | grep -q CloudInit &&
	t_ok "the seed folder and its settings are gone" || t_not_ok "the seed folder is gone" "$(ls "$NESTVM_HOME/vms/web")"
t_expect "vm set --hostname: a seed again" 0 'made again' -- "$NV" vm set web --hostname again
iso meta-data | grep -q "instance-id: \"$id\"" && t_not_ok "a new seed, a new instance id" "$(iso meta-data)" ||
	t_ok "a new seed after none, a new instance id"
# The seed is the VM's disk after its own when it starts: a missing seed
# is named before KVM is asked (any host).
mv "$SEED" "$T/seed.away"
t_fails "vm start: the seed is one of the VM's disks" 2 "cannot open disk image $SEED: No such file" -- "$NV" vm start web
mv "$T/seed.away" "$SEED"
t_expect "vm delete takes the seed with the folder" 0 'deleted' -- "$NV" vm delete web
[ ! -e "$NESTVM_HOME/vms/web" ] && t_ok "the VM's folder is gone" || t_not_ok "the VM's folder is gone" "$(ls -R "$NESTVM_HOME/vms")"

# A key alone: the generated user-data, and no local-hostname.
printf '%s\n' "$KEY" >key.pub
t_expect "vm create --ssh-key alone" 0 'created' -- "$NV" vm create web --ssh-key key.pub
iso user-data | grep -qxF "  - \"$KEY\"" && ! iso meta-data | grep -q local-hostname &&
	t_ok "a key alone: in the generated user-data" || t_not_ok "a key alone" "$(iso user-data | tr '\n' '|')"
"$NV" vm delete web >/dev/null

# Bad input: one line, status 2, nothing created.
printf '#cloud-config\n' >ud
printf 'hello world\n' >notakey
head -c $((1024 * 1024 + 1)) /dev/zero >big
mkdir adir
nothing() { # NAME: no VM called nothing, no folder for it
	if "$NV" vm show nothing >/dev/null 2>&1 || [ -e "$NESTVM_HOME/vms/nothing" ]; then
		t_not_ok "$1: nothing created" "$(ls "$NESTVM_HOME/vms")"
	else t_ok "$1: nothing created"; fi
}
bad() { # NAME REGEX ARGS...: vm create nothing ARGS is refused, nothing made
	local name=$1 re=$2
	shift 2
	t_bad "vm create: $name" "$re" "$NV" vm create nothing "$@"
	nothing "$name"
}
bad "a missing user-data file" "^nestvm: --user-data nope: No such file or directory$" --user-data nope
bad "a user-data file over 1 MiB" "^nestvm: --user-data big: larger than 1 MiB" --user-data big
bad "a folder as user-data" "^nestvm: --user-data adir: Is a directory$" --user-data adir
bad "a private key" "^nestvm: --ssh-key key: it is a private key: give its public key" --ssh-key key
bad "not a key" "^nestvm: --ssh-key notakey: line 1 is not an OpenSSH public key" --ssh-key notakey
bad "an empty key file" "^nestvm: --ssh-key /dev/null: it holds no public key" --ssh-key /dev/null
bad "a host name with '_'" "^nestvm: --hostname: host name 'web_1' has '_'" --hostname web_1
bad "a host name ending in '-'" "^nestvm: --hostname: .*starting or ending with '-'" --hostname web-
bad "a host name too long" "^nestvm: --hostname: host name 'a{40}\.\.\.' is 254 characters long \(at most 253\)" \
	--hostname "$(printf 'a%.0s' $(seq 254))"
bad "an empty host name" "^nestvm: --hostname needs a name$" --hostname ''
bad "--hostname twice" "^nestvm: --hostname given twice$" --hostname a --hostname b
bad "a good key with a bad host name" "^nestvm: --hostname: " --ssh-key key.pub --hostname 'a b'
for i in $(seq 16); do : >"d$i.img"; done
bad "16 disks and a seed" "more than 16 disks with the cloud-init seed" $(for i in $(seq 16); do echo --disk "d$i.img"; done) --hostname h
t_fails "vm create without genisoimage: one line naming the package" 125 \
	"^nestvm: genisoimage is not installed: it writes the cloud-init seed \(apt install genisoimage\)$" -- \
	env PATH=/nonexistent "$NV" vm create nothing --hostname h
nothing "without genisoimage"
"$NV" vm create plain >/dev/null
t_bad "vm set: a bad host name" "^nestvm: --hostname: " "$NV" vm set plain --hostname 'bad_'
t_bad "vm set: a private key" "^nestvm: --ssh-key key: it is a private key" "$NV" vm set plain --ssh-key key
[ ! -e "$NESTVM_HOME/vms/plain/cloud-init" ] && ! "$NV" vm show plain | grep -q CloudInit &&
	t_ok "vm set refused: no seed made" || t_not_ok "vm set refused: no seed made" "$(ls "$NESTVM_HOME/vms/plain")"

# run: the same checks; its seed is a temporary file that goes at exit.
mkdir tmp
t_bad "run: a private key" "^nestvm: --ssh-key key: it is a private key" "$NV" run --ssh-key key
t_bad "run: a bad host name" "^nestvm: --hostname: " "$NV" run --hostname '-x'
t_bad "run: a user-data file over 1 MiB" "^nestvm: --user-data big: larger than 1 MiB" "$NV" run --user-data big
t_bad "run --incoming: no seed" "a migrated VM brings its own" "$NV" run --incoming unix:$T/s --hostname h
t_bad "run --save-on-exit: no temporary seed" "^nestvm: --save-on-exit: run's cloud-init seed is temporary" \
	"$NV" run --save-on-exit "$T/saved" --hostname h
TMPDIR=$T/tmp t_bad "run: the seed made, the VM refused" "^nestvm: kernel '$T/nokernel'" \
	"$NV" run --user-data ud --ssh-key key.pub --hostname h --kernel "$T/nokernel"
[ -z "$(ls -A tmp)" ] && t_ok "run's temporary seed is gone" || t_not_ok "run's temporary seed is gone" "$(ls -R tmp)"
t_summary
