/* SPDX-License-Identifier: MIT */
/*
 * util.c — the analyzer's small containers: an arena that owns every
 * string and array of the model, an open-addressing hash map from 64-bit
 * keys to ints (lock, stack, edge and thread identity), and a string
 * interning table. Used by the loader, the symbolizer and the findings.
 */
#include "lg_analyze.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

/* --- arena ------------------------------------------------------------ */

struct lg_arena_block {
    struct lg_arena_block *next;
    size_t used, size;
    max_align_t data[];
};

#define ARENA_BLOCK (1u << 20)

void *lg_arena_alloc(struct lg_arena *a, size_t n)
{
    struct lg_arena_block *b = a->head;

    n = (n + 15) & ~(size_t)15;
    if (!b || b->size - b->used < n) {
        size_t size = n > ARENA_BLOCK / 4 ? n : ARENA_BLOCK;
        struct lg_arena_block *nb = malloc(sizeof(*nb) + size);
        if (!nb)
            return NULL;
        nb->used = 0;
        nb->size = size;
        if (b && size != ARENA_BLOCK) {
            /* A big one-off: keep the current block for small requests. */
            nb->next = b->next;
            b->next = nb;
        } else {
            nb->next = b;
            a->head = nb;
        }
        b = nb;
    }
    void *p = (char *)b->data + b->used;
    b->used += n;
    memset(p, 0, n);
    return p;
}

char *lg_arena_strndup(struct lg_arena *a, const char *s, size_t len)
{
    char *p = lg_arena_alloc(a, len + 1);
    if (p) {
        memcpy(p, s, len);
        p[len] = 0;
    }
    return p;
}

char *lg_arena_strdup(struct lg_arena *a, const char *s)
{
    return s ? lg_arena_strndup(a, s, strlen(s)) : NULL;
}

void lg_arena_free(struct lg_arena *a)
{
    struct lg_arena_block *b = a->head;
    while (b) {
        struct lg_arena_block *next = b->next;
        free(b);
        b = next;
    }
    a->head = NULL;
}

/* --- hash map --------------------------------------------------------- */

uint64_t lg_mix64(uint64_t x)
{
    /* splitmix64 finaliser: every input bit reaches every output bit. */
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    x ^= x >> 31;
    return x;
}

#define MAP_EMPTY UINT64_MAX

static int map_grow(struct lg_map *m)
{
    size_t ncap = m->cap ? m->cap * 2 : 64;
    struct lg_map_slot *slots = malloc(ncap * sizeof(*slots));

    if (!slots)
        return -ENOMEM;
    for (size_t i = 0; i < ncap; i++)
        slots[i].key = MAP_EMPTY;
    for (size_t i = 0; i < m->cap; i++) {
        if (m->slots[i].key == MAP_EMPTY)
            continue;
        size_t j = lg_mix64(m->slots[i].key) & (ncap - 1);
        while (slots[j].key != MAP_EMPTY)
            j = (j + 1) & (ncap - 1);
        slots[j] = m->slots[i];
    }
    free(m->slots);
    m->slots = slots;
    m->cap = ncap;
    return 0;
}

bool lg_map_get(const struct lg_map *m, uint64_t key, int *val)
{
    if (!m->cap || key == MAP_EMPTY)
        return false;
    size_t j = lg_mix64(key) & (m->cap - 1);
    while (m->slots[j].key != MAP_EMPTY) {
        if (m->slots[j].key == key) {
            *val = m->slots[j].val;
            return true;
        }
        j = (j + 1) & (m->cap - 1);
    }
    return false;
}

int lg_map_put(struct lg_map *m, uint64_t key, int val)
{
    if (key == MAP_EMPTY)
        return -EINVAL;
    if ((m->n + 1) * 4 > m->cap * 3) {
        int rc = map_grow(m);
        if (rc < 0)
            return rc;
    }
    size_t j = lg_mix64(key) & (m->cap - 1);
    while (m->slots[j].key != MAP_EMPTY) {
        if (m->slots[j].key == key) {
            m->slots[j].val = val;
            return 0;
        }
        j = (j + 1) & (m->cap - 1);
    }
    m->slots[j].key = key;
    m->slots[j].val = val;
    m->n++;
    return 0;
}

int lg_map_upsert(struct lg_map *m, uint64_t key, int newval, int *val)
{
    if (key == MAP_EMPTY)
        return -EINVAL;
    if ((m->n + 1) * 4 > m->cap * 3) {
        int rc = map_grow(m);
        if (rc < 0)
            return rc;
    }
    size_t j = lg_mix64(key) & (m->cap - 1);
    while (m->slots[j].key != MAP_EMPTY) {
        if (m->slots[j].key == key) {
            *val = m->slots[j].val;
            return 0;
        }
        j = (j + 1) & (m->cap - 1);
    }
    m->slots[j].key = key;
    m->slots[j].val = newval;
    m->n++;
    *val = newval;
    return 1;
}

void lg_map_free(struct lg_map *m)
{
    free(m->slots);
    memset(m, 0, sizeof(*m));
}

/* --- strings ---------------------------------------------------------- */

static uint64_t str_hash(const char *s, size_t len)
{
    uint64_t h = 0xcbf29ce484222325ull;
    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)s[i]) * 0x100000001b3ull;
    return h;
}

const char *lg_intern(struct lg_strtab *t, const char *s, size_t len)
{
    uint64_t h = str_hash(s, len);
    int idx;

    /* Collisions of the 64-bit hash: probe the next derived key. */
    for (;;) {
        if (!lg_map_get(&t->map, h, &idx))
            break;
        const char *c = t->strs[idx];
        if (strncmp(c, s, len) == 0 && c[len] == 0)
            return c;
        h = lg_mix64(h + 1);
    }
    if (t->n == t->cap) {
        int ncap = t->cap ? t->cap * 2 : 256;
        char **ns = realloc(t->strs, (size_t)ncap * sizeof(*ns));
        if (!ns)
            return NULL;
        t->strs = ns;
        t->cap = ncap;
    }
    char *c = lg_arena_strndup(t->arena, s, len);
    if (!c || lg_map_put(&t->map, h, t->n) < 0)
        return NULL;
    t->strs[t->n++] = c;
    return c;
}

const char *lg_intern_str(struct lg_strtab *t, const char *s)
{
    return s ? lg_intern(t, s, strlen(s)) : NULL;
}

void lg_strtab_free(struct lg_strtab *t)
{
    lg_map_free(&t->map);
    free(t->strs);
    t->strs = NULL;
    t->n = t->cap = 0;
}

/* --- growable arrays -------------------------------------------------- */

int lg_grow_raw(void **arr, int *cap, int need, size_t elem)
{
    if (need <= *cap)
        return 0;
    long ncap = *cap ? *cap : 16;
    while (ncap < need)
        ncap = ncap < (1 << 20) ? ncap * 2 : ncap + ncap / 2;
    if (ncap > INT32_MAX)
        return -ENOMEM;
    void *n = realloc(*arr, (size_t)ncap * elem);
    if (!n)
        return -ENOMEM;
    *arr = n;
    *cap = (int)ncap;
    return 0;
}

int lg_grow(void **arr, int *cap, int need, size_t elem)
{
    if (need <= *cap)
        return 0;
    long ncap = *cap ? *cap : 16;
    while (ncap < need)
        ncap *= 2;
    if (ncap > INT32_MAX)
        return -ENOMEM;
    void *n = realloc(*arr, (size_t)ncap * elem);
    if (!n)
        return -ENOMEM;
    memset((char *)n + (size_t)*cap * elem, 0, (size_t)(ncap - *cap) * elem);
    *arr = n;
    *cap = (int)ncap;
    return 0;
}

void lg_trace_drop_behind(const void *base, size_t pos, size_t *dropped)
{
    if (!base || pos < *dropped || pos - *dropped < ((size_t)64 << 20))
        return;
    size_t upto = pos & ~(((size_t)1 << 20) - 1);
    madvise((char *)base + *dropped, upto - *dropped, MADV_DONTNEED);
    *dropped = upto;
}
