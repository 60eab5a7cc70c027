/* One pass over a binary log file, for the timeline.
 *
 * A day of binlogs holds millions of events; looking at each from Python
 * costs seconds per hundred megabytes. This walk reads the file in large
 * blocks, checks every event's CRC32, keeps the table maps to itself, counts
 * the rows of every rows event (row images are walked with the column types
 * and metadata of their table map; values are never decoded), and groups
 * events into transactions. Python receives one tuple per transaction and a
 * few per file (format description, GTID list, rotate, stop). Layouts:
 * MariaDB sql/log_event.h, log_event.cc, rpl_utility.cc (calc_field_size,
 * table_def), mysys/my_compress and log_event.cc (binlog_buf_uncompress).
 *
 * Records handed back (first item says which):
 *   (1, start, end, ts_start, ts_end, server_id, domain, seq, gtid_flags,
 *    commit_id, uuid, end_kind, tables, statements)
 *       tables: flat (table_id, kind, rows, ...) with rows -1 when unknown,
 *               kind | 4 when a row image lacks columns (MINIMAL/NOBLOB);
 *       statements: None or ((pos, exec_time, db, sql, compressed), ...)
 *   (2, pos, table_id, db, table)          a table id first seen or remapped
 *   (3, pos, ts, (domain, server, seq, ...)) MariaDB Gtid_list
 *   (4, pos, ts, next_pos, next_name)       Rotate
 *   (5, pos, ts)                            Stop
 *   (6, pos, ts, body)                      MySQL Previous_gtids
 *   (7, pos, ts, name)                      Binlog_checkpoint
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#define HEADER 19
#define BLOCK (4 << 20)
#define MAX_EVENT (1u << 30)  /* max_allowed_packet's ceiling */
#define IN_USE_FLAG 0x1
#define BUCKETS 1024

enum {
    QUERY = 2, STOP = 3, ROTATE = 4, FORMAT_DESCRIPTION = 15, XID = 16, TABLE_MAP = 19,
    WRITE_V1 = 23, UPDATE_V1 = 24, DELETE_V1 = 25, WRITE_V2 = 30, UPDATE_V2 = 31, DELETE_V2 = 32,
    MYSQL_GTID = 33, ANONYMOUS_GTID = 34, PREVIOUS_GTIDS = 35, XA_PREPARE = 38, PARTIAL_UPDATE = 39,
    TRANSACTION_PAYLOAD = 40, BINLOG_CHECKPOINT = 161, GTID = 162, GTID_LIST = 163,
    START_ENCRYPTION = 164, QUERY_COMPRESSED = 165, WRITE_C_V1 = 166, UPDATE_C_V1 = 167,
    DELETE_C_V1 = 168, WRITE_C = 169, UPDATE_C = 170, DELETE_C = 171,
};

/* How a transaction ended (mirrored in events.py). */
enum { END_XID = 0, END_COMMIT = 1, END_ROLLBACK = 2, END_STATEMENT = 3, END_XA_PREPARE = 4, END_CUT = 5 };

enum { FL_STANDALONE = 1, FL_GROUP_COMMIT_ID = 2 };

static uint32_t le16(const unsigned char *p) { return (uint32_t)p[0] | (uint32_t)p[1] << 8; }
static uint32_t le24(const unsigned char *p) { return le16(p) | (uint32_t)p[2] << 16; }
static uint32_t le32(const unsigned char *p) { return le24(p) | (uint32_t)p[3] << 24; }
static uint64_t le48(const unsigned char *p) { return (uint64_t)le32(p) | (uint64_t)le16(p + 4) << 32; }
static uint64_t le64(const unsigned char *p) { return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32; }

/* ---- buffered reading --------------------------------------------------- */

typedef struct {
    int fd;
    unsigned char *buf;
    size_t cap;
    long long start;  /* file offset of buf[0] */
    size_t len;       /* valid bytes in buf */
    int os_error;
} Reader;

/* Make [pos, pos+need) available; returns NULL when the file ends first (r->len says how much is there). */
static const unsigned char *want(Reader *r, long long pos, size_t need) {
    if (pos >= r->start && pos + (long long)need <= r->start + (long long)r->len)
        return r->buf + (pos - r->start);
    if (need > r->cap) {
        size_t cap = need + BLOCK;
        unsigned char *grown = realloc(r->buf, cap);
        if (!grown) {
            r->os_error = ENOMEM;
            return NULL;
        }
        r->buf = grown;
        r->cap = cap;
    }
    size_t kept = 0;
    if (pos >= r->start && pos < r->start + (long long)r->len) {
        kept = (size_t)(r->start + (long long)r->len - pos);
        memmove(r->buf, r->buf + (pos - r->start), kept);
    }
    r->start = pos;
    r->len = kept;
    while (r->len < r->cap) {
        ssize_t n;
        Py_BEGIN_ALLOW_THREADS
        n = pread(r->fd, r->buf + r->len, r->cap - r->len, (off_t)(pos + (long long)r->len));
        Py_END_ALLOW_THREADS
        if (n < 0) {
            if (errno == EINTR) continue;
            r->os_error = errno;
            break;
        }
        if (n == 0) break;
        r->len += (size_t)n;
        if (r->len >= need) break;
    }
    return r->len >= need ? r->buf : NULL;
}

/* ---- table maps ---------------------------------------------------------- */

typedef struct Table {
    struct Table *next;
    uint64_t id;
    unsigned char *raw;  /* the table map body this entry was parsed from */
    size_t raw_len;
    unsigned long ncols;
    unsigned char *types;
    uint16_t *meta;
    int usable;          /* column metadata understood: rows can be counted */
} Table;

typedef struct {
    Table *bucket[BUCKETS];
} Tables;

static Table *table_find(Tables *t, uint64_t id) {
    for (Table *e = t->bucket[id % BUCKETS]; e; e = e->next)
        if (e->id == id) return e;
    return NULL;
}

static void table_free(Table *e) {
    free(e->raw);
    free(e->types);
    free(e->meta);
    free(e);
}

static void tables_clear(Tables *t) {
    for (int i = 0; i < BUCKETS; i++) {
        Table *e = t->bucket[i];
        while (e) {
            Table *next = e->next;
            table_free(e);
            e = next;
        }
        t->bucket[i] = NULL;
    }
}

/* A length-encoded integer; returns 0 when it runs past end or is the NULL marker. */
static int packed(const unsigned char **p, const unsigned char *end, uint64_t *out) {
    const unsigned char *q = *p;
    if (q >= end) return 0;
    if (*q < 251) { *out = *q; *p = q + 1; return 1; }
    if (*q == 252 && q + 3 <= end) { *out = le16(q + 1); *p = q + 3; return 1; }
    if (*q == 253 && q + 4 <= end) { *out = le24(q + 1); *p = q + 4; return 1; }
    if (*q == 254 && q + 9 <= end) { *out = le64(q + 1); *p = q + 9; return 1; }
    return 0;
}

/* Bytes of metadata a column type carries in a table map, -1 for a type we do not know. */
static int meta_width(unsigned char type) {
    switch (type) {
    case 4: case 5: case 17: case 18: case 19: case 141: case 245:
    case 249: case 250: case 251: case 252: case 255:
        return 1;
    case 15: case 16: case 140: case 246: case 247: case 248: case 253: case 254:
        return 2;
    case 0: case 1: case 2: case 3: case 6: case 7: case 8: case 9: case 10: case 11:
    case 12: case 13: case 14:
        return 0;
    default:
        return -1;
    }
}

/* Parse column types and metadata from a table map body after the db and table names. */
static void table_columns(Table *e, const unsigned char *p, const unsigned char *end) {
    uint64_t ncols, meta_len;
    e->usable = 0;
    if (!packed(&p, end, &ncols) || ncols > 4096 || p + ncols > end) return;
    e->ncols = (unsigned long)ncols;
    e->types = malloc(ncols ? ncols : 1);
    e->meta = calloc(ncols ? ncols : 1, sizeof(uint16_t));
    if (!e->types || !e->meta) return;
    memcpy(e->types, p, ncols);
    p += ncols;
    if (!packed(&p, end, &meta_len) || p + meta_len > end) return;
    const unsigned char *m = p, *mend = p + meta_len;
    for (unsigned long i = 0; i < e->ncols; i++) {
        unsigned char type = e->types[i];
        int w = meta_width(type);
        if (w < 0 || m + w > mend) return;
        if (w == 1) {
            e->meta[i] = m[0];
        } else if (w == 2) {
            if (type == 15 || type == 140 || type == 253 || type == 16)
                e->meta[i] = (uint16_t)le16(m);  /* VARCHAR: max length; BIT: bits | bytes << 8 */
            else
                e->meta[i] = (uint16_t)(m[0] << 8 | m[1]);  /* STRING/ENUM/SET: real type, length; DECIMAL */
        }
        m += w;
    }
    e->usable = 1;
}

static const int DIG2BYTES[10] = {0, 1, 1, 2, 2, 3, 3, 4, 4, 4};

/* Size of one non-NULL value in a row image, or -1 when it cannot be known. */
static long long value_size(unsigned char type, uint16_t meta, const unsigned char *p, const unsigned char *end) {
    switch (type) {
    case 1: case 13: return 1;
    case 2: return 2;
    case 9: return 3;
    case 3: case 7: return 4;
    case 8: case 12: return 8;
    case 4: case 5: return meta;
    case 6: return 0;
    case 10: case 11: case 14: return 3;
    case 17: return 4 + (meta + 1) / 2;
    case 18: return 5 + (meta + 1) / 2;
    case 19: return 3 + (meta + 1) / 2;
    case 246: {
        int precision = meta >> 8, scale = meta & 0xff, whole = precision - scale;
        if (whole < 0 || scale > 38) return -1;
        return (whole / 9) * 4 + DIG2BYTES[whole % 9] + (scale / 9) * 4 + DIG2BYTES[scale % 9];
    }
    case 16: return (meta >> 8) + ((meta & 0xff) ? 1 : 0);
    case 247: case 248: return meta & 0xff;
    case 15: case 140: case 253: {
        int prefix = meta > 255 ? 2 : 1;
        if (p + prefix > end) return -1;
        return prefix + (prefix == 1 ? p[0] : le16(p));
    }
    case 254: {
        int real = meta >> 8;
        if (real == 247 || real == 248) return meta & 0xff;
        int max = (((meta >> 4) & 0x300) ^ 0x300) + (meta & 0xff);
        int prefix = max > 255 ? 2 : 1;
        if (p + prefix > end) return -1;
        return prefix + (prefix == 1 ? p[0] : le16(p));
    }
    case 141: case 245: case 249: case 250: case 251: case 252: case 255: {
        if (meta < 1 || meta > 4 || p + meta > end) return -1;
        uint32_t n = meta == 1 ? p[0] : meta == 2 ? le16(p) : meta == 3 ? le24(p) : le32(p);
        return (long long)meta + n;
    }
    default:
        return -1;
    }
}

static unsigned long popcount_bits(const unsigned char *bits, unsigned long width) {
    unsigned long n = 0;
    for (unsigned long i = 0; i < width; i++) n += (bits[i / 8] >> (i % 8)) & 1;
    return n;
}

/* Step over one row image; returns the byte after it or NULL. */
static const unsigned char *skip_image(const Table *t, const unsigned char *p, const unsigned char *end,
                                       const unsigned char *present, unsigned long width, unsigned long used) {
    size_t nulls_len = (used + 7) / 8;
    if (p + nulls_len > end) return NULL;
    const unsigned char *nulls = p;
    p += nulls_len;
    unsigned long k = 0;
    for (unsigned long col = 0; col < width; col++) {
        if (!((present[col / 8] >> (col % 8)) & 1)) continue;
        int is_null = (nulls[k / 8] >> (k % 8)) & 1;
        k++;
        if (is_null) continue;
        long long size = value_size(t->types[col], t->meta[col], p, end);
        if (size < 0 || p + size > end) return NULL;
        p += size;
    }
    return p;
}

static long long count_rows(const Table *t, const unsigned char *p, const unsigned char *end, unsigned long width,
                            const unsigned char *before, const unsigned char *after) {
    unsigned long used_before = popcount_bits(before, width);
    unsigned long used_after = after ? popcount_bits(after, width) : 0;
    long long rows = 0;
    while (p < end) {
        p = skip_image(t, p, end, before, width, used_before);
        if (p && after) p = skip_image(t, p, end, after, width, used_after);
        if (!p) return -1;
        rows++;
    }
    return rows;
}

/* MariaDB's compressed payload: a header byte (0x80 | algorithm << 4 | length bytes), the big-endian
 * original length, then a zlib stream. Returns a malloc'ed buffer or NULL. */
static unsigned char *inflate_payload(const unsigned char *p, size_t len, size_t *out_len) {
    if (len < 2 || (p[0] & 0xe0) != 0x80) return NULL;
    unsigned lenlen = p[0] & 0x07;
    if (lenlen < 1 || lenlen > 4 || len < 1 + lenlen) return NULL;
    uLongf original = 0;
    for (unsigned i = 0; i < lenlen; i++) original = original << 8 | p[1 + i];
    if (original > MAX_EVENT) return NULL;
    unsigned char *out = malloc(original ? original : 1);
    if (!out) return NULL;
    uLongf got = original;
    if (uncompress(out, &got, p + 1 + lenlen, (uLong)(len - 1 - lenlen)) != Z_OK || got != original) {
        free(out);
        return NULL;
    }
    *out_len = got;
    return out;
}

/* ---- transactions -------------------------------------------------------- */

typedef struct {
    uint64_t table_id;
    int kind;
    long long rows;
} Touch;

typedef struct {
    int open, in_begin;
    long long start;
    uint32_t ts_start, server_id;
    long long domain;
    uint64_t seq, commit_id;
    int flags;
    PyObject *uuid;        /* MySQL server uuid bytes, or NULL */
    Touch *touch;
    size_t ntouch, cap;
    PyObject *statements;  /* list or NULL */
} Trx;

static void trx_reset(Trx *x) {
    x->open = x->in_begin = 0;
    x->ntouch = 0;
    Py_CLEAR(x->uuid);
    Py_CLEAR(x->statements);
}

static int trx_touch(Trx *x, uint64_t table_id, int kind, long long rows) {
    for (size_t i = 0; i < x->ntouch; i++) {
        Touch *t = &x->touch[i];
        if (t->table_id == table_id && t->kind == kind) {
            t->rows = (t->rows < 0 || rows < 0) ? -1 : t->rows + rows;
            return 0;
        }
    }
    if (x->ntouch == x->cap) {
        size_t cap = x->cap ? x->cap * 2 : 8;
        Touch *grown = realloc(x->touch, cap * sizeof(Touch));
        if (!grown) { PyErr_NoMemory(); return -1; }
        x->touch = grown;
        x->cap = cap;
    }
    x->touch[x->ntouch++] = (Touch){table_id, kind, rows};
    return 0;
}

static void trx_open(Trx *x, long long start, uint32_t ts, uint32_t server_id) {
    trx_reset(x);
    x->open = 1;
    x->start = start;
    x->ts_start = ts;
    x->server_id = server_id;
    x->domain = -1;
    x->seq = 0;
    x->commit_id = 0;
    x->flags = 0;
}

static int trx_emit(Trx *x, PyObject *out, long long end, uint32_t ts_end, int end_kind) {
    PyObject *tables = PyTuple_New((Py_ssize_t)x->ntouch * 3);
    if (!tables) return -1;
    for (size_t i = 0; i < x->ntouch; i++) {
        PyTuple_SET_ITEM(tables, i * 3, PyLong_FromUnsignedLongLong(x->touch[i].table_id));
        PyTuple_SET_ITEM(tables, i * 3 + 1, PyLong_FromLong(x->touch[i].kind));
        PyTuple_SET_ITEM(tables, i * 3 + 2, PyLong_FromLongLong(x->touch[i].rows));
    }
    PyObject *statements = x->statements ? PyList_AsTuple(x->statements) : Py_NewRef(Py_None);
    PyObject *rec = statements ? Py_BuildValue(
        "(iLLkkkLKiKOiNN)", 1, x->start, end, (unsigned long)x->ts_start, (unsigned long)ts_end,
        (unsigned long)x->server_id, x->domain, (unsigned long long)x->seq, x->flags,
        (unsigned long long)x->commit_id, x->uuid ? x->uuid : Py_None, end_kind, tables, statements) : NULL;
    if (!statements) Py_DECREF(tables);
    if (!rec) return -1;
    int rc = PyList_Append(out, rec);
    Py_DECREF(rec);
    trx_reset(x);
    return rc;
}

/* ---- the walk ------------------------------------------------------------ */

typedef struct {
    Reader r;
    Tables tables;
    Trx trx;
    PyObject *out;
    int checksum;                   /* 1: CRC32 on every event */
    unsigned char post_header[256]; /* post-header length per event type */
    const char *error_code;
    long long error_pos;
    char error_detail[160];
} Walk;

static int fail(Walk *w, const char *code, long long pos, const char *detail) {
    w->error_code = code;
    w->error_pos = pos;
    snprintf(w->error_detail, sizeof w->error_detail, "%s", detail);
    return 1;
}

static int append(Walk *w, PyObject *rec) {
    if (!rec) return -1;
    int rc = PyList_Append(w->out, rec);
    Py_DECREF(rec);
    return rc;
}

static int ieq(const unsigned char *s, size_t n, const char *word) {
    size_t k = strlen(word);
    return n == k && strncasecmp((const char *)s, word, k) == 0;
}

static int iprefix(const unsigned char *s, size_t n, const char *word) {
    size_t k = strlen(word);
    return n >= k && strncasecmp((const char *)s, word, k) == 0;
}

/* A query event: BEGIN/COMMIT/ROLLBACK steer the transaction, anything else is kept as a statement. */
static int on_query(Walk *w, const unsigned char *ev, size_t body_len, long long pos, int compressed) {
    const unsigned char *body = ev + HEADER, *end = body + body_len;
    size_t phl = w->post_header[QUERY] ? w->post_header[QUERY] : 13;
    if (body_len < phl) return fail(w, "corrupt", pos, "query event shorter than its post-header");
    uint32_t exec_time = le32(body + 4);
    size_t db_len = body[8];
    size_t status_len = phl >= 13 ? le16(body + 11) : 0;
    const unsigned char *db = body + phl + status_len;
    const unsigned char *sql = db + db_len + 1;
    if (sql > end) return fail(w, "corrupt", pos, "query event's schema runs past its end");
    size_t sql_len = (size_t)(end - sql);
    unsigned char *inflated = NULL;
    if (compressed) {
        inflated = inflate_payload(sql, sql_len, &sql_len);
        if (!inflated) return fail(w, "corrupt", pos, "compressed query does not inflate");
        sql = inflated;
    }
    const unsigned char *s = sql;
    size_t n = sql_len;
    while (n && (*s == ' ' || *s == '\n' || *s == '\t' || *s == '\r')) s++, n--;
    while (n && (s[n - 1] == ' ' || s[n - 1] == '\n' || s[n - 1] == ';' || s[n - 1] == '\0')) n--;
    uint32_t ts = le32(ev);
    int rc = 0;
    Trx *x = &w->trx;
    if (ieq(s, n, "BEGIN") || iprefix(s, n, "XA START") || iprefix(s, n, "XA BEGIN")) {
        if (!x->open) trx_open(x, pos, ts, le32(ev + 5));
        x->in_begin = 1;
        if (!iprefix(s, n, "XA")) goto done;
    }
    if (x->open && x->in_begin && iprefix(s, n, "COMMIT")) {
        rc = trx_emit(x, w->out, pos + HEADER + (long long)body_len + (w->checksum ? 4 : 0), ts, END_COMMIT);
        goto done;
    }
    if (x->open && x->in_begin && ieq(s, n, "ROLLBACK")) {
        rc = trx_emit(x, w->out, pos + HEADER + (long long)body_len + (w->checksum ? 4 : 0), ts, END_ROLLBACK);
        goto done;
    }
    if (!x->open) trx_open(x, pos, ts, le32(ev + 5));
    if (!x->statements && !(x->statements = PyList_New(0))) { rc = -1; goto done; }
    {
        PyObject *st = Py_BuildValue("(Lky#y#O)", pos, (unsigned long)exec_time, (const char *)db,
                                     (Py_ssize_t)db_len, (const char *)sql, (Py_ssize_t)sql_len,
                                     compressed ? Py_True : Py_False);
        if (!st || PyList_Append(x->statements, st) < 0) rc = -1;
        Py_XDECREF(st);
    }
    if (rc == 0 && !x->in_begin)
        rc = trx_emit(x, w->out, pos + HEADER + (long long)body_len + (w->checksum ? 4 : 0), ts, END_STATEMENT);
done:
    free(inflated);
    return rc < 0 ? -1 : 0;
}

static int on_table_map(Walk *w, const unsigned char *ev, size_t body_len, long long pos) {
    const unsigned char *body = ev + HEADER, *end = body + body_len;
    size_t phl = w->post_header[TABLE_MAP] ? w->post_header[TABLE_MAP] : 8;
    if (body_len < phl + 2) return fail(w, "corrupt", pos, "table map shorter than its post-header");
    uint64_t id = phl == 6 ? le32(body) : le48(body);
    const unsigned char *raw = body + phl;
    size_t raw_len = body_len - phl;
    Table *e = table_find(&w->tables, id);
    if (e && e->raw_len == raw_len && memcmp(e->raw, raw, raw_len) == 0) return 0;
    const unsigned char *p = raw;
    size_t db_len = p[0];
    const unsigned char *db = p + 1;
    if (db + db_len + 2 > end) return fail(w, "corrupt", pos, "table map's schema runs past its end");
    size_t name_len = db[db_len + 1];
    const unsigned char *name = db + db_len + 2;
    if (name + name_len + 1 > end) return fail(w, "corrupt", pos, "table map's table runs past its end");
    Table *fresh = calloc(1, sizeof(Table));
    if (!fresh || !(fresh->raw = malloc(raw_len ? raw_len : 1))) {
        free(fresh);
        PyErr_NoMemory();
        return -1;
    }
    memcpy(fresh->raw, raw, raw_len);
    fresh->raw_len = raw_len;
    fresh->id = id;
    table_columns(fresh, name + name_len + 1, end);
    /* unlink and free the old entry */
    Table **link = &w->tables.bucket[id % BUCKETS];
    while (*link && *link != e) link = &(*link)->next;
    if (e && *link == e) {
        *link = e->next;
        table_free(e);
    }
    fresh->next = w->tables.bucket[id % BUCKETS];
    w->tables.bucket[id % BUCKETS] = fresh;
    return append(w, Py_BuildValue("(iLKy#y#)", 2, pos, (unsigned long long)id, (const char *)db,
                                   (Py_ssize_t)db_len, (const char *)name, (Py_ssize_t)name_len));
}

static int rows_kind(int type) {
    switch (type) {
    case WRITE_V1: case WRITE_V2: case WRITE_C_V1: case WRITE_C: return 0;
    case UPDATE_V1: case UPDATE_V2: case UPDATE_C_V1: case UPDATE_C: case PARTIAL_UPDATE: return 1;
    case DELETE_V1: case DELETE_V2: case DELETE_C_V1: case DELETE_C: return 2;
    default: return -1;
    }
}

#define PARTIAL_IMAGE 4

/* Every one of *width* columns present in the image bitmap at *p*? */
static int full_bitmap(const unsigned char *p, const unsigned char *end, uint64_t width) {
    if (p > end || width > (uint64_t)(end - p) * 8) return 0;
    for (uint64_t col = 0; col < width; col++)
        if (!((p[col / 8] >> (col % 8)) & 1)) return 0;
    return 1;
}

static int on_rows(Walk *w, int type, const unsigned char *ev, size_t body_len, long long pos) {
    const unsigned char *body = ev + HEADER, *end = body + body_len;
    size_t phl = w->post_header[type] ? w->post_header[type] : (type >= WRITE_V2 && type <= DELETE_V2 ? 10 : 8);
    if (body_len < phl) return fail(w, "corrupt", pos, "rows event shorter than its post-header");
    uint64_t id = phl == 6 ? le32(body) : le48(body);
    const unsigned char *p = body + phl;
    if (phl == 10) {
        size_t extra = le16(body + 8);
        if (extra < 2 || body + 8 + extra > end) return fail(w, "corrupt", pos, "rows event's extra data runs past its end");
        p = body + 8 + extra;
    }
    int kind = rows_kind(type);
    Trx *x = &w->trx;
    if (!x->open) {
        trx_open(x, pos, le32(ev), le32(ev + 5));
        x->in_begin = 1;
    }
    long long rows = -1;
    uint64_t width;
    Table *t = table_find(&w->tables, id);
    int have_width = packed(&p, end, &width);
    /* A row image missing columns (binlog_row_image=MINIMAL/NOBLOB, a MySQL partial update) is
       marked PARTIAL_IMAGE in the kind: such rows cannot be reversed by flashback. */
    if (type == PARTIAL_UPDATE || !have_width || (t && width != t->ncols) ||
        !full_bitmap(p, end, width) || (kind == 1 && !full_bitmap(p + (width + 7) / 8, end, width)))
        kind |= PARTIAL_IMAGE;
    if (type != PARTIAL_UPDATE && have_width && t && t->usable && width <= t->ncols) {
        size_t bitmap = (size_t)((width + 7) / 8);
        const unsigned char *before = p, *after = NULL;
        p += bitmap;
        if ((kind & 3) == 1) { after = p; p += bitmap; }
        if (p <= end) {
            int compressed = type >= WRITE_C_V1 && type <= DELETE_C;
            if (compressed) {
                size_t n;
                unsigned char *inflated = inflate_payload(p, (size_t)(end - p), &n);
                if (!inflated) return fail(w, "corrupt", pos, "compressed rows do not inflate");
                rows = count_rows(t, inflated, inflated + n, (unsigned long)width, before, after);
                free(inflated);
            } else {
                rows = count_rows(t, p, end, (unsigned long)width, before, after);
            }
        }
    }
    return trx_touch(x, id, kind, rows);
}

static int on_gtid(Walk *w, const unsigned char *ev, size_t body_len, long long pos) {
    const unsigned char *body = ev + HEADER;
    if (body_len < 13) return fail(w, "corrupt", pos, "GTID event too short");
    Trx *x = &w->trx;
    if (x->open && trx_emit(x, w->out, pos, le32(ev), END_CUT) < 0) return -1;
    trx_open(x, pos, le32(ev), le32(ev + 5));
    x->seq = le64(body);
    x->domain = le32(body + 8);
    x->flags = body[12];
    if ((x->flags & FL_GROUP_COMMIT_ID) && body_len >= 21) x->commit_id = le64(body + 13);
    x->in_begin = !(x->flags & FL_STANDALONE);
    return 0;
}

static int on_mysql_gtid(Walk *w, int type, const unsigned char *ev, size_t body_len, long long pos) {
    const unsigned char *body = ev + HEADER;
    if (body_len < 25) return fail(w, "corrupt", pos, "GTID event too short");
    Trx *x = &w->trx;
    if (x->open && trx_emit(x, w->out, pos, le32(ev), END_CUT) < 0) return -1;
    trx_open(x, pos, le32(ev), le32(ev + 5));
    x->flags = body[0];
    if (type == MYSQL_GTID) {
        x->uuid = PyBytes_FromStringAndSize((const char *)body + 1, 16);
        if (!x->uuid) return -1;
        x->seq = le64(body + 17);
    }
    return 0;
}

static int on_format(Walk *w, const unsigned char *ev, size_t size, PyObject **fd_info) {
    const unsigned char *body = ev + HEADER;
    if (size < HEADER + 57 + 5) return fail(w, "corrupt", 4, "format description event too short");
    char version[51];
    memcpy(version, body + 2, 50);
    version[50] = 0;
    int major = 0, minor = 0, patch = 0;
    sscanf(version, "%d.%d.%d", &major, &minor, &patch);
    long v = major * 10000L + minor * 100 + patch;
    int aware = strstr(version, "MariaDB") ? v >= 50300 : v >= 50601;
    int alg = aware ? ev[size - 5] : 0;
    size_t tail = aware ? 5 : 0;
    size_t n = size - HEADER - 57 - tail;
    memset(w->post_header, 0, sizeof w->post_header);
    for (size_t i = 0; i < n && i < 255; i++) w->post_header[i + 1] = body[57 + i];
    w->checksum = alg == 1;
    *fd_info = Py_BuildValue("(isklikk)", (int)le16(body), version, (unsigned long)le32(body + 52), alg,
                             (int)(le16(ev + 17) & IN_USE_FLAG), (unsigned long)le32(ev + 5),
                             (unsigned long)le32(ev));
    return *fd_info ? 0 : -1;
}

static int crc_ok(const unsigned char *ev, size_t size) {
    uLong crc;
    if (ev[4] == FORMAT_DESCRIPTION && (ev[17] & IN_USE_FLAG)) {
        unsigned char head[HEADER];
        memcpy(head, ev, HEADER);
        head[17] &= (unsigned char)~IN_USE_FLAG;
        crc = crc32(0L, head, HEADER);
        crc = crc32(crc, ev + HEADER, (uInt)(size - HEADER - 4));
    } else {
        crc = crc32(0L, ev, (uInt)(size - 4));
    }
    return (uint32_t)crc == le32(ev + size - 4);
}

/* walk(fd) -> (fd_info, records, end, last_ts, open_start, error) */
static PyObject *walk(PyObject *Py_UNUSED(self), PyObject *args) {
    int fd;
    if (!PyArg_ParseTuple(args, "i", &fd)) return NULL;
    struct stat st;
    if (fstat(fd, &st) < 0) return PyErr_SetFromErrno(PyExc_OSError);
    long long file_size = (long long)st.st_size;
    Walk w;
    memset(&w, 0, sizeof w);
    w.r.fd = fd;
    w.r.start = 0;
    w.out = PyList_New(0);
    PyObject *fd_info = NULL;
    if (!w.out) return NULL;
    long long pos = 4;
    uint32_t last_ts = 0;
    int failed = 0;
    const unsigned char *magic = want(&w.r, 0, 4);
    if (!magic || memcmp(magic, "\xfe" "bin", 4) != 0) {
        fail(&w, w.r.os_error ? "os" : "magic", 0, w.r.os_error ? strerror(w.r.os_error) : "no binlog magic");
        goto finish;
    }
    for (;;) {
        const unsigned char *head = want(&w.r, pos, HEADER);
        if (!head) {
            if (w.r.os_error) fail(&w, "os", pos, strerror(w.r.os_error));
            else if (w.r.len > 0 && w.r.start == pos) fail(&w, "truncated", pos, "the file ends inside an event header");
            break;
        }
        uint32_t size = le32(head + 9);
        int type = head[4];
        if (size < HEADER + (w.checksum ? 4u : 0u) || size > MAX_EVENT) {
            fail(&w, "corrupt", pos, "impossible event length");
            break;
        }
        if (pos + (long long)size > file_size) {  /* before allocating for a length that may be damaged */
            fail(&w, "truncated", pos, "the file ends inside an event");
            break;
        }
        const unsigned char *ev = want(&w.r, pos, size);
        if (!ev) {
            if (w.r.os_error) fail(&w, "os", pos, strerror(w.r.os_error));
            else fail(&w, "truncated", pos, "the file ends inside an event");
            break;
        }
        if (pos == 4) {
            if (type != FORMAT_DESCRIPTION) {
                fail(&w, "format", pos, "the first event is not a format description");
                break;
            }
            if (on_format(&w, ev, size, &fd_info) < 0) { failed = 1; break; }
            if (w.error_code) break;
        }
        if (w.checksum && !crc_ok(ev, size)) {
            fail(&w, "checksum", pos, "CRC32 mismatch");
            break;
        }
        size_t body_len = size - HEADER - (w.checksum ? 4 : 0);
        last_ts = le32(ev);
        int rc = 0;
        switch (type) {
        case GTID: rc = on_gtid(&w, ev, body_len, pos); break;
        case MYSQL_GTID: case ANONYMOUS_GTID: rc = on_mysql_gtid(&w, type, ev, body_len, pos); break;
        case QUERY: rc = on_query(&w, ev, body_len, pos, 0); break;
        case QUERY_COMPRESSED: rc = on_query(&w, ev, body_len, pos, 1); break;
        case TABLE_MAP: rc = on_table_map(&w, ev, body_len, pos); break;
        case XID:
            if (w.trx.open) rc = trx_emit(&w.trx, w.out, pos + size, le32(ev), END_XID);
            break;
        case XA_PREPARE:
            if (w.trx.open) rc = trx_emit(&w.trx, w.out, pos + size, le32(ev), END_XA_PREPARE);
            break;
        case GTID_LIST: {
            const unsigned char *b = ev + HEADER;
            if (body_len < 4) { fail(&w, "corrupt", pos, "GTID list too short"); break; }
            uint32_t count = le32(b) & 0x0fffffff;
            if (4 + (size_t)count * 16 > body_len) { fail(&w, "corrupt", pos, "GTID list runs past its end"); break; }
            PyObject *flat = PyTuple_New((Py_ssize_t)count * 3);
            if (!flat) { rc = -1; break; }
            for (uint32_t i = 0; i < count; i++) {
                const unsigned char *g = b + 4 + (size_t)i * 16;
                PyTuple_SET_ITEM(flat, i * 3, PyLong_FromUnsignedLong(le32(g)));
                PyTuple_SET_ITEM(flat, i * 3 + 1, PyLong_FromUnsignedLong(le32(g + 4)));
                PyTuple_SET_ITEM(flat, i * 3 + 2, PyLong_FromUnsignedLongLong(le64(g + 8)));
            }
            rc = append(&w, Py_BuildValue("(iLkN)", 3, pos, (unsigned long)le32(ev), flat));
            break;
        }
        case ROTATE:
            if (body_len < 8) { fail(&w, "corrupt", pos, "rotate event too short"); break; }
            rc = append(&w, Py_BuildValue("(iLkKy#)", 4, pos, (unsigned long)le32(ev),
                                          (unsigned long long)le64(ev + HEADER), (const char *)ev + HEADER + 8,
                                          (Py_ssize_t)(body_len - 8)));
            break;
        case STOP:
            rc = append(&w, Py_BuildValue("(iLk)", 5, pos, (unsigned long)le32(ev)));
            break;
        case PREVIOUS_GTIDS:
            rc = append(&w, Py_BuildValue("(iLky#)", 6, pos, (unsigned long)le32(ev), (const char *)ev + HEADER,
                                          (Py_ssize_t)body_len));
            break;
        case BINLOG_CHECKPOINT:
            if (body_len >= 4 && 4 + (size_t)le32(ev + HEADER) <= body_len)
                rc = append(&w, Py_BuildValue("(iLky#)", 7, pos, (unsigned long)le32(ev), (const char *)ev + HEADER + 4,
                                              (Py_ssize_t)le32(ev + HEADER)));
            break;
        case START_ENCRYPTION:
            fail(&w, "encrypted", pos, "the events after this one are encrypted");
            break;
        case TRANSACTION_PAYLOAD:
            fail(&w, "unsupported", pos, "MySQL compressed transaction payloads are not read");
            break;
        default:
            if (rows_kind(type) >= 0) rc = on_rows(&w, type, ev, body_len, pos);
            break;
        }
        if (rc < 0) { failed = 1; break; }
        if (w.error_code) break;
        pos += size;
    }
finish:
    {
        long long open_start = w.trx.open ? w.trx.start : -1;
        trx_reset(&w.trx);
        free(w.trx.touch);
        tables_clear(&w.tables);
        free(w.r.buf);
        if (failed) {
            Py_XDECREF(fd_info);
            Py_DECREF(w.out);
            return NULL;
        }
        PyObject *error = w.error_code
            ? Py_BuildValue("(sLs)", w.error_code, w.error_pos, w.error_detail) : Py_NewRef(Py_None);
        return Py_BuildValue("(NNLkLN)", fd_info ? fd_info : Py_NewRef(Py_None), w.out, pos,
                             (unsigned long)last_ts, open_start, error);
    }
}

static PyMethodDef METHODS[] = {
    {"walk", walk, METH_VARARGS, "Walk one binlog file: (fd_info, records, end, last_ts, open_start, error)."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef MODULE = {PyModuleDef_HEAD_INIT, "_walk", NULL, -1, METHODS, NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__walk(void) { return PyModule_Create(&MODULE); }
