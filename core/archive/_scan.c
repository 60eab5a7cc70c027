/* Header-only walk of an xbstream file, for the inventory.
 *
 * Listing a backup root means reading the checkpoints of every stream, and a
 * mariabackup stream of an idle server already has ~400 chunks; a walk in
 * Python costs a few milliseconds per stream, too slow for a thousand. This
 * walk reads one page per chunk header at most (none when the next header is
 * in the page already), never the payloads, except for the few small members
 * asked for. Layout: shared/FORMATS.md section 1, and xbstream.py, whose
 * messages these mirror.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>

#define BLOCK 4096
#define PREFIX 14     /* magic 8, flags 1, type 1, path_len 4 */
#define PAYLOAD 20    /* payload_len 8, offset 8, checksum 4 */
#define MAX_PATH 512  /* FN_REFLEN */
#define MAX_WANTED 64
#define MAX_FOUND 64   /* metadata members are small: a few chunks each */

enum { SUFFIX_QP = 1, SUFFIX_LZ4 = 2, SUFFIX_ZST = 4, SUFFIX_XBCRYPT = 8 };

typedef struct {
    int fd;
    unsigned char buf[BLOCK];
    long long start;   /* stream position of buf[0] */
    Py_ssize_t len;    /* valid bytes in buf */
    long long read;    /* bytes read so far */
    int os_error;      /* errno of a failed pread, 0 if none */
} Reader;

static uint32_t le32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const unsigned char *p) { return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32; }

/* Make *need* bytes at *pos* available in the buffer; returns a pointer or NULL when short. */
static const unsigned char *fill(Reader *r, long long pos, Py_ssize_t need) {
    if (pos < r->start || pos + need > r->start + r->len) {
        ssize_t n = pread(r->fd, r->buf, BLOCK, (off_t)pos);
        if (n < 0) {
            r->os_error = errno;
            n = 0;
        }
        r->start = pos;
        r->len = n;
        r->read += n;
        if (n < need) return NULL;
    }
    return r->buf + (pos - r->start);
}

static int ends_with(const char *s, Py_ssize_t n, const char *tail) {
    Py_ssize_t t = (Py_ssize_t)strlen(tail);
    return n >= t && memcmp(s + n - t, tail, (size_t)t) == 0;
}

static int suffixes(const char *path, Py_ssize_t n) {
    int found = 0;
    if (ends_with(path, n, ".xbcrypt")) {
        found |= SUFFIX_XBCRYPT;
        n -= 8;
    }
    if (ends_with(path, n, ".qp")) found |= SUFFIX_QP;
    else if (ends_with(path, n, ".lz4")) found |= SUFFIX_LZ4;
    else if (ends_with(path, n, ".zst")) found |= SUFFIX_ZST;
    return found;
}

/* A wanted payload chunk found by the walk; its payload is read once the GIL is held again. */
typedef struct {
    char path[MAX_PATH];
    uint32_t path_len;
    uint64_t offset, length;
    uint32_t checksum;
    long long position, data;
} Found;

/* The walk proper: touches no Python object, so it runs with the GIL released. */
static void walk(Reader *r, long long size, const char **names, const Py_ssize_t *lengths, Py_ssize_t n_wanted,
                 long long max_size, Found *found, int *n_found, long long *chunks, int *seen, char *error,
                 size_t error_size) {
    long long pos = 0;
    while (pos < size) {
        const unsigned char *p = fill(r, pos, PREFIX);
        if (p == NULL) {
            snprintf(error, error_size, "truncated chunk header at offset 0x%llx", pos);
            return;
        }
        if (memcmp(p, "XBSTCK01", 8) != 0) {
            snprintf(error, error_size, "%s at offset 0x%llx", pos == 0 ? "not an xbstream file" : "bad chunk magic",
                     pos);
            return;
        }
        unsigned flags = p[8], type = p[9];
        uint32_t path_len = le32(p + 10);
        if (path_len >= MAX_PATH) {
            snprintf(error, error_size, "member path length %u too long at offset 0x%llx", path_len, pos);
            return;
        }
        if (type != 'P' && type != 'S' && type != 'E' && !(flags & 1)) {
            snprintf(error, error_size, "unknown chunk type %#04x at offset 0x%llx", type, pos);
            return;
        }
        Py_ssize_t head = PREFIX + path_len + (type == 'E' ? 0 : (type == 'S' ? 4 : 0) + PAYLOAD);
        p = fill(r, pos, head);
        if (p == NULL) {
            snprintf(error, error_size, "truncated chunk header at offset 0x%llx", pos);
            return;
        }
        const char *path = (const char *)p + PREFIX;
        (*chunks)++;
        *seen |= suffixes(path, path_len);
        if (type == 'E') {
            pos += head;
            continue;
        }
        const unsigned char *q = p + PREFIX + path_len;
        uint64_t sparse = 0;
        if (type == 'S') {
            sparse = le32(q);
            q += 4;
        }
        uint64_t payload_len = le64(q);
        long long data = pos + head;
        if (payload_len > (uint64_t)size || (uint64_t)data + 8 * sparse + payload_len > (uint64_t)size) {
            snprintf(error, error_size, "truncated payload in chunk at offset 0x%llx", pos);
            return;
        }
        int is_wanted = 0;
        for (Py_ssize_t i = 0; type == 'P' && i < n_wanted && !is_wanted; i++)
            is_wanted = lengths[i] == (Py_ssize_t)path_len && memcmp(names[i], path, path_len) == 0;
        if (is_wanted) {
            if ((long long)payload_len > max_size || *n_found == MAX_FOUND) {
                snprintf(error, error_size, "unexpected chunk for %.*s at offset 0x%llx", (int)path_len, path, pos);
                return;
            }
            Found *f = &found[(*n_found)++];
            memcpy(f->path, path, path_len);
            f->path_len = path_len;
            f->offset = le64(q + 8);
            f->length = payload_len;
            f->checksum = le32(q + 16);
            f->position = pos;
            f->data = data;
        }
        pos = data + (long long)(8 * sparse + payload_len);
    }
}

PyDoc_STRVAR(scan_doc,
"scan(fd, size, wanted, max_size) -> (chunks, bytes_read, suffixes, found, error)\n\n"
"Walk the chunk headers of the xbstream open on *fd* (*size* bytes), reading the\n"
"payload chunks of members whose names are in the tuple *wanted* (each at most\n"
"*max_size* bytes). *found* lists (name, offset, payload, checksum, position) in\n"
"stream order; *suffixes* ORs 1 .qp, 2 .lz4, 4 .zst, 8 .xbcrypt over all member\n"
"names; *error* is None or a one-line reason with the offset, in which case the\n"
"other values describe the stream up to that point. The GIL is released during\n"
"the walk, so threads can walk several streams at once.");

static PyObject *scan(PyObject *self, PyObject *args) {
    int fd;
    long long size, max_size;
    PyObject *wanted;
    (void)self;
    if (!PyArg_ParseTuple(args, "iLO!L", &fd, &size, &PyTuple_Type, &wanted, &max_size)) return NULL;
    Py_ssize_t n_wanted = PyTuple_GET_SIZE(wanted);
    if (n_wanted > MAX_WANTED) {
        PyErr_SetString(PyExc_ValueError, "too many wanted members");
        return NULL;
    }
    const char *names[MAX_WANTED];
    Py_ssize_t lengths[MAX_WANTED];
    for (Py_ssize_t i = 0; i < n_wanted; i++) {
        names[i] = PyUnicode_AsUTF8AndSize(PyTuple_GET_ITEM(wanted, i), &lengths[i]);
        if (names[i] == NULL) return NULL;
    }
    Reader *r = PyMem_RawCalloc(1, sizeof(Reader));
    Found *found = PyMem_RawCalloc(MAX_FOUND, sizeof(Found));
    if (r == NULL || found == NULL) {
        PyMem_RawFree(r);
        PyMem_RawFree(found);
        return PyErr_NoMemory();
    }
    r->fd = fd;
    r->start = -1;
    char error[640] = "";
    long long chunks = 0;
    int seen = 0, n_found = 0;
    Py_BEGIN_ALLOW_THREADS
    walk(r, size, names, lengths, n_wanted, max_size, found, &n_found, &chunks, &seen, error, sizeof error);
    Py_END_ALLOW_THREADS
    PyObject *list = PyList_New(0);
    for (int i = 0; list != NULL && i < n_found; i++) {
        Found *f = &found[i];
        PyObject *payload = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)f->length);
        if (payload == NULL) {
            Py_CLEAR(list);
            break;
        }
        ssize_t got = pread(fd, PyBytes_AS_STRING(payload), f->length, (off_t)f->data);
        if (got != (ssize_t)f->length) {
            Py_DECREF(payload);
            if (!error[0]) snprintf(error, sizeof error, "truncated payload in chunk at offset 0x%llx", f->position);
            break;
        }
        r->read += got;
        PyObject *item = Py_BuildValue("(NKNkL)", PyUnicode_DecodeUTF8(f->path, f->path_len, "surrogateescape"),
                                       (unsigned long long)f->offset, payload, (unsigned long)f->checksum,
                                       f->position);
        if (item == NULL || PyList_Append(list, item) < 0) Py_CLEAR(list);
        Py_XDECREF(item);
    }
    if (r->os_error && !error[0]) snprintf(error, sizeof error, "read error: %s", strerror(r->os_error));
    long long bytes_read = r->read;
    PyMem_RawFree(r);
    PyMem_RawFree(found);
    if (list == NULL) return NULL;
    if (error[0]) return Py_BuildValue("(LLiNs)", chunks, bytes_read, seen, list, error);
    return Py_BuildValue("(LLiNO)", chunks, bytes_read, seen, list, Py_None);
}

static PyMethodDef methods[] = {
    {"scan", scan, METH_VARARGS, scan_doc},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_scan", "Fast header-only walk of xbstream files (see scan).", -1, methods,
};

PyMODINIT_FUNC PyInit__scan(void) { return PyModule_Create(&module); }
