/* How a VMM's network adapter and the management commands talk to a switch
 * daemon (`nestvm switch-daemon NAME`, started by `nestvm switch create`).
 *
 * Every switch lives in <state dir>/switches/<NAME>/:
 *   config.json   what `switch create` was given (type, subnet, interface,
 *                 forwards); the daemon reads it when it starts
 *   port.sock     SOCK_SEQPACKET, listening: one connection per adapter
 *   control.sock  SOCK_SEQPACKET, listening: one JSON request, one JSON reply
 *   daemon.pid    the daemon's pid while it runs
 *   daemon.log    the daemon's stderr
 *
 * A port connection starts with one hello message, a JSON object:
 *   {"version":1,"vm":"web1","adapter":0,"mac":"52:54:00:12:34:56",
 *    "mac_spoofing":false}
 * The switch answers with one JSON message:
 *   {"ok":true,"port":"web1/0"}   or   {"ok":false,"error":"one line"}
 * After an ok, every message either way is one Ethernet frame (no FCS, no
 * virtio header), NET_FRAME_MIN..NET_FRAME_MAX bytes. The switch makes its
 * anti-spoofing decision on the bytes it received: its own copy.
 *
 * Control requests (one message each, a JSON object with "cmd"):
 *   {"cmd":"show"}  -> {"ok":true,"name":..,"type":..,"subnet":..,
 *                       "ports":[{"port":"web1/0","mac":..,"mac_spoofing":false,
 *                                 "rx_frames":N,"tx_frames":N,"dropped_spoofed":N,
 *                                 "dropped_queue_full":N,"dropped_malformed":N,
 *                                 "learned_macs":["52:54:..",..]}, ..],
 *                       "uplink":{...counters...} }
 *   {"cmd":"set-port","port":"web1/0","mac_spoofing":true}
 *                   -> {"ok":true}  (applies to the next frame)
 *   {"cmd":"lease","port":"web1/0"}    (NAT switches)
 *                   -> {"ok":true,"port":..,"mac":..,"ip":"192.168.100.15"}
 *                      ("ip" only once the switch's DHCP server leased one
 *                      to the port's MAC: net/nat_leases.h)
 *   {"cmd":"forward","port":"web1/0","guest_port":22}  (NAT switches)
 *                   -> the lease reply plus "host":"127.0.0.1","host_port":N,
 *                      "guest_port":22: a TCP forward from 127.0.0.1:N, a
 *                      port the switch picks, to that lease; the same one
 *                      when asked again; gone when the port leaves
 *                      (net/nat_hostfwd.h)
 *   {"cmd":"shutdown"} -> {"ok":true}, then the daemon exits
 * rx/tx are seen from the switch: rx_frames came in from that port. */
#ifndef NESTVM_NET_SWITCH_PROTOCOL_H
#define NESTVM_NET_SWITCH_PROTOCOL_H

#define SWITCH_PROTOCOL_VERSION 1
#define SWITCH_DIR "switches"
#define SWITCH_CONFIG_FILE "config.json"
#define SWITCH_PORT_SOCKET "port.sock"
#define SWITCH_CONTROL_SOCKET "control.sock"
#define SWITCH_PID_FILE "daemon.pid"
#define SWITCH_LOG_FILE "daemon.log"
/* Largest control message (a `show` of a busy switch fits). */
#define SWITCH_CONTROL_MAX (256 * 1024)
/* Switch names: 1..32 of [A-Za-z0-9_.-], not starting with '.'. */
#define SWITCH_NAME_MAX 32

#endif
