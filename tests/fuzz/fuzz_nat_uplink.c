/* libFuzzer: frames a hostile guest sends into a NAT switch's uplink
 * (net/uplink_nat.c): nestvm's own checks (frame_sane, the flow caps) and
 * then libslirp itself, which parses ARP, IPv4, ICMP, UDP (DHCP, DNS) and
 * TCP and answers. The input is frames, each two bytes of length
 * (big-endian, cut to what is left) and its bytes; each goes in as a switch
 * port hands it over, then the daemon's loop takes one round without
 * waiting, so slirp's answers, timers and sockets run as well. The host's
 * loopback stays off and the flow caps are small (4 per port, 8 per
 * switch), so the sockets libslirp opens for the fuzzer's flows (to
 * addresses this machine cannot reach) stay few. A crash, a sanitizer
 * report, or a frame handed back that is not a whole Ethernet frame is a
 * bug. One uplink serves every input, as one switch serves its guests. */
#include <stdint.h>
#include <stdlib.h>

#include "core/evloop.h"
#include "fuzz_util.h"
#include "net/uplink.h"
#include "util/eth.h"

static struct uplink *nat;
static struct evloop *loop;

static void deliver(void *opaque, const uint8_t *frame, size_t len)
{
	(void)opaque;
	(void)frame;
	CHECK(len >= ETH_HDR_LEN && len <= NET_FRAME_MAX);
}

static void start(void)
{
	struct nat_config cfg = { .network = 0x0a000200u, .prefix_len = 24,
				  .max_flows_per_port = 4, .max_flows = 8 };
	struct nv_err err = { 0 };
	nat = uplink_nat_new(&cfg, &err);
	if (!nat || evloop_create(&loop) < 0) {
		fprintf(stderr, "fuzz_nat_uplink: %s\n", err.msg);
		abort();
	}
	nat->deliver = deliver;
	CHECK(nat->ops->attach(nat, loop) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!nat)
		start();
	size_t i = 0;
	while (i + 2 <= size) {
		size_t len = (size_t)data[i] << 8 | data[i + 1];
		i += 2;
		if (len > size - i)
			len = size - i;
		nat->ops->send(nat, data + i, len);
		i += len;
		evloop_run_once(loop, 0);
	}
	return 0;
}
