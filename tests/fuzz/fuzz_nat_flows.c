/* libFuzzer: guests' frames meeting a NAT switch's flow caps
 * (net/nat_flows.c), which parse every frame a guest sends before libslirp
 * does. The input is a list of records: one byte of command, then for a
 * frame its length (one byte, up to 255) and its bytes. Commands: a frame
 * from one of four MACs, which the caps admit or refuse; libslirp opening a
 * socket (fd from the next byte) while that frame is in; libslirp closing
 * one. libslirp opens at most one socket for a frame, and so does this
 * model. A bug: a crash, a sanitizer report, or counts that break the rules:
 * the open flows are the sum of the ports', never past a cap, and a refusal
 * only ever comes at a cap. */
#include <stdint.h>
#include <string.h>

#include "fuzz_util.h"
#include "net/nat_flows.h"

static struct nat_flows flows;

static void check_counts(const struct nat_flows *f)
{
	unsigned sum = 0;
	for (int i = 0; i < NAT_FLOWS_PORTS; i++)
		sum += f->ports[i].used ? f->ports[i].open : 0;
	CHECK(sum == f->total);
	CHECK(f->total <= f->max_total);
	for (int i = 0; i < NAT_FLOWS_PORTS; i++)
		CHECK(!f->ports[i].used || f->ports[i].open <= f->max_per_port);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	nat_flows_init(&flows, 3, 5);
	uint8_t frame[ETH_HDR_LEN + 255];
	bool in = false, opened = false;
	size_t i = 0;
	while (i < size) {
		uint8_t cmd = data[i++];
		switch (cmd % 4) {
		case 0: { /* a frame */
			if (i >= size)
				break;
			size_t len = data[i++];
			if (len > size - i)
				len = size - i;
			memset(frame, 0, sizeof(frame));
			frame[11] = (uint8_t)(cmd >> 2 & 3); /* one of four source MACs */
			frame[6] = 0x52;
			memcpy(frame + 12, data + i, len < sizeof(frame) - 12 ? len : sizeof(frame) - 12);
			i += len;
			size_t flen = 12 + len < sizeof(frame) ? 12 + len : sizeof(frame);
			unsigned total = flows.total;
			uint64_t refused = flows.refused;
			bool ok = nat_flows_admit(&flows, frame, flen, 0x0a000201);
			CHECK(ok || flows.refused == refused + 1);
			CHECK(ok || total >= flows.max_total ||
			      nat_flows_port(&flows, (const struct mac_addr *)(frame + 6)) == NULL ||
			      nat_flows_port(&flows, (const struct mac_addr *)(frame + 6))->open >= flows.max_per_port);
			in = ok;
			opened = false;
			break;
		}
		case 1: /* slirp opens a socket while the frame is in */
			if (i < size) {
				int fd = data[i++] % 64;
				if (!opened || !in)
					nat_flows_opened(&flows, fd);
				opened = opened || in;
			}
			break;
		case 2: /* slirp closes one */
			if (i < size)
				nat_flows_closed(&flows, data[i++] % 64);
			break;
		default: /* the frame is done */
			if (in)
				nat_flows_input_done(&flows);
			in = false;
		}
		check_counts(&flows);
	}
	return 0;
}
