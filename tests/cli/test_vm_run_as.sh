#!/usr/bin/env bash
# `vm create|set --run-as USER` on this host (no KVM needed): the option's
# syntax and refusals (root, unknown users, a caller that is not root,
# while Running, checkpoints kept for another user), `vm show`, the split
# folder a start makes (root's part 0710 with the user's group, user/ the
# user's), the VMM's status file and what root believes of it (its pid
# only, no link followed), and a delete that follows no link the user
# planted. Runs as root; the non-root refusals as nobody.
set -u
cd "$(dirname "$0")/../.."
. tests/lib.sh
NV=${NESTVM_BIN:-build/nestvm}
case $NV in /*) ;; *) NV=$PWD/$NV ;; esac
if [ "$(id -u)" != 0 ]; then
	echo "1..0 # SKIP needs root (--run-as is root's)"
	exit 0
fi
T=$(mktemp -d)
chmod 711 "$T" # the VM's user passes through, as through /var/lib
export NESTVM_HOME=$T/home
HOLDERS=()
cleanup() {
	for p in "${HOLDERS[@]}"; do kill "$p" 2>/dev/null; done
	rm -rf "$T"
}
trap cleanup EXIT
V=$NESTVM_HOME/vms/web
as_nobody() { runuser -u nobody -- "$@"; }

# The option: syntax and refusals.
t_expect "create --run-as nobody" 0 '^VM web created \(Off; its VMM runs as nobody\)$' -- "$NV" vm create web --run-as nobody
t_expect "show: RunAs" 0 '^RunAs +: nobody \(uid 65534, gid 65534\)$' -- "$NV" vm show web
t_expect "show --json: config.run_as" 0 '"run_as": \{ "uid": 65534, "gid": 65534, "name": "nobody" \}' -- \
	sh -c "'$NV' vm show web --json | tr -d '\n' | tr -s ' '"
t_bad "create --run-as root" "^nestvm: --run-as 'root' is root: name a dedicated user" "$NV" vm create x --run-as root
t_bad "create --run-as 0:0" "^nestvm: --run-as '0:0' is root" "$NV" vm create x --run-as 0:0
t_bad "create --run-as an unknown user" "^nestvm: --run-as 'nosuchuser9': no such user in /etc/passwd" "$NV" vm create x --run-as nosuchuser9
t_bad "create --run-as 5:x" "^nestvm: --run-as '5:x' is not a user, UID or UID:GID" "$NV" vm create x --run-as 5:x
t_bad "create --run-as none (set's word only)" "^nestvm: --run-as 'none': no such user" "$NV" vm create x --run-as none
t_bad "create --run-as without a value" "^nestvm: --run-as needs a value" "$NV" vm create x --run-as
t_expect "a refused create leaves no VM" 2 "no VM named 'x'" -- "$NV" vm show x
t_expect "create --run-as UID:GID" 0 '^VM num created \(Off; its VMM runs as 4242:4343\)$' -- "$NV" vm create num --run-as 4242:4343
t_expect "show: the numbers as given" 0 '^RunAs +: 4242:4343 \(uid 4242, gid 4343\)$' -- "$NV" vm show num
t_expect "create without --run-as" 0 '^VM plain created \(Off\)$' -- "$NV" vm create plain
t_expect "show: no RunAs" 0 '^RunAs +: \(the user that starts it\)$' -- "$NV" vm show plain
t_expect "--help names --run-as" 0 '--run-as USER' -- "$NV" vm create --help
NB=$T/nobody-home
mkdir -p "$NB" && chown nobody "$NB"
t_fails "not root: create --run-as" 2 '^nestvm: --run-as nobody needs root: nestvm already runs as you \(uid 65534\)$' -- \
	as_nobody env NESTVM_HOME="$NB" "$NV" vm create y --run-as nobody
as_nobody env NESTVM_HOME="$NB" "$NV" vm create y >/dev/null 2>&1
t_fails "not root: set --run-as" 2 '^nestvm: --run-as nobody needs root' -- \
	as_nobody env NESTVM_HOME="$NB" "$NV" vm set y --run-as nobody

# set: the same checks, Off only, none.
t_expect "set --run-as 4242" 0 '^VM plain: RunAs 4242 \(uid 4242, gid 4242\)$' -- "$NV" vm set plain --run-as 4242
t_expect "set --run-as none" 0 '^VM plain: RunAs none' -- "$NV" vm set plain --run-as none
t_expect "none: gone from the record" 1 '' -- grep -q run_as "$NESTVM_HOME/vms/plain/vm.json"
t_bad "set --run-as root" "^nestvm: --run-as 'root' is root" "$NV" vm set plain --run-as root
t_bad "set --run-as an unknown user" "no such user in /etc/passwd" "$NV" vm set plain --run-as nosuchuser9

# A start (which fails here before the VM runs: no default guest, or no
# KVM) prepares the split folder as root, before anything runs as nobody.
"$NV" vm start web >/dev/null 2>&1
t_expect "root's part: root, the user's group, 0710" 0 '^710 root nogroup$' -- stat -c '%a %U %G' "$V"
t_expect "user/: the user's, 0700" 0 '^700 nobody nogroup$' -- stat -c '%a %U %G' "$V/user"
t_expect "user/checkpoints: made as the user" 0 '^nobody$' -- stat -c '%U' "$V/user/checkpoints"
t_expect "the record stays root's" 0 '^600 root$' -- stat -c '%a %U' "$V/vm.json"
t_expect "the state folder: passable, not listable, by others" 0 '^701$' -- stat -c '%a' "$NESTVM_HOME"
t_fails "nobody cannot write root's part" 1 'Permission denied' -- as_nobody touch "$V/planted"
t_expect "nobody writes its own part" 0 '' -- as_nobody touch "$V/user/mine"

# The VMM's status: believed for the VMM the record names, read as the
# user, never through a link. A background process holding vmm.lock
# plays the VMM.
"$(t_tool hold_lock)" "$V/vmm.lock" >"$T/hold" &
HOLDER=$!
HOLDERS+=("$HOLDER")
for _ in $(seq 100); do grep -q locked "$T/hold" && break; sleep 0.05; done
sed -i -e 's/"state": "Off"/"state": "Starting"/' -e "s/\"pid\": 0/\"pid\": $HOLDER/" "$V/vm.json"
status() { # STATE PID REASON: written as nobody, as the VMM writes it
	printf '{"state":"%s","pid":%s,"started_at":%s,"last_stop":"%s","running_at_host_stop":false}\n' \
		"$1" "$2" "$(date +%s)" "$3" | as_nobody sh -c "cat >'$V/user/status.json'"
}
status Running "$HOLDER" ""
t_expect "status: Running from the VMM's status" 0 '^State +: Running$' -- "$NV" vm show web
status Paused "$HOLDER" ""
t_expect "status: Paused" 0 '"state": "Paused"' -- "$NV" vm show web --json
t_expect "status: the record on disk is untouched" 0 '"state": "Starting"' -- cat "$V/vm.json"
status Paused 1 ""
t_expect "status: another pid's is not believed" 0 '^State +: Starting$' -- "$NV" vm show web
rm -f "$V/user/status.json"
printf '{"state":"Paused","pid":%s,"started_at":1,"last_stop":"","running_at_host_stop":false}\n' "$HOLDER" >"$T/root-status"
chmod 644 "$T/root-status"
as_nobody ln -s "$T/root-status" "$V/user/status.json"
t_expect "status: a link is not followed" 0 '^State +: Starting$' -- "$NV" vm show web
rm -f "$V/user/status.json"
status Bogus "$HOLDER" ""
t_expect "status: a broken one changes nothing" 0 '^State +: Starting$' -- "$NV" vm show web
t_bad "set --run-as while the VM runs" '^nestvm: VM web is Starting: --run-as can only be changed while the VM is Off' \
	"$NV" vm set web --run-as 4242
status Off "$HOLDER" 'the guest powered off\u001b[2J' # an escape for root's terminal
kill "$HOLDER"
wait "$HOLDER" 2>/dev/null
t_expect "status: its last word once it has gone, without the escape" 0 '^LastStop +: the guest powered off\?\[2J$' -- "$NV" vm show web
"$NV" vm set web --cpus 2 >/dev/null 2>&1 # any locked command saves it into the record
t_expect "status: folded into the record" 0 '"state": "Off"' -- cat "$V/vm.json"
t_expect "status: its reason too" 0 '"last_stop": "the guest powered off' -- cat "$V/vm.json"

# Checkpoints stay with the user their state is kept for.
t_expect "checkpoint while Off" 0 '^VM web: checkpoint cp1 taken' -- "$NV" vm checkpoint web cp1
t_expect "checkpoint.json: in root's part" 0 '^root$' -- stat -c '%U' "$V/checkpoints/cp1/checkpoint.json"
t_bad "set --run-as with checkpoints" '^nestvm: VM web has 1 checkpoint, kept for the user its VMM runs as now: delete them' \
	"$NV" vm set web --run-as 4242
t_expect "set --run-as the same user with checkpoints" 0 '^VM web: RunAs nobody' -- "$NV" vm set web --run-as nobody
t_expect "the same user: its part stays" 0 '' -- test -e "$V/user/mine"
t_expect "checkpoint delete" 0 'deleted' -- "$NV" vm checkpoint delete web cp1

# A delete follows no link the user planted in its part.
mkdir "$T/victim" && echo keep >"$T/victim/file"
as_nobody ln -s "$T/victim" "$V/user/saved"
as_nobody mkdir -p "$V/user/checkpoints/cpx"
as_nobody ln -s "$T/victim/file" "$V/user/checkpoints/cpx/memory"
t_expect "delete a VM whose user planted links" 0 '^VM web deleted$' -- "$NV" vm delete web
t_expect "the link's target is untouched" 0 '^keep$' -- cat "$T/victim/file"
t_expect "the VM's folder is gone" 1 '' -- test -e "$V"

# --run-as none takes the user's part away again.
"$NV" vm start num >/dev/null 2>&1
t_expect "num: user/ is 4242's" 0 '^4242$' -- stat -c '%u' "$NESTVM_HOME/vms/num/user"
t_expect "set --run-as none" 0 '^VM num: RunAs none' -- "$NV" vm set num --run-as none
t_expect "none: user/ removed" 1 '' -- test -e "$NESTVM_HOME/vms/num/user"
t_expect "none: the folder root's alone" 0 '^700 root root$' -- stat -c '%a %U %G' "$NESTVM_HOME/vms/num"

t_summary
