/*
 * crc32c.h — CRC-32C (Castagnoli, reflected polynomial 0x82F63B78), the
 * checksum of Kafka record batches (magic 2).
 *
 * Chainable: crc32c(crc32c(0, a, na), b, nb) == crc32c(0, ab, na + nb), so a
 * batch read from a file in pieces can be checked without holding it whole.
 * Start with crc = 0; the pre/post inversion is done inside.
 */
#ifndef KAVKA_CRC32C_H
#define KAVKA_CRC32C_H

#include <stddef.h>
#include <stdint.h>

uint32_t crc32c(uint32_t crc, const void *p, size_t n);

/* The portable table-driven path, exposed so tests can compare it with the
 * hardware path on machines that have SSE4.2. */
uint32_t crc32c_sw(uint32_t crc, const void *p, size_t n);

#endif
