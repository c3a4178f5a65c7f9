/* sync_token.c - see sync_token.h: a chained hash table of counters under
 * a read-write lock; only the first request of a database writes. */
#include "gateway/protocol/sync_token.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "common/mem.h"
#include "common/siphash.h"

struct sync_token {
    struct sync_token *next;
    uint64_t value;               /* atomics */
    char id[];
};

static pthread_rwlock_t lock = PTHREAD_RWLOCK_INITIALIZER;
static sync_token **slots;
static size_t nslots, count;

static sync_token *find(const char *id, size_t len, uint64_t h)
{
    if (!nslots) return NULL;
    for (sync_token *t = slots[h & (nslots - 1)]; t; t = t->next)
        if (!strncmp(t->id, id, len) && t->id[len] == '\0') return t;
    return NULL;
}

static void grow(void)
{
    size_t n = nslots ? nslots * 2 : 64;
    sync_token **fresh = xcalloc(n, sizeof *fresh);
    for (size_t i = 0; i < nslots; i++)
        for (sync_token *t = slots[i], *next; t; t = next) {
            next = t->next;
            uint64_t h = hash_bytes(t->id, strlen(t->id));
            t->next = fresh[h & (n - 1)];
            fresh[h & (n - 1)] = t;
        }
    free(slots);
    slots = fresh;
    nslots = n;
}

sync_token *sync_token_for(const char *database_id)
{
    size_t len = strlen(database_id);
    uint64_t h = hash_bytes(database_id, len);
    pthread_rwlock_rdlock(&lock);
    sync_token *t = find(database_id, len, h);
    pthread_rwlock_unlock(&lock);
    if (t) return t;
    pthread_rwlock_wrlock(&lock);
    t = find(database_id, len, h);
    if (!t) {
        if (count + 1 > nslots / 2) grow();
        t = xcalloc(1, sizeof *t + len + 1);
        memcpy(t->id, database_id, len + 1);
        t->next = slots[h & (nslots - 1)];
        slots[h & (nslots - 1)] = t;
        count++;
    }
    pthread_rwlock_unlock(&lock);
    return t;
}

uint64_t sync_token_bump(sync_token *t)
{
    return __atomic_add_fetch(&t->value, 1, __ATOMIC_RELAXED);
}

uint64_t sync_token_current(const sync_token *t)
{
    return __atomic_load_n(&t->value, __ATOMIC_RELAXED);
}

void sync_token_free_all(void)
{
    pthread_rwlock_wrlock(&lock);
    for (size_t i = 0; i < nslots; i++)
        for (sync_token *t = slots[i], *next; t; t = next) {
            next = t->next;
            free(t);
        }
    free(slots);
    slots = NULL;
    nslots = count = 0;
    pthread_rwlock_unlock(&lock);
}
