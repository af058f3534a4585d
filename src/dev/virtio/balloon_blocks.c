#include "dev/virtio/balloon_blocks.h"

#include <stdlib.h>
#include <string.h>

#define PAGE 4096u

static uint64_t blocks_of(uint64_t ram_size)
{
	return (ram_size + BALLOON_BLOCK - 1) / BALLOON_BLOCK;
}

int balloon_blocks_init(struct balloon_blocks *bb, uint64_t ram_size)
{
	uint64_t pages = ram_size / PAGE;
	*bb = (struct balloon_blocks){ .ram_size = ram_size };
	bb->held = calloc((pages + 63) / 64 ? (pages + 63) / 64 : 1, sizeof(uint64_t));
	bb->count = calloc(blocks_of(ram_size) ? blocks_of(ram_size) : 1, sizeof(uint16_t));
	if (!bb->held || !bb->count) {
		balloon_blocks_free(bb);
		return -1;
	}
	return 0;
}

void balloon_blocks_free(struct balloon_blocks *bb)
{
	free(bb->held);
	free(bb->count);
	bb->held = NULL;
	bb->count = NULL;
}

void balloon_blocks_clear(struct balloon_blocks *bb)
{
	if (!bb->held)
		return;
	memset(bb->held, 0, (bb->ram_size / PAGE + 63) / 64 * sizeof(uint64_t));
	memset(bb->count, 0, blocks_of(bb->ram_size) * sizeof(uint16_t));
}

/* The last block may be short of 2 MiB. */
static uint64_t block_len(const struct balloon_blocks *bb, uint64_t block)
{
	uint64_t start = block * BALLOON_BLOCK;
	uint64_t left = bb->ram_size - start;
	return left < BALLOON_BLOCK ? left / PAGE * PAGE : BALLOON_BLOCK;
}

bool balloon_blocks_hold(struct balloon_blocks *bb, uint64_t off, uint64_t *block_off, uint64_t *len)
{
	if (!bb->held || off >= bb->ram_size / PAGE * PAGE)
		return false;
	uint64_t pg = off / PAGE, bit = 1ull << (pg % 64);
	if (bb->held[pg / 64] & bit)
		return false;
	bb->held[pg / 64] |= bit;
	uint64_t block = off / BALLOON_BLOCK;
	uint64_t blen = block_len(bb, block);
	if (++bb->count[block] < blen / PAGE)
		return false;
	*block_off = block * BALLOON_BLOCK;
	*len = blen;
	return true;
}

void balloon_blocks_give_back(struct balloon_blocks *bb, uint64_t off)
{
	if (!bb->held || off >= bb->ram_size / PAGE * PAGE)
		return;
	uint64_t pg = off / PAGE, bit = 1ull << (pg % 64);
	if (!(bb->held[pg / 64] & bit))
		return;
	bb->held[pg / 64] &= ~bit;
	bb->count[off / BALLOON_BLOCK]--;
}
