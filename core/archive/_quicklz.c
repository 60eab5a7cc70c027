/*
 * QuickLZ level-1 block decoder (the block format qpress and `--compress`
 * write), written from the format description in shared/FORMATS.md §3.
 *
 * A block is a 3- or 9-byte header followed by groups of one 32-bit control
 * word and up to 31 items.  Each control bit says whether the next item is a
 * literal byte (0) or a match (1).  A match is a 12-bit hash of the 3-byte
 * prefix it repeats plus a length; the decoder keeps the same hash table the
 * encoder kept (position of the last occurrence of each hashed prefix), so
 * the match source is found by lookup rather than by an explicit offset.
 *
 * Every read and write is bounds-checked: a corrupt block raises ValueError,
 * never reads or writes outside its buffers.  The GIL is released while
 * decoding so several blocks can be decoded on different cores.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

#define HASH_VALUES 4096
#define CWORD_LEN 4
#define TAIL_LEN 10 /* the last literals the encoder never covers by a match */

static inline uint32_t read_le(const unsigned char *p, int n)
{
    uint32_t value = 0;
    for (int i = n - 1; i >= 0; i--)
        value = (value << 8) | p[i];
    return value;
}

static inline uint32_t prefix_hash(const unsigned char *p)
{
    uint32_t fetch = read_le(p, 3);
    return ((fetch >> 12) ^ fetch) & (HASH_VALUES - 1);
}

/* Hash every position after *hashed up to and including *upto. */
static inline void hash_upto(int64_t *table, int64_t *hashed, int64_t upto, const unsigned char *out)
{
    while (*hashed < upto) {
        (*hashed)++;
        table[prefix_hash(out + *hashed)] = *hashed;
    }
}

/* Decode the compressed body src[0:src_len] into out[0:size]; NULL on success, else a reason. */
static const char *decode_body(const unsigned char *src, size_t src_len, unsigned char *out, size_t size, size_t *used)
{
    int64_t table[HASH_VALUES];
    int64_t hashed = -1;
    size_t s = 0, d = 0;
    uint32_t cword = 1;

    for (int i = 0; i < HASH_VALUES; i++)
        table[i] = -1;

    while (d < size) {
        if (cword == 1) {
            if (s + CWORD_LEN > src_len)
                return "control word past the end of the block";
            cword = read_le(src + s, CWORD_LEN);
            s += CWORD_LEN;
            if (cword == 0)
                return "empty control word";
        }
        if (cword & 1) {
            uint32_t fetch, length;
            int64_t from;
            cword >>= 1;
            if (s + 2 > src_len)
                return "match past the end of the block";
            fetch = read_le(src + s, 2);
            if (fetch & 0xf) {
                length = (fetch & 0xf) + 2;
                s += 2;
            } else {
                if (s + 3 > src_len)
                    return "match length past the end of the block";
                length = src[s + 2];
                s += 3;
            }
            from = table[(fetch >> 4) & 0xfff];
            if (from < 0 || (size_t)from >= d)
                return "match refers to data not yet decoded";
            if (length < 3 || length > size - d)
                return "match runs past the end of the block";
            for (uint32_t k = 0; k < length; k++)
                out[d + k] = out[from + k];
            hash_upto(table, &hashed, (int64_t)d, out);
            d += length;
            hashed = (int64_t)d - 1;
        } else if (d + TAIL_LEN + 1 < size) {
            cword >>= 1;
            if (s >= src_len)
                return "literal past the end of the block";
            out[d++] = src[s++];
            hash_upto(table, &hashed, (int64_t)d - 3, out);
        } else {
            /* The tail: only literals follow, control words are skipped unread. */
            while (d < size) {
                if (cword == 1) {
                    s += CWORD_LEN;
                    cword = 1u << 31;
                }
                if (s >= src_len)
                    return "literal past the end of the block";
                if (cword & 1)
                    return "match inside the literal tail";
                out[d++] = src[s++];
                cword >>= 1;
            }
        }
    }
    *used = s;
    return NULL;
}

static PyObject *quicklz_decompress(PyObject *self, PyObject *args)
{
    Py_buffer block;
    Py_ssize_t limit;
    const unsigned char *src;
    size_t header, stored_len, size, used = 0;
    const char *problem = NULL;
    PyObject *result;

    if (!PyArg_ParseTuple(args, "y*n:decompress", &block, &limit))
        return NULL;
    src = block.buf;
    if (block.len < 3) {
        PyBuffer_Release(&block);
        PyErr_SetString(PyExc_ValueError, "block shorter than its header");
        return NULL;
    }
    header = (src[0] & 2) ? 9 : 3;
    if ((size_t)block.len < header) {
        PyBuffer_Release(&block);
        PyErr_SetString(PyExc_ValueError, "block shorter than its header");
        return NULL;
    }
    stored_len = read_le(src + 1, (int)(header - 1) / 2);
    size = read_le(src + 1 + (header - 1) / 2, (int)(header - 1) / 2);
    if ((src[0] & 0xf0) != 0x40 || ((src[0] >> 2) & 3) != 1) {
        problem = "not a QuickLZ level-1 block";
    } else if (stored_len != (size_t)block.len) {
        problem = "block length does not match its header";
    } else if (size > (size_t)limit) {
        problem = "block decompresses to more than the chunk size";
    }
    if (problem) {
        PyBuffer_Release(&block);
        PyErr_SetString(PyExc_ValueError, problem);
        return NULL;
    }
    result = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)size);
    if (result == NULL) {
        PyBuffer_Release(&block);
        return NULL;
    }
    if (src[0] & 1) {
        unsigned char *out = (unsigned char *)PyBytes_AS_STRING(result);
        Py_BEGIN_ALLOW_THREADS
        problem = decode_body(src + header, stored_len - header, out, size, &used);
        Py_END_ALLOW_THREADS
        /* The encoder pads blocks shorter than 9 bytes, so only longer ones must end exactly. */
        if (problem == NULL && stored_len > 9 && used != stored_len - header)
            problem = "block is longer than its data";
    } else if (stored_len - header != size) {
        problem = "stored block length does not match its header";
    } else {
        memcpy(PyBytes_AS_STRING(result), src + header, size);
    }
    PyBuffer_Release(&block);
    if (problem) {
        Py_DECREF(result);
        PyErr_SetString(PyExc_ValueError, problem);
        return NULL;
    }
    return result;
}

static PyMethodDef methods[] = {
    {"decompress", quicklz_decompress, METH_VARARGS,
     "decompress(block, limit) -> bytes: decode one QuickLZ level-1 block of at most limit bytes; "
     "ValueError names the problem if the block is corrupt."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_quicklz", "QuickLZ level-1 block decoder.", -1, methods};

PyMODINIT_FUNC PyInit__quicklz(void)
{
    return PyModule_Create(&module);
}
