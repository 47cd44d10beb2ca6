/*
 * lumiboard's native XSpace decoder: walk a serialized XSpace (a profiler's
 * <host>.xplane.pb) and pull its events out into columns, without building a
 * Python object per event.
 *
 * Python's side (lumiboard/plugins/profile/xspace_wire.py) documents the
 * contract; this file implements it. columns(buffer) returns
 *
 *   (skeleton, line_plane, line_index, event_line, metadata_id, offset_ps,
 *    duration_ps, aggregated, event_bounds)
 *
 * - skeleton: the XSpace re-serialized without any line's events (every other
 *   field, unknown ones included, kept in its order), for upb to parse;
 * - line_plane, line_index (int32): per line in file order, its plane's index
 *   and its index within that plane;
 * - event_line (int32), metadata_id, offset_ps, duration_ps (int64),
 *   aggregated (uint8): per event in file order; an aggregated event (the
 *   oneof holds num_occurrences) has offset_ps 0, as protobuf reads it;
 * - event_bounds (int64 pairs): each event message's [start, end) in buffer.
 *
 * The skeleton and the line columns are bytes; the event columns are Column
 * objects (read-only buffers over the memory the walk filled), which
 * numpy.frombuffer views without a copy.
 *
 * Every byte is checked as upb checks it (so what decodes here decodes there,
 * and the other way round), except that groups (wire types 3 and 4, which no
 * XSpace writer uses) are refused: keys of at most 5 bytes holding 32 bits
 * and a field number > 0, varints of at most 10 bytes (bits past 64 dropped),
 * lengths of at most 5 bytes within their message, fixed fields whole, and
 * UTF-8 in the one string field inside events (XStat.str_value). Damage
 * raises ValueError naming the byte offset. The GIL is released while
 * walking; the buffer is held (PyObject_GetBuffer) until the walk ends.
 *
 * Field numbers are xplane.proto's (src/lumiboard/format/proto/xplane.proto).
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <stdint.h>
#include <string.h>

/* Inlining hints: the walk's per-byte helpers inline, the failure path stays out of line. */
#if defined(__GNUC__) || defined(__clang__)
#define HOT static inline __attribute__((always_inline))
#define COLD static __attribute__((noinline, cold))
#elif defined(_MSC_VER)
#define HOT static __forceinline
#define COLD static __declspec(noinline)
#else
#define HOT static inline
#define COLD static
#endif

enum { WT_VARINT = 0, WT_FIXED64 = 1, WT_LEN = 2, WT_FIXED32 = 5 };

enum {
    SPACE_PLANES = 1,
    PLANE_LINES = 3,
    LINE_EVENTS = 4,
    EVENT_METADATA_ID = 1,
    EVENT_OFFSET_PS = 2,
    EVENT_DURATION_PS = 3,
    EVENT_STATS = 4,
    EVENT_NUM_OCCURRENCES = 5,
    STAT_STR_VALUE = 5,
};

/* ---- growable byte buffers ------------------------------------------------ */

typedef struct {
    uint8_t *data;
    size_t len;
    size_t cap;
} Buf;

static int buf_reserve(Buf *b, size_t extra) {
    if (b->cap - b->len >= extra) return 0;
    size_t cap = b->cap ? b->cap : 4096;
    while (cap - b->len < extra) cap *= 2;
    uint8_t *grown = PyMem_RawRealloc(b->data, cap);
    if (!grown) return -1;
    b->data = grown;
    b->cap = cap;
    return 0;
}

static int buf_push(Buf *b, const void *item, size_t size) {
    if (buf_reserve(b, size) < 0) return -1;
    if (size) memcpy(b->data + b->len, item, size);
    b->len += size;
    return 0;
}

/* A length-delimited field's key and length, then its payload. */
static int buf_push_field(Buf *b, uint8_t key, const Buf *payload) {
    uint8_t head[6];
    size_t n = 0;
    head[n++] = key;
    size_t v = payload->len;
    while (v >= 0x80) {
        head[n++] = (uint8_t)(v | 0x80);
        v >>= 7;
    }
    head[n++] = (uint8_t)v;
    if (buf_push(b, head, n) < 0) return -1;
    return buf_push(b, payload->data, payload->len);
}

static PyObject *buf_bytes(const Buf *b) {
    return PyBytes_FromStringAndSize((const char *)(b->data ? b->data : (const uint8_t *)""),
                                     (Py_ssize_t)b->len);
}

/* ---- per-line and per-event columns -------------------------------------- */

typedef struct {
    size_t n, cap;
    size_t hint; /* the first capacity: a guess from the input's size */
    int32_t *line;
    int64_t *metadata_id, *offset_ps, *duration_ps, *bounds;
    uint8_t *aggregated;
} Events;

static int grow(void **column, size_t count, size_t size) {
    void *grown = PyMem_RawRealloc(*column, count * size);
    if (!grown) return -1;
    *column = grown;
    return 0;
}

static int events_reserve(Events *e) {
    if (e->n < e->cap) return 0;
    size_t cap = e->cap ? e->cap * 2 : (e->hint > 4096 ? e->hint : 4096);
    if (grow((void **)&e->line, cap, 4) < 0 || grow((void **)&e->metadata_id, cap, 8) < 0 ||
        grow((void **)&e->offset_ps, cap, 8) < 0 || grow((void **)&e->duration_ps, cap, 8) < 0 ||
        grow((void **)&e->bounds, cap, 16) < 0 || grow((void **)&e->aggregated, cap, 1) < 0)
        return -1;
    e->cap = cap;
    return 0;
}

static void events_free(Events *e) {
    PyMem_RawFree(e->line);
    PyMem_RawFree(e->metadata_id);
    PyMem_RawFree(e->offset_ps);
    PyMem_RawFree(e->duration_ps);
    PyMem_RawFree(e->bounds);
    PyMem_RawFree(e->aggregated);
}

/* ---- columns handed to Python without a copy ---------------------------
 * A Column owns memory the walk filled and lends it through the buffer
 * protocol (read-only), so numpy.frombuffer views it: copying the columns into
 * bytes objects would touch as many fresh pages again as the walk did. */

typedef struct {
    PyObject_HEAD
    void *data;
    Py_ssize_t len;
} Column;

static int column_getbuffer(PyObject *self, Py_buffer *view, int flags) {
    Column *column = (Column *)self;
    return PyBuffer_FillInfo(view, self, column->data ? column->data : (void *)"", column->len, 1, flags);
}

static void column_dealloc(PyObject *self) {
    PyMem_RawFree(((Column *)self)->data);
    Py_TYPE(self)->tp_free(self);
}

static PyBufferProcs column_buffer = {column_getbuffer, NULL};

static PyTypeObject ColumnType = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "lumiboard.plugins.profile._xspace.Column",
    .tp_doc = "A read-only column of the XSpace decoder (view it with numpy.frombuffer).",
    .tp_basicsize = sizeof(Column),
    .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_dealloc = column_dealloc,
    .tp_as_buffer = &column_buffer,
};

/* A Column of `len` bytes taking over *data (left NULL when it does). */
static PyObject *column_take(void *data_ptr, size_t len) {
    void **data = data_ptr;
    Column *column = PyObject_New(Column, &ColumnType);
    if (!column) return NULL;
    column->data = *data;
    column->len = (Py_ssize_t)len;
    *data = NULL;
    return (PyObject *)column;
}

/* ---- the walk -------------------------------------------------------------- */

enum {
    OK = 0,
    ERR_NOMEM,
    ERR_TRUNCATED,
    ERR_LONG_VARINT,
    ERR_LONG_KEY,
    ERR_FIELD_ZERO,
    ERR_WIRE_TYPE,
    ERR_LONG_LENGTH,
    ERR_PAST_END,
    ERR_UTF8,
};

typedef struct {
    const uint8_t *base;
    Buf skeleton, plane, line;
    Buf line_plane, line_index;
    Events events;
    int32_t lines; /* lines seen so far, all planes */
    /* the failure that stopped the walk */
    int error;
    size_t at;      /* byte offset it names */
    uint64_t value; /* a wire type, a length */
    size_t end;     /* the end of the message a length ran past */
} Walk;

typedef struct {
    const uint8_t *p, *end;
} Reader;

COLD void record(Walk *w, int error, const uint8_t *at) {
    w->error = error;
    w->at = (size_t)(at - w->base);
}

/* Record the first failure and return -1 (in the caller, so that the compiler sees it). */
#define FAIL(w, error, at)          \
    do {                            \
        record((w), (error), (at)); \
        return -1;                  \
    } while (0)

HOT int read_varint(Walk *w, Reader *r, uint64_t *out) {
    if (r->p < r->end && *r->p < 0x80) {
        *out = *r->p++;
        return 0;
    }
    const uint8_t *at = r->p;
    uint64_t v = 0;
    for (int shift = 0; shift < 70; shift += 7) {
        if (r->p >= r->end) FAIL(w, ERR_TRUNCATED, at);
        uint8_t byte = *r->p++;
        if (shift < 64) v |= (uint64_t)(byte & 0x7F) << shift;
        if (!(byte & 0x80)) {
            *out = v;
            return 0;
        }
    }
    FAIL(w, ERR_LONG_VARINT, at);
}

/* A key: at most 5 bytes, a 32-bit value; no field 0, no groups, no wire type 6 or 7. */
HOT int read_key(Walk *w, Reader *r, uint32_t *field, int *wire) {
    const uint8_t *at = r->p;
    if (r->p < r->end && *r->p < 0x80) { /* one byte: fields 1 to 15 */
        uint8_t key = *r->p++;
        *field = key >> 3;
        *wire = key & 7;
    } else {
        uint64_t v = 0;
        for (int shift = 0;; shift += 7) {
            if (shift == 35) FAIL(w, ERR_LONG_KEY, at);
            if (r->p >= r->end) FAIL(w, ERR_TRUNCATED, at);
            uint8_t byte = *r->p++;
            v |= (uint64_t)(byte & 0x7F) << shift;
            if (!(byte & 0x80)) break;
        }
        if (v > 0xFFFFFFFFu) FAIL(w, ERR_LONG_KEY, at);
        *field = (uint32_t)(v >> 3);
        *wire = (int)(v & 7);
    }
    if (*field == 0) FAIL(w, ERR_FIELD_ZERO, at);
    if (*wire != WT_VARINT && *wire != WT_FIXED64 && *wire != WT_LEN && *wire != WT_FIXED32) {
        w->value = (uint64_t)*wire;
        FAIL(w, ERR_WIRE_TYPE, at);
    }
    return 0;
}

/* A length (at most 5 bytes, below 2 GiB) and the payload it frames, which must
 * end within the enclosing message. */
HOT int read_len(Walk *w, Reader *r, Reader *sub) {
    const uint8_t *at = r->p;
    uint64_t n = 0;
    if (r->p < r->end && *r->p < 0x80) {
        n = *r->p++;
    } else {
        for (int shift = 0;; shift += 7) {
            if (shift == 35) FAIL(w, ERR_LONG_LENGTH, at);
            if (r->p >= r->end) FAIL(w, ERR_TRUNCATED, at);
            uint8_t byte = *r->p++;
            n |= (uint64_t)(byte & 0x7F) << shift;
            if (!(byte & 0x80)) break;
        }
    }
    if (n > (uint64_t)(r->end - r->p) || n > 0x7FFFFFFF) {
        w->value = n;
        w->end = (size_t)(r->end - w->base);
        FAIL(w, ERR_PAST_END, at);
    }
    sub->p = r->p;
    sub->end = r->p + n;
    r->p += n;
    return 0;
}

HOT int skip_field(Walk *w, Reader *r, int wire) {
    uint64_t ignored;
    Reader payload;
    switch (wire) {
        case WT_VARINT: return read_varint(w, r, &ignored);
        case WT_LEN: return read_len(w, r, &payload);
        default: {
            size_t size = wire == WT_FIXED64 ? 8 : 4;
            if ((size_t)(r->end - r->p) < size) FAIL(w, ERR_TRUNCATED, r->p);
            r->p += size;
            return 0;
        }
    }
}

/* Well-formed UTF-8 (Unicode's table 3-7: no overlong forms, surrogates or
 * code points past U+10FFFF), as upb requires of proto3 strings. */
static int valid_utf8(const uint8_t *p, const uint8_t *end) {
    while (p < end) {
        if (end - p >= 8) {
            uint64_t word;
            memcpy(&word, p, 8);
            if (!(word & 0x8080808080808080ull)) {
                p += 8;
                continue;
            }
        }
        uint8_t c = *p;
        if (c < 0x80) {
            p++;
            continue;
        }
        int extra;
        uint8_t lo = 0x80, hi = 0xBF;
        if (c >= 0xC2 && c <= 0xDF) extra = 1;
        else if (c >= 0xE0 && c <= 0xEF) {
            extra = 2;
            if (c == 0xE0) lo = 0xA0;
            if (c == 0xED) hi = 0x9F;
        } else if (c >= 0xF0 && c <= 0xF4) {
            extra = 3;
            if (c == 0xF0) lo = 0x90;
            if (c == 0xF4) hi = 0x8F;
        } else
            return 0;
        if (end - p <= extra) return 0;
        if (p[1] < lo || p[1] > hi) return 0;
        for (int i = 2; i <= extra; i++)
            if ((p[i] & 0xC0) != 0x80) return 0;
        p += extra + 1;
    }
    return 1;
}

/* An XStat: only its framing and its string are checked. */
static int walk_stat(Walk *w, Reader r) {
    while (r.p < r.end) {
        uint32_t field;
        int wire;
        if (read_key(w, &r, &field, &wire) < 0) return -1;
        if (field == STAT_STR_VALUE && wire == WT_LEN) {
            Reader text;
            if (read_len(w, &r, &text) < 0) return -1;
            if (!valid_utf8(text.p, text.end)) FAIL(w, ERR_UTF8, text.p);
        } else if (skip_field(w, &r, wire) < 0)
            return -1;
    }
    return 0;
}

static int walk_event(Walk *w, Reader r) {
    if (events_reserve(&w->events) < 0) FAIL(w, ERR_NOMEM, r.p);
    Events *e = &w->events;
    size_t i = e->n;
    int64_t metadata_id = 0, offset_ps = 0, duration_ps = 0;
    uint8_t aggregated = 0;
    e->bounds[2 * i] = (int64_t)(r.p - w->base);
    e->bounds[2 * i + 1] = (int64_t)(r.end - w->base);
    while (r.p < r.end) {
        uint32_t field;
        int wire;
        uint64_t v;
        if (read_key(w, &r, &field, &wire) < 0) return -1;
        /* A known field with another wire type is an unknown field to protobuf. */
        if (wire == WT_VARINT && field <= EVENT_NUM_OCCURRENCES && field != EVENT_STATS) {
            if (read_varint(w, &r, &v) < 0) return -1;
            switch (field) {
                case EVENT_METADATA_ID: metadata_id = (int64_t)v; break;
                case EVENT_OFFSET_PS: offset_ps = (int64_t)v; aggregated = 0; break;
                case EVENT_DURATION_PS: duration_ps = (int64_t)v; break;
                default: offset_ps = 0; aggregated = 1; break; /* num_occurrences */
            }
        } else if (field == EVENT_STATS && wire == WT_LEN) {
            Reader stat;
            if (read_len(w, &r, &stat) < 0 || walk_stat(w, stat) < 0) return -1;
        } else if (skip_field(w, &r, wire) < 0)
            return -1;
    }
    e->line[i] = w->lines;
    e->metadata_id[i] = metadata_id;
    e->offset_ps[i] = offset_ps;
    e->duration_ps[i] = duration_ps;
    e->aggregated[i] = aggregated;
    e->n = i + 1;
    return 0;
}

/* A line: its events to the columns, its other fields (as a whole field) to the plane. */
static int walk_line(Walk *w, Reader r, int32_t plane, int32_t index) {
    w->line.len = 0;
    while (r.p < r.end) {
        const uint8_t *start = r.p;
        uint32_t field;
        int wire;
        if (read_key(w, &r, &field, &wire) < 0) return -1;
        if (field == LINE_EVENTS && wire == WT_LEN) {
            Reader event;
            if (read_len(w, &r, &event) < 0 || walk_event(w, event) < 0) return -1;
        } else {
            if (skip_field(w, &r, wire) < 0) return -1;
            if (buf_push(&w->line, start, (size_t)(r.p - start)) < 0) FAIL(w, ERR_NOMEM, start);
        }
    }
    if (buf_push_field(&w->plane, (PLANE_LINES << 3) | WT_LEN, &w->line) < 0 ||
        buf_push(&w->line_plane, &plane, 4) < 0 || buf_push(&w->line_index, &index, 4) < 0)
        FAIL(w, ERR_NOMEM, r.p);
    w->lines++;
    return 0;
}

static int walk_plane(Walk *w, Reader r, int32_t plane) {
    int32_t lines = 0;
    w->plane.len = 0;
    while (r.p < r.end) {
        const uint8_t *start = r.p;
        uint32_t field;
        int wire;
        if (read_key(w, &r, &field, &wire) < 0) return -1;
        if (field == PLANE_LINES && wire == WT_LEN) {
            Reader line;
            if (read_len(w, &r, &line) < 0 || walk_line(w, line, plane, lines++) < 0) return -1;
        } else {
            if (skip_field(w, &r, wire) < 0) return -1;
            if (buf_push(&w->plane, start, (size_t)(r.p - start)) < 0) FAIL(w, ERR_NOMEM, start);
        }
    }
    if (buf_push_field(&w->skeleton, (SPACE_PLANES << 3) | WT_LEN, &w->plane) < 0)
        FAIL(w, ERR_NOMEM, r.p);
    return 0;
}

static int walk_space(Walk *w, Reader r) {
    int32_t planes = 0;
    while (r.p < r.end) {
        const uint8_t *start = r.p;
        uint32_t field;
        int wire;
        if (read_key(w, &r, &field, &wire) < 0) return -1;
        if (field == SPACE_PLANES && wire == WT_LEN) {
            Reader plane;
            if (read_len(w, &r, &plane) < 0 || walk_plane(w, plane, planes++) < 0) return -1;
        } else {
            if (skip_field(w, &r, wire) < 0) return -1;
            if (buf_push(&w->skeleton, start, (size_t)(r.p - start)) < 0)
                FAIL(w, ERR_NOMEM, start);
        }
    }
    return 0;
}

static void raise_error(const Walk *w) {
    size_t at = w->at;
    switch (w->error) {
        case ERR_NOMEM: PyErr_NoMemory(); break;
        case ERR_TRUNCATED:
            PyErr_Format(PyExc_ValueError, "a field at byte %zu is cut off by the end of its message", at);
            break;
        case ERR_LONG_VARINT:
            PyErr_Format(PyExc_ValueError, "the varint at byte %zu is longer than 10 bytes", at);
            break;
        case ERR_LONG_KEY:
            PyErr_Format(PyExc_ValueError, "the field key at byte %zu is longer than 32 bits", at);
            break;
        case ERR_FIELD_ZERO:
            PyErr_Format(PyExc_ValueError, "the field key at byte %zu has field number 0", at);
            break;
        case ERR_WIRE_TYPE:
            PyErr_Format(PyExc_ValueError, "the field key at byte %zu has wire type %d%s", at, (int)w->value,
                         w->value == 3 || w->value == 4 ? " (a group, which XSpace does not use)" : " (invalid)");
            break;
        case ERR_LONG_LENGTH:
            PyErr_Format(PyExc_ValueError, "the length at byte %zu is longer than 5 bytes", at);
            break;
        case ERR_PAST_END:
            PyErr_Format(PyExc_ValueError,
                         "the length at byte %zu (%llu bytes) runs past the end of its message (byte %zu)", at,
                         (unsigned long long)w->value, w->end);
            break;
        case ERR_UTF8:
            PyErr_Format(PyExc_ValueError, "the stat string at byte %zu is not valid UTF-8", at);
            break;
        default: PyErr_SetString(PyExc_SystemError, "XSpace walk failed");
    }
}

static PyObject *columns(PyObject *self, PyObject *arg) {
    (void)self;
    Py_buffer view;
    if (PyObject_GetBuffer(arg, &view, PyBUF_SIMPLE) < 0) return NULL;
    Walk w;
    memset(&w, 0, sizeof w);
    w.base = view.buf;
    Reader r = {view.buf, (const uint8_t *)view.buf + view.len};
    /* An event takes 15 to 30 bytes in real files: fit most without a regrowth
     * (past 4M events, a regrowth is a cheap mremap anyway). */
    w.events.hint = (size_t)view.len / 16 < ((size_t)1 << 22) ? (size_t)view.len / 16 : (size_t)1 << 22;
    int rc;
    Py_BEGIN_ALLOW_THREADS
    rc = walk_space(&w, r);
    Py_END_ALLOW_THREADS
    PyObject *result = NULL;
    if (rc < 0) {
        raise_error(&w);
    } else {
        Events *e = &w.events;
        size_t n = e->n;
        result = Py_BuildValue("(NNNNNNNNN)", buf_bytes(&w.skeleton), buf_bytes(&w.line_plane),
                               buf_bytes(&w.line_index), column_take(&e->line, n * 4),
                               column_take(&e->metadata_id, n * 8), column_take(&e->offset_ps, n * 8),
                               column_take(&e->duration_ps, n * 8), column_take(&e->aggregated, n),
                               column_take(&e->bounds, n * 16));
    }
    PyMem_RawFree(w.skeleton.data);
    PyMem_RawFree(w.plane.data);
    PyMem_RawFree(w.line.data);
    PyMem_RawFree(w.line_plane.data);
    PyMem_RawFree(w.line_index.data);
    events_free(&w.events);
    PyBuffer_Release(&view);
    return result;
}

static PyMethodDef methods[] = {
    {"columns", columns, METH_O,
     "columns(buffer) -> (skeleton, line_plane, line_index, event_line, metadata_id, offset_ps, "
     "duration_ps, aggregated, event_bounds): see lumiboard.plugins.profile.xspace_wire."},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef module = {
    PyModuleDef_HEAD_INIT, "_xspace", "lumiboard's native XSpace decoder.", -1, methods, NULL, NULL, NULL, NULL,
};

PyMODINIT_FUNC PyInit__xspace(void) {
    if (PyType_Ready(&ColumnType) < 0) return NULL;
    return PyModule_Create(&module);
}
