#include "dev/legacy/i8042.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "core/device_snapshot.h"

#define OFF_DATA 0
#define OFF_CMD 4

#define STS_OBF 0x01 /* output buffer full: a reply waits at 0x60 */
#define STS_SYS 0x04 /* system flag: self-test passed */
#define STS_CMD 0x08 /* last write went to 0x64 */

#define CMD_READ_CTR 0x20
#define CMD_WRITE_CTR 0x60
#define CMD_SELF_TEST 0xaa
#define CMD_KBD_TEST 0xab
#define CMD_READ_OUTP 0xd0
#define CMD_WRITE_OUTP 0xd1
/* 0xF0-0xFF pulse the output lines whose bit is 0 in the low nibble;
 * bit 0 is the CPU reset line, so 0xFE pulses reset alone. */
#define CMD_PULSE_FIRST 0xf0

#define OUTP_RESET_HIGH 0x01 /* reset line is active low */
#define OUTP_A20 0x02

#define CTR_DEFAULT 0x45 /* keyboard interrupt, system flag, translation */

struct i8042 {
	pthread_mutex_t lock;
	void (*reset)(void *opaque);
	void *opaque;
	uint8_t ctr;
	uint8_t outp;
	uint8_t status;
	uint8_t out;      /* output buffer */
	uint8_t awaiting; /* command whose parameter the next data write is, or 0 */
};

static void i8042_reply(struct i8042 *k, uint8_t v)
{
	k->out = v;
	k->status |= STS_OBF;
}

/* Returns true when the reset line was pulsed. */
static bool i8042_command(struct i8042 *k, uint8_t cmd)
{
	k->awaiting = 0;
	switch (cmd) {
	case CMD_READ_CTR:
		i8042_reply(k, k->ctr);
		return false;
	case CMD_WRITE_CTR:
	case CMD_WRITE_OUTP:
		k->awaiting = cmd;
		return false;
	case CMD_SELF_TEST:
		k->status |= STS_SYS;
		i8042_reply(k, 0x55);
		return false;
	case CMD_KBD_TEST:
		i8042_reply(k, 0x00); /* interface test passed */
		return false;
	case CMD_READ_OUTP:
		i8042_reply(k, k->outp);
		return false;
	}
	if (cmd >= CMD_PULSE_FIRST && !(cmd & 1))
		return true;
	return false; /* everything else (aux port, passwords, ...) ignored */
}

/* Returns true when the write pulled the reset line low. */
static bool i8042_data_write(struct i8042 *k, uint8_t v)
{
	uint8_t cmd = k->awaiting;
	k->awaiting = 0;
	if (cmd == CMD_WRITE_CTR) {
		k->ctr = v;
	} else if (cmd == CMD_WRITE_OUTP) {
		k->outp = v | OUTP_RESET_HIGH; /* the line springs back */
		return !(v & OUTP_RESET_HIGH);
	}
	/* Otherwise a byte for the (absent) keyboard: no ACK, so the guest's
	 * keyboard probe times out. */
	return false;
}

void i8042_io(void *opaque, uint64_t offset, uint8_t *data, uint32_t len, bool is_write)
{
	struct i8042 *k = opaque;
	if (!k || !data || len == 0)
		return;
	if (!is_write)
		memset(data, 0, len);
	if (offset != OFF_DATA && offset != OFF_CMD)
		return; /* 0x61..0x63: read 0, writes ignored */

	bool reset = false;
	pthread_mutex_lock(&k->lock);
	if (is_write && offset == OFF_CMD) {
		k->status |= STS_CMD;
		reset = i8042_command(k, data[0]);
	} else if (is_write) {
		k->status &= ~STS_CMD;
		reset = i8042_data_write(k, data[0]);
	} else if (offset == OFF_CMD) {
		data[0] = k->status;
	} else {
		data[0] = k->out; /* a stale byte when empty, as on the chip */
		k->status &= ~STS_OBF;
	}
	pthread_mutex_unlock(&k->lock);
	if (reset && k->reset)
		k->reset(k->opaque);
}

int i8042_snapshot(struct i8042 *k, struct device_snapshot *s)
{
	pthread_mutex_lock(&k->lock);
	/* Both directions go through copies: a restore changes the device only
	 * once the whole section was read and found good. */
	uint8_t ctr = k->ctr, outp = k->outp, status = k->status, out = k->out;
	uint8_t awaiting = k->awaiting;

	snapshot_version(s, 1);
	SNAPSHOT_U8(s, ctr);
	SNAPSHOT_U8(s, outp);
	/* The reset line springs back high after every pulse. */
	snapshot_check(s, outp & OUTP_RESET_HIGH, "outp");
	SNAPSHOT_U8(s, status);
	snapshot_check(s, !(status & ~(STS_OBF | STS_SYS | STS_CMD)), "status");
	SNAPSHOT_U8(s, out);
	/* Selects what the next data write does: only the two commands that
	 * take a parameter. */
	SNAPSHOT_U8(s, awaiting);
	snapshot_check(s, awaiting == 0 || awaiting == CMD_WRITE_CTR || awaiting == CMD_WRITE_OUTP,
		       "awaiting");
	snapshot_done(s);

	if (s->dir == SNAPSHOT_RESTORE && !s->failed) {
		k->ctr = ctr;
		k->outp = outp;
		k->status = status;
		k->out = out;
		k->awaiting = awaiting;
	}
	int ret = s->failed ? -1 : 0;
	pthread_mutex_unlock(&k->lock);
	return ret;
}

struct i8042 *i8042_new(void (*reset)(void *opaque), void *opaque)
{
	struct i8042 *k = calloc(1, sizeof(*k));
	if (!k)
		return NULL;
	if (pthread_mutex_init(&k->lock, NULL) != 0) {
		free(k);
		return NULL;
	}
	k->reset = reset;
	k->opaque = opaque;
	k->ctr = CTR_DEFAULT;
	k->outp = OUTP_RESET_HIGH | OUTP_A20;
	k->status = STS_SYS;
	return k;
}

void i8042_free(struct i8042 *k)
{
	if (!k)
		return;
	pthread_mutex_destroy(&k->lock);
	free(k);
}
