// alloc: build a 200,000-word string by appending, split it into freshly
// allocated words, count them in an open-addressing hash table, sort the keys
// and print their ends.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct { char *key; long count; } Slot;
typedef struct { Slot *slots; size_t cap, len; } Table;

static void *xrealloc(void *p, size_t n) {
    p = realloc(p, n);
    if (!p) { fputs("out of memory\n", stderr); exit(1); }
    return p;
}

static size_t hash(const char *s) { // FNV-1a
    size_t h = 14695981039346656037u;
    for (; *s; s++) h = (h ^ (unsigned char)*s) * 1099511628211u;
    return h;
}

static Slot *find(Table *t, const char *key) {
    size_t i = hash(key) & (t->cap - 1);
    while (t->slots[i].key && strcmp(t->slots[i].key, key) != 0) i = (i + 1) & (t->cap - 1);
    return &t->slots[i];
}

static void add(Table *t, char *key) {
    if (2 * (t->len + 1) > t->cap) { // grow to keep the load under 1/2
        Table bigger = { calloc(t->cap * 2, sizeof(Slot)), t->cap * 2, t->len };
        for (size_t i = 0; i < t->cap; i++)
            if (t->slots[i].key) *find(&bigger, t->slots[i].key) = t->slots[i];
        free(t->slots);
        *t = bigger;
    }
    Slot *slot = find(t, key);
    if (!slot->key) { slot->key = key; t->len++; }
    slot->count++;
}

static int by_key(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int main(void) {
    const long n = 200000;
    size_t len = 0, cap = 16;
    char *text = xrealloc(NULL, cap);
    for (long i = 0; i < n; i++) {
        char word[32];
        int w = snprintf(word, sizeof word, i == 0 ? "w%ld" : " w%ld", i * 7919 % 5000);
        while (len + w + 1 > cap) text = xrealloc(text, cap *= 2);
        memcpy(text + len, word, w + 1);
        len += w;
    }

    size_t nwords = 0, wcap = 16;
    char **words = xrealloc(NULL, wcap * sizeof *words);
    for (char *start = text;;) {
        char *end = strchr(start, ' ');
        size_t wlen = end ? (size_t)(end - start) : strlen(start);
        if (nwords == wcap) words = xrealloc(words, (wcap *= 2) * sizeof *words);
        words[nwords] = xrealloc(NULL, wlen + 1);
        memcpy(words[nwords], start, wlen);
        words[nwords++][wlen] = '\0';
        if (!end) break;
        start = end + 1;
    }

    Table counts = { calloc(16, sizeof(Slot)), 16, 0 };
    for (size_t i = 0; i < nwords; i++) add(&counts, words[i]);
    char **keys = xrealloc(NULL, counts.len * sizeof *keys);
    size_t nkeys = 0;
    for (size_t i = 0; i < counts.cap; i++)
        if (counts.slots[i].key) keys[nkeys++] = counts.slots[i].key;
    qsort(keys, nkeys, sizeof *keys, by_key);

    printf("words %zu\n", nwords);
    printf("distinct %zu\n", nkeys);
    printf("first %s %ld\n", keys[0], find(&counts, keys[0])->count);
    printf("last %s %ld\n", keys[nkeys - 1], find(&counts, keys[nkeys - 1])->count);
    return 0;
}
