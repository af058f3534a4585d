/* Which 4 KiB pages of guest RAM a balloon holds, by 2 MiB block of the
 * host mapping (balloon_blocks.c). The balloon gives memory back to the
 * host a whole block at a time: releasing single 4 KiB pages splits the
 * host's transparent huge pages, and every page the guest later takes back
 * then comes in by its own page fault and its own nested-paging fault
 * (in the lab a 512 MiB demand spike took 26 s that way instead of about
 * 3). Linux's driver takes its pages from the guest's free blocks in
 * order, so an idle guest's balloon fills whole blocks; free page
 * reporting gives back free 2 MiB blocks by itself. Pages are offsets
 * into RAM's host mapping; a page held twice counts once (a guest that
 * lies about its pages only loses its own memory). */
#ifndef NESTVM_DEV_VIRTIO_BALLOON_BLOCKS_H
#define NESTVM_DEV_VIRTIO_BALLOON_BLOCKS_H

#include <stdbool.h>
#include <stdint.h>

#define BALLOON_BLOCK (2ull << 20)

struct balloon_blocks {
	uint64_t ram_size;
	uint64_t *held;  /* one bit a page */
	uint16_t *count; /* pages held, by block */
};

/* 0, or -1 when out of memory. */
int balloon_blocks_init(struct balloon_blocks *bb, uint64_t ram_size);
void balloon_blocks_free(struct balloon_blocks *bb);
/* Forgets every page (the driver reset: it holds nothing). */
void balloon_blocks_clear(struct balloon_blocks *bb);
/* The page at off (page-aligned, below ram_size) is held now; true when
 * that made its whole block held, with the block's offset and length. */
bool balloon_blocks_hold(struct balloon_blocks *bb, uint64_t off, uint64_t *block_off, uint64_t *block_len);
/* The guest took the page at off back. */
void balloon_blocks_give_back(struct balloon_blocks *bb, uint64_t off);

#endif
