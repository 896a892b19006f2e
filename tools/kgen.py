#!/usr/bin/env python3
"""kgen.py - generate kavka's Kafka message codec from common/proto/*.def.

    kgen.py --out-h kafka_msgs.h --out-c kafka_msgs.c a.def b.def ...

The description format and the generated C API are documented in
docs/protocol-description.md; keep the two in step. Python 3 stdlib only.
"""
import argparse
import os
import re
import sys

INT16_MAX = 32767

# type -> (C type, reader call, writer call, fixed wire size or None)
PRIM = {
    'bool': ('bool', 'kr_bool({r})', 'kw_bool({w}, {v})', 1),
    'int8': ('int8_t', 'kr_i8({r})', 'kw_i8({w}, {v})', 1),
    'int16': ('int16_t', 'kr_i16({r})', 'kw_i16({w}, {v})', 2),
    'uint16': ('uint16_t', 'kr_u16({r})', 'kw_u16({w}, {v})', 2),
    'int32': ('int32_t', 'kr_i32({r})', 'kw_i32({w}, {v})', 4),
    'uint32': ('uint32_t', 'kr_u32({r})', 'kw_u32({w}, {v})', 4),
    'int64': ('int64_t', 'kr_i64({r})', 'kw_i64({w}, {v})', 8),
    'float64': ('double', 'kr_f64({r})', 'kw_f64({w}, {v})', 8),
    'uuid': ('uint8_t', None, 'kw_uuid({w}, {v})', 16),
    'string': ('struct kstr', 'kr_str({r}, flex)', 'kw_str({w}, {v}, flex)', None),
    'bytes': ('struct kbytes', 'kr_bytes({r}, flex)', 'kw_bytes({w}, {v}, flex)', None),
    'records': ('struct krecords', 'kr_records({r}, flex)',
                'kw_records({w}, &{v}, flex)', None),
}
# Element types allowed in arrays of primitives.
ARRAY_ELEMS = {'bool', 'int8', 'int16', 'uint16', 'int32', 'uint32', 'int64',
               'float64', 'string', 'bytes'}
INT_BITS = {'int8': 8, 'int16': 16, 'int32': 32, 'int64': 64}
C_KEYWORDS = set('''auto break case char const continue default do double else
enum extern float for goto if inline int long register restrict return short
signed sizeof static struct switch typedef union unsigned void volatile while
bool true false'''.split())

VERS_RE = re.compile(r'^(\d+)(\+|-(\d+))?$')


class DefError(Exception):
    pass


def snake(name):
    name = re.sub(r'([A-Z]+)([A-Z][a-z])', r'\1_\2', name)
    name = re.sub(r'([a-z0-9])([A-Z])', r'\1_\2', name)
    return name.lower()


class Field:
    def __init__(self, name, kind, elem, lo, hi, default, tag, where):
        self.name = name
        self.kind = kind      # 'prim', 'parray' (array of prim), 'sarray', 'struct'
        self.nullable = False  # a 'struct' that may be null ('{}?')
        self.elem = elem      # primitive type for prim/parray
        self.lo = lo
        self.hi = hi          # None: open-ended
        self.default = default
        self.tag = tag
        self.where = where
        self.struct = None    # Struct for 'sarray' / 'struct'


class Struct:
    def __init__(self, cname, lo, hi):
        self.cname = cname
        self.lo = lo
        self.hi = hi
        self.fields = []
        self.need_is_default = False


class Api:
    def __init__(self, key, name, lo, hi, flex, where):
        self.key = key
        self.name = name
        self.lo = lo
        self.hi = hi
        self.flex = flex      # first flexible version, INT16_MAX for none
        self.where = where
        self.msgs = {}        # 'req' / 'resp' -> Struct


# ---------------------------------------------------------------- parsing

def parse_versions(tok, where):
    m = VERS_RE.match(tok)
    if not m:
        raise DefError('%s: bad version range %r' % (where, tok))
    lo = int(m.group(1))
    if m.group(2) is None:
        return lo, lo
    if m.group(2) == '+':
        return lo, None
    hi = int(m.group(3))
    if hi < lo:
        raise DefError('%s: empty version range %r' % (where, tok))
    return lo, hi


def parse_field(tokens, where):
    if len(tokens) < 2:
        raise DefError('%s: expected "<field> <type> ..."' % where)
    name, ty = tokens[0], tokens[1]
    if not re.match(r'^[a-z][a-z0-9_]*$', name) or name in C_KEYWORDS:
        raise DefError('%s: bad field name %r' % (where, name))
    if ty == '[]':
        kind, elem = 'sarray', None
    elif ty in ('{}', '{}?'):
        kind, elem = 'struct', None
    elif ty.startswith('[]'):
        kind, elem = 'parray', ty[2:]
        if elem not in ARRAY_ELEMS:
            raise DefError('%s: unsupported array element type %r' % (where, elem))
    elif ty in PRIM:
        kind, elem = 'prim', ty
    else:
        raise DefError('%s: unknown type %r' % (where, ty))
    lo, hi, default, tag = 0, None, None, None
    for tok in tokens[2:]:
        if tok.startswith('default='):
            default = tok[len('default='):]
        elif tok.startswith('tag='):
            if not tok[4:].isdigit():
                raise DefError('%s: bad tag %r' % (where, tok))
            tag = int(tok[4:])
        else:
            lo, hi = parse_versions(tok, where)
    f = Field(name, kind, elem, lo, hi, default, tag, where)
    f.nullable = ty == '{}?'
    check_default(f)
    return f


def check_default(f):
    d = f.default
    if d is None:
        return
    bad = DefError('%s: bad default %r for %s' % (f.where, d, f.name))
    if f.kind in ('sarray', 'parray'):
        if d != 'null':
            raise bad
    elif f.kind == 'struct' or f.elem == 'uuid':
        raise bad
    elif f.elem == 'bool':
        if d not in ('true', 'false'):
            raise bad
    elif f.elem in INT_BITS or f.elem in ('uint16', 'uint32'):
        try:
            v = int(d, 0)
        except ValueError:
            raise bad
        if f.elem in INT_BITS:
            b = INT_BITS[f.elem]
            ok = -(1 << (b - 1)) <= v < (1 << (b - 1))
        else:
            ok = 0 <= v < (1 << (16 if f.elem == 'uint16' else 32))
        if not ok:
            raise bad
    elif f.elem == 'float64':
        try:
            float(d)
        except ValueError:
            raise bad
    elif f.elem in ('string', 'bytes', 'records'):
        if f.elem != 'string' and d != 'null':
            raise bad
        if '"' in d or '\\' in d:
            raise bad


def parse_file(path, apis):
    api = None
    stack = None   # list of (indent, Struct) for the message being read
    last = None    # last Field read, a possible parent of the next line
    with open(path, encoding='utf-8') as fp:
        for no, line in enumerate(fp, 1):
            where = '%s:%d' % (path, no)
            text = line.split('#', 1)[0].rstrip()
            if not text.strip():
                continue
            if '\t' in text:
                raise DefError('%s: tabs are not allowed' % where)
            indent = len(text) - len(text.lstrip(' '))
            tokens = text.split()
            if indent == 0:
                last = None
                if tokens[0] == 'api':
                    api = parse_api(tokens, where)
                    if api.key in apis:
                        raise DefError('%s: api %d described twice' % (where, api.key))
                    apis[api.key] = api
                    stack = None
                elif tokens[0] in ('request', 'response') and len(tokens) == 1:
                    if api is None:
                        raise DefError('%s: %s before api' % (where, tokens[0]))
                    short = 'req' if tokens[0] == 'request' else 'resp'
                    if short in api.msgs:
                        raise DefError('%s: second %s' % (where, tokens[0]))
                    root = Struct('kp_%s_%s' % (snake(api.name), short), api.lo, api.hi)
                    api.msgs[short] = root
                    stack = [(0, root)]
                else:
                    raise DefError('%s: expected api, request or response' % where)
                continue
            if stack is None:
                raise DefError('%s: field outside request/response' % where)
            if indent % 2:
                raise DefError('%s: indent by two spaces' % where)
            if last is not None and indent > stack[-1][0] + 2:
                if indent != stack[-1][0] + 4 or last.kind not in ('sarray', 'struct'):
                    raise DefError('%s: unexpected indent' % where)
                parent = stack[-1][1]
                lo = max(last.lo, parent.lo)
                hi = min_hi(last.hi, parent.hi)
                last.struct = Struct('%s_%s' % (parent.cname, last.name), lo, hi)
                stack.append((indent - 2, last.struct))
            while stack and indent < stack[-1][0] + 2:
                stack.pop()
            if not stack or indent != stack[-1][0] + 2:
                raise DefError('%s: unexpected indent' % where)
            last = parse_field(tokens, where)
            stack[-1][1].fields.append(last)
    for api in apis.values():
        for short in ('req', 'resp'):
            if short not in api.msgs:
                raise DefError('%s: api %s has no %s' % (api.where, api.name,
                               'request' if short == 'req' else 'response'))


def min_hi(a, b):
    if a is None:
        return b
    if b is None:
        return a
    return min(a, b)


def parse_api(tokens, where):
    if len(tokens) != 6 or tokens[4] != 'flexible':
        raise DefError('%s: expected "api <key> <Name> <min>-<max> flexible <N>+|none"' % where)
    key = int(tokens[1])
    name = tokens[2]
    if not re.match(r'^[A-Z][A-Za-z0-9]*$', name):
        raise DefError('%s: bad api name %r' % (where, name))
    lo, hi = parse_versions(tokens[3], where)
    if hi is None or hi > INT16_MAX:
        raise DefError('%s: api needs a closed version range' % where)
    if tokens[5] == 'none':
        flex = INT16_MAX
    else:
        m = re.match(r'^(\d+)\+$', tokens[5])
        if not m:
            raise DefError('%s: bad flexible versions %r' % (where, tokens[5]))
        flex = int(m.group(1))
    return Api(key, name, lo, hi, flex, where)


def validate(api, st):
    names, tags = set(), set()
    for f in st.fields:
        for n in (f.name, f.name + '_n'):
            if n in names:
                raise DefError('%s: duplicate member %s' % (f.where, n))
        names.add(f.name)
        if f.kind in ('sarray', 'parray'):
            names.add(f.name + '_n')
        if f.kind in ('sarray', 'struct'):
            if f.struct is None or not f.struct.fields:
                raise DefError('%s: %s needs fields' % (f.where, f.name))
            validate(api, f.struct)
        if f.tag is not None:
            if f.tag in tags:
                raise DefError('%s: duplicate tag %d' % (f.where, f.tag))
            tags.add(f.tag)
            if max(f.lo, st.lo) < api.flex:
                raise DefError('%s: tagged field %s in a non-flexible version'
                               % (f.where, f.name))


# ------------------------------------------------------------ helpers

def vcond(f, st):
    """C condition for 'field present in ver', given the struct's range.
    None: always present; False: never."""
    shi = st.hi
    if f.hi is not None and f.hi < st.lo:
        return False
    if shi is not None and f.lo > shi:
        return False
    parts = []
    if f.lo > st.lo:
        parts.append('ver >= %d' % f.lo)
    if f.hi is not None and (shi is None or f.hi < shi):
        parts.append('ver <= %d' % f.hi)
    return ' && '.join(parts) if parts else None


def c_int(v, elem):
    if elem in INT_BITS:
        b = INT_BITS[elem]
        if v == -(1 << (b - 1)):
            return 'INT%d_MIN' % b
        return 'INT64_C(%d)' % v if b == 64 else str(v)
    return '%du' % v


def default_expr(f):
    """C expression for a primitive field's default value."""
    d = f.default
    e = f.elem
    if e == 'bool':
        return d or 'false'
    if e in INT_BITS or e in ('uint16', 'uint32'):
        return c_int(int(d, 0) if d else 0, e)
    if e == 'float64':
        return repr(float(d)) if d else '0.0'
    raise AssertionError(e)


def min_size(t, flex):
    if t in ('string',):
        return 1 if flex else 2
    if t in ('bytes', 'records'):
        return 1 if flex else 4
    return PRIM[t][3]


def struct_min(api, st, ver):
    flex = ver >= api.flex
    n = 1 if flex else 0
    for f in st.fields:
        if f.tag is not None or not present_in(f, ver):
            continue
        if f.kind == 'prim':
            n += min_size(f.elem, flex)
        elif f.kind == 'struct':
            n += 1 if f.nullable else struct_min(api, f.struct, ver)
        else:
            n += 1 if flex else 4
    return n


def present_in(f, ver):
    return f.lo <= ver and (f.hi is None or ver <= f.hi)


def elem_min(api, f, st):
    """Fewest wire bytes one element of array field f can take."""
    lo = max(f.lo, st.lo, api.lo)
    hi = min_hi(min_hi(f.hi, st.hi), api.hi)
    best = None
    for ver in range(lo, hi + 1):
        flex = ver >= api.flex
        if f.kind == 'parray':
            n = min_size(f.elem, flex)
        else:
            n = struct_min(api, f.struct, ver)
        best = n if best is None else min(best, n)
    return max(best or 1, 1)


def all_structs(st):
    """Post-order: nested structs before their parent."""
    for f in st.fields:
        if f.struct is not None:
            yield from all_structs(f.struct)
    yield st


def vcomment(f):
    parts = []
    if f.lo or f.hi is not None:
        parts.append('v%d%s' % (f.lo, '+' if f.hi is None else
                                ('' if f.hi == f.lo else '-%d' % f.hi)))
    if f.tag is not None:
        parts.append('tag %d' % f.tag)
    if f.default is not None:
        parts.append('default %s' % f.default)
    return ('  /* %s */' % ', '.join(parts)) if parts else ''


# ------------------------------------------------------------ header

def gen_struct_decl(st, out):
    out.append('struct %s {' % st.cname)
    for f in st.fields:
        c = vcomment(f)
        if f.kind == 'prim':
            if f.elem == 'uuid':
                out.append('    uint8_t %s[16];%s' % (f.name, c))
            else:
                out.append('    %s %s;%s' % (PRIM[f.elem][0], f.name, c))
        elif f.kind == 'struct' and f.nullable:
            out.append('    struct %s *%s;  /* NULL: null */%s' % (f.struct.cname, f.name, c))
        elif f.kind == 'struct':
            out.append('    struct %s %s;%s' % (f.struct.cname, f.name, c))
        else:
            ctype = ('struct %s' % f.struct.cname) if f.kind == 'sarray' else PRIM[f.elem][0]
            out.append('    int32_t %s_n;  /* -1: null */' % f.name)
            out.append('    %s *%s;%s' % (ctype, f.name, c))
    out.append('};')
    out.append('')


def gen_header(apis, out):
    out += [
        '/* Generated by tools/kgen.py from common/proto/<api>.def; do not edit.',
        ' * See docs/protocol-description.md. */',
        '#ifndef KAVKA_KAFKA_MSGS_H',
        '#define KAVKA_KAFKA_MSGS_H',
        '',
        '#include "wire.h"',
        '',
        'enum kp_api_key {',
    ]
    for api in apis:
        out.append('    KP_API_%s = %d,' % (snake(api.name).upper(), api.key))
    out += [
        '};',
        '',
        '/* One described API. flex_min is INT16_MAX when no version is flexible. */',
        'struct kp_api_info {',
        '    int16_t key;',
        '    const char *name;',
        '    int16_t min, max, flex_min;',
        '};',
        'extern const struct kp_api_info kp_apis[];',
        'extern const size_t kp_apis_n;',
        '/* NULL for an API kavka does not describe. */',
        'const struct kp_api_info *kp_api_find(int16_t key);',
        '',
        '/* One message (request or response body) with type-erased functions,',
        ' * for tests and fuzzers. */',
        'struct kp_msg_desc {',
        '    const char *name;',
        '    int16_t api_key;',
        '    bool response;',
        '    int16_t min, max, flex_min;',
        '    size_t size;',
        '    int (*decode)(struct kr *r, int16_t ver, struct karena *a, void *m);',
        '    void (*encode)(struct kw *w, int16_t ver, const void *m);',
        '    void (*sample)(struct karena *a, int16_t ver, void *m, int seed);',
        '};',
        'extern const struct kp_msg_desc kp_msgs[];',
        'extern const size_t kp_msgs_n;',
        'const struct kp_msg_desc *kp_msg_find(int16_t key, bool response);',
        '',
    ]
    for api in apis:
        out.append('/* ---- %s (key %d), v%d-%d, flexible %s ---- */' % (
            api.name, api.key, api.lo, api.hi,
            'none' if api.flex == INT16_MAX else '%d+' % api.flex))
        out.append('')
        for short in ('req', 'resp'):
            root = api.msgs[short]
            for st in all_structs(root):
                gen_struct_decl(st, out)
            for st in all_structs(root):
                if st is not root:
                    out.append('void %s_init(struct %s *m);' % (st.cname, st.cname))
            m = root.cname
            out += [
                '/* Sets every field to its default. */',
                'void %s_init(struct %s *m);' % (m, m),
                '/* 0, or the reader error. Strings and bytes point into the frame. */',
                'int %s_decode(struct kr *r, int16_t ver, struct karena *a, struct %s *m);' % (m, m),
                'void %s_encode(struct kw *w, int16_t ver, const struct %s *m);' % (m, m),
                '/* Deterministic values in every field of ver (tests, fuzzers). */',
                'void %s_sample(struct karena *a, int16_t ver, struct %s *m, int seed);' % (m, m),
                '',
            ]
    out.append('#endif')


# ------------------------------------------------------------ source

class Gen:
    def __init__(self, apis):
        self.apis = apis
        self.out = []
        self.helpers = set()

    def emit(self, *lines):
        self.out.extend(lines)

    # --- per-field pieces; `m` is the C lvalue, `r`/`w` the reader/writer

    def read_value(self, f, r, lv):
        if f.elem == 'uuid':
            return ['kr_uuid(%s, %s);' % (r, lv)]
        return ['%s = %s;' % (lv, PRIM[f.elem][1].format(r=r))]

    def read_field(self, api, st, f, r):
        lv = 'm->' + f.name
        if f.kind == 'prim':
            return self.read_value(f, r, lv)
        if f.kind == 'struct' and f.nullable:
            # Kafka's marker: negative for null, anything else for a struct.
            return [
                'if (kr_i8(%s) >= 0 && !(%s)->err) {' % (r, r),
                '    %s = karena_calloc(a, 1, sizeof *%s);' % (lv, lv),
                '    if (%s)' % lv,
                '        %s_read(%s, ver, a, %s);' % (f.struct.cname, r, lv),
                '    else',
                '        kr_fail(%s, WIRE_ENOMEM);' % r,
                '}',
            ]
        if f.kind == 'struct':
            return ['%s_read(%s, ver, a, &%s);' % (f.struct.cname, r, lv)]
        if f.kind == 'sarray':
            elem = ['%s_read(%s, ver, a, &%s[i]);' % (f.struct.cname, r, lv)]
        else:
            elem = ['%s[i] = %s;' % (lv, PRIM[f.elem][1].format(r=r))]
        return [
            '{',
            '    int32_t n = kr_array_len(%s, flex, %d);' % (r, elem_min(api, f, st)),
            '    %s_n = n;' % lv,
            '    if (n > 0) {',
            '        %s = karena_calloc(a, (size_t)n, sizeof *%s);' % (lv, lv),
            '        if (!%s) {' % lv,
            '            %s_n = 0;' % lv,
            '            kr_fail(%s, WIRE_ENOMEM);' % r,
            '        }',
            '        for (int32_t i = 0; %s && i < n && !(%s)->err; i++)' % (lv, r),
        ] + ['            ' + x for x in elem] + ['    }', '}']

    def write_field(self, f, w):
        lv = 'm->' + f.name
        if f.kind == 'prim':
            return [PRIM[f.elem][2].format(w=w, v=lv) + ';']
        if f.kind == 'struct' and f.nullable:
            return ['kw_i8(%s, %s ? 1 : -1);' % (w, lv),
                    'if (%s)' % lv,
                    '    %s_write(%s, ver, %s);' % (f.struct.cname, w, lv)]
        if f.kind == 'struct':
            return ['%s_write(%s, ver, &%s);' % (f.struct.cname, w, lv)]
        if f.kind == 'sarray':
            elem = '%s_write(%s, ver, &%s[i]);' % (f.struct.cname, w, lv)
        else:
            elem = PRIM[f.elem][2].format(w=w, v=lv + '[i]') + ';'
        return ['kw_array_len(%s, %s_n, flex);' % (w, lv),
                'for (int32_t i = 0; i < %s_n; i++)' % lv,
                '    ' + elem]

    def nondefault(self, f, lv):
        """C condition: the field differs from its default (tagged fields
        are written only then, as Kafka does)."""
        d = f.default
        if f.kind in ('sarray', 'parray'):
            return '%s_n >= 0' % lv if d == 'null' else '%s_n != 0' % lv
        if f.kind == 'struct' and f.nullable:
            return '%s != NULL' % lv
        if f.kind == 'struct':
            f.struct.need_is_default = True
            return '!%s_is_default(&%s)' % (f.struct.cname, lv)
        if f.elem == 'uuid':
            self.helpers.add('uuid_is_zero')
            return '!uuid_is_zero(%s)' % lv
        if f.elem in ('string', 'bytes', 'records'):
            if d == 'null' or (d is None and f.elem == 'records'):
                return '%s.len >= 0' % lv
            if not d:
                return '%s.len != 0' % lv
            return '!(%s.len == %d && memcmp(%s.p, "%s", %d) == 0)' % (
                lv, len(d), lv, d, len(d))
        return '%s != %s' % (lv, default_expr(f))

    def init_field(self, f):
        lv = 'm->' + f.name
        d = f.default
        if f.kind in ('sarray', 'parray'):
            return ['%s_n = %d;' % (lv, -1 if d == 'null' else 0), '%s = NULL;' % lv]
        if f.kind == 'struct' and f.nullable:
            return ['%s = NULL;' % lv]
        if f.kind == 'struct':
            return ['%s_init(&%s);' % (f.struct.cname, lv)]
        if f.elem == 'uuid':
            return ['memset(%s, 0, sizeof %s);' % (lv, lv)]
        if f.elem == 'string':
            if d == 'null':
                return ['%s.p = NULL;' % lv, '%s.len = -1;' % lv]
            return ['%s.p = "%s";' % (lv, d or ''), '%s.len = %d;' % (lv, len(d or ''))]
        if f.elem in ('bytes', 'records'):
            # records default to null, as in Kafka; bytes to empty.
            null = d == 'null' or (d is None and f.elem == 'records')
            return ['memset(&%s, 0, sizeof %s);' % (lv, lv),
                    '%s.len = %d;' % (lv, -1 if null else 0)]
        return ['%s = %s;' % (lv, default_expr(f))]

    def sample_value(self, f, lv, v):
        e = f.elem
        if e == 'bool':
            return ['%s = (%s & 1u) != 0;' % (lv, v)]
        if e == 'int8':
            return ['%s = (int8_t)(%s %% 100u);' % (lv, v)]
        if e == 'int16':
            return ['%s = (int16_t)(%s %% 30000u);' % (lv, v)]
        if e == 'uint16':
            return ['%s = (uint16_t)%s;' % (lv, v)]
        if e == 'int32':
            return ['%s = (int32_t)(%s %% 2000000000u);' % (lv, v)]
        if e == 'uint32':
            return ['%s = (uint32_t)%s;' % (lv, v)]
        if e == 'int64':
            return ['%s = (int64_t)%s * 1000003;' % (lv, v)]
        if e == 'float64':
            return ['%s = (double)%s / 4;' % (lv, v)]
        if e == 'uuid':
            return ['for (int i = 0; i < 16; i++)',
                    '    %s[i] = (uint8_t)(%s + (unsigned)i * 17u);' % (lv, v)]
        self.helpers.add('sample_' + e)
        return ['%s = sample_%s(a, %s);' % (lv, e, v)]

    def sample_field(self, f, k):
        lv = 'm->' + f.name
        v = '(seed * 131u + %du)' % k
        if f.kind == 'prim':
            return self.sample_value(f, lv, v)
        if f.kind == 'struct' and f.nullable:
            # Null for every other seed, so both encodings get exercised.
            return ['if (%s & 1u) {' % v,
                    '    %s = karena_calloc(a, 1, sizeof *%s);' % (lv, lv),
                    '    if (%s)' % lv,
                    '        %s_fill(a, ver, %s, %s);' % (f.struct.cname, lv, v),
                    '}']
        if f.kind == 'struct':
            return ['%s_fill(a, ver, &%s, %s);' % (f.struct.cname, lv, v)]
        ev = '(%s * 7u + (unsigned)i)' % v
        if f.kind == 'sarray':
            elem = ['%s_fill(a, ver, &%s[i], %s);' % (f.struct.cname, lv, ev)]
        else:
            elem = self.sample_value(f, lv + '[i]', ev)
        return [
            '%s = karena_calloc(a, 2, sizeof *%s);' % (lv, lv),
            '%s_n = %s ? 2 : 0;' % (lv, lv),
            'for (int32_t i = 0; i < %s_n; i++) {' % lv,
        ] + ['    ' + x for x in elem] + ['}']

    # --- per-struct functions

    def gen_init(self, st, public):
        self.emit('%svoid %s_init(struct %s *m)' % ('' if public else '', st.cname, st.cname), '{')
        for f in st.fields:
            self.emit(*['    ' + x for x in self.init_field(f)])
        self.emit('}', '')

    def flex_line(self, api):
        if api.flex == INT16_MAX:
            return '    const bool flex = false;'
        return '    const bool flex = ver >= %d;' % api.flex

    def gen_read(self, api, st):
        self.emit('static void %s_read(struct kr *r, int16_t ver, struct karena *a, struct %s *m)'
                  % (st.cname, st.cname), '{', self.flex_line(api), '    (void)ver;', '    (void)a;',
                  '    %s_init(m);' % st.cname)
        tagged = []
        for f in st.fields:
            c = vcond(f, st)
            if c is False:
                continue
            if f.tag is not None:
                tagged.append((f, c))
                continue
            self.emit_guarded(c, self.read_field(api, st, f, 'r'), '    ')
        if not tagged:
            self.emit('    if (flex)', '        kr_skip_tags(r);', '}', '')
            return
        self.emit(
            '    if (!flex)',
            '        return;',
            '    uint32_t ntags = kr_uvarint(r);',
            '    for (uint32_t t = 0; t < ntags && !r->err; t++) {',
            '        uint32_t tag = kr_uvarint(r);',
            '        uint32_t size = kr_uvarint(r);',
            '        const uint8_t *p = kr_raw(r, size);',
            '        if (r->err)',
            '            break;',
            '        struct kr sub;',
            '        kr_init(&sub, p, size);',
            '        switch (tag) {')
        for f, c in sorted(tagged, key=lambda x: x[0].tag):
            self.emit('        case %d:' % f.tag)
            self.emit_guarded(c, self.read_field(api, st, f, '&sub'), '            ')
            self.emit('            break;')
        self.emit(
            '        default:  /* unknown tags are skipped */',
            '            break;',
            '        }',
            '        if (sub.err)',
            '            kr_fail(r, sub.err);',
            '    }',
            '}', '')

    def emit_guarded(self, cond, lines, ind):
        if cond:
            self.emit(ind + 'if (%s) {' % cond)
            self.emit(*[ind + '    ' + x for x in lines])
            self.emit(ind + '}')
        else:
            self.emit(*[ind + x for x in lines])

    def gen_write(self, api, st):
        self.emit('static void %s_write(struct kw *w, int16_t ver, const struct %s *m)'
                  % (st.cname, st.cname), '{', self.flex_line(api), '    (void)ver;')
        tagged = []
        for f in st.fields:
            c = vcond(f, st)
            if c is False:
                continue
            if f.tag is not None:
                nd = self.nondefault(f, 'm->' + f.name)
                tagged.append((f, '(%s) && %s' % (c, nd) if c else nd))
                continue
            self.emit_guarded(c, self.write_field(f, 'w'), '    ')
        if not tagged:
            self.emit('    if (flex)', '        kw_empty_tags(w);', '}', '')
            return
        self.helpers.add('put_tagged')
        self.emit('    if (!flex)', '        return;')
        tagged.sort(key=lambda x: x[0].tag)
        for f, c in tagged:
            self.emit('    const bool has_%s = %s;' % (f.name, c))
        self.emit('    kw_uvarint(w, %s);' % ' + '.join('(uint32_t)has_%s' % f.name
                                                    for f, _ in tagged))
        for f, c in tagged:
            self.emit('    if (has_%s) {' % f.name, '        struct kw t;', '        kw_init(&t, NULL);')
            self.emit(*['        ' + x for x in self.write_field(f, '&t')])
            self.emit('        put_tagged(w, %d, &t);' % f.tag, '    }')
        self.emit('}', '')

    def gen_fill(self, api, st):
        self.emit('static void %s_fill(struct karena *a, int16_t ver, struct %s *m, unsigned seed)'
                  % (st.cname, st.cname), '{', '    (void)ver;', '    (void)a;', '    (void)seed;',
                  '    %s_init(m);' % st.cname)
        for k, f in enumerate(st.fields, 1):
            c = vcond(f, st)
            if c is False:
                continue
            self.emit_guarded(c, self.sample_field(f, k), '    ')
        self.emit('}', '')

    def gen_is_default(self, st):
        conds = [self.nondefault(f, 'm->' + f.name) for f in st.fields]
        self.emit('static bool %s_is_default(const struct %s *m)' % (st.cname, st.cname), '{',
                  '    return !(%s);' % ' ||\n             '.join(conds), '}', '')

    def gen_message(self, api, short):
        root = api.msgs[short]
        m = root.cname
        for st in all_structs(root):
            self.gen_init(st, True)
            self.gen_read(api, st)
            self.gen_write(api, st)
            self.gen_fill(api, st)
        self.emit(
            'int %s_decode(struct kr *r, int16_t ver, struct karena *a, struct %s *m)' % (m, m),
            '{',
            '    if (ver < %d || ver > %d) {' % (api.lo, api.hi),
            '        %s_init(m);' % m,
            '        kr_fail(r, WIRE_ERANGE);',
            '        return r->err;',
            '    }',
            '    %s_read(r, ver, a, m);' % m,
            '    return r->err;',
            '}',
            '',
            'void %s_encode(struct kw *w, int16_t ver, const struct %s *m)' % (m, m),
            '{',
            '    if (ver < %d || ver > %d) {' % (api.lo, api.hi),
            '        if (!w->err)',
            '            w->err = WIRE_ERANGE;',
            '        return;',
            '    }',
            '    %s_write(w, ver, m);' % m,
            '}',
            '',
            'void %s_sample(struct karena *a, int16_t ver, struct %s *m, int seed)' % (m, m),
            '{',
            '    %s_fill(a, ver, m, (unsigned)seed);' % m,
            '}',
            '',
            'static int %s_decode_any(struct kr *r, int16_t ver, struct karena *a, void *m)' % m,
            '{',
            '    return %s_decode(r, ver, a, m);' % m,
            '}',
            '',
            'static void %s_encode_any(struct kw *w, int16_t ver, const void *m)' % m,
            '{',
            '    %s_encode(w, ver, m);' % m,
            '}',
            '',
            'static void %s_sample_any(struct karena *a, int16_t ver, void *m, int seed)' % m,
            '{',
            '    %s_sample(a, ver, m, seed);' % m,
            '}',
            '')

    def mark_is_default(self):
        """Structs compared against their defaults (tagged struct fields and
        struct fields inside those) need an is_default function."""
        changed = True
        while changed:
            changed = False
            for api in self.apis:
                for root in api.msgs.values():
                    for st in all_structs(root):
                        for f in st.fields:
                            if (f.kind != 'struct' or f.nullable
                                    or f.struct.need_is_default):
                                continue
                            if f.tag is not None or st.need_is_default:
                                f.struct.need_is_default = True
                                changed = True

    def generate(self, hname):
        self.mark_is_default()
        body_start = len(self.out)
        for api in self.apis:
            self.emit('/* ---- %s ---- */' % api.name, '')
            for short in ('req', 'resp'):
                root = api.msgs[short]
                for st in all_structs(root):
                    if st.need_is_default:
                        self.gen_is_default(st)
                self.gen_message(api, short)
        body = self.out[body_start:]
        del self.out[body_start:]
        self.gen_tables()
        tables = self.out[body_start:]
        del self.out[body_start:]
        self.emit('/* Generated by tools/kgen.py from common/proto/<api>.def; do not edit. */',
                  '#include "%s"' % hname, '', '#include <stdio.h>', '#include <string.h>', '')
        self.gen_helpers()
        self.out += body + tables

    def gen_helpers(self):
        h = self.helpers
        if 'uuid_is_zero' in h:
            self.emit('static bool uuid_is_zero(const uint8_t u[16])', '{',
                      '    for (int i = 0; i < 16; i++)', '        if (u[i])',
                      '            return false;', '    return true;', '}', '')
        if 'put_tagged' in h:
            self.emit('/* Appends one tagged field (tag, size, value) and frees its buffer. */',
                      'static void put_tagged(struct kw *w, uint32_t tag, struct kw *t)', '{',
                      '    kw_uvarint(w, tag);',
                      '    kw_uvarint(w, (uint32_t)t->len);',
                      '    kw_raw(w, t->buf, t->len);',
                      '    if (t->err && !w->err)',
                      '        w->err = t->err;',
                      '    kw_free(t);', '}', '')
        if h & {'sample_string', 'sample_bytes', 'sample_records'}:
            self.emit('/* Arena-owned sample payload: "s<v>" padded to at least `len` bytes. */',
                      'static const char *sample_text(struct karena *a, unsigned v, size_t len, int32_t *n)',
                      '{',
                      '    char buf[32];',
                      '    int k = snprintf(buf, sizeof buf, "s%u", v);',
                      '    size_t want = (size_t)k > len ? (size_t)k : len;',
                      '    char *p = karena_alloc(a, want + 1);',
                      '    if (!p) {',
                      '        *n = -1;',
                      '        return NULL;',
                      '    }',
                      '    memset(p, \'x\', want);',
                      '    memcpy(p, buf, (size_t)k);',
                      '    *n = (int32_t)want;',
                      '    return p;', '}', '')
        if 'sample_string' in h:
            self.emit('static struct kstr sample_string(struct karena *a, unsigned v)', '{',
                      '    struct kstr s;', '    s.p = sample_text(a, v, 0, &s.len);',
                      '    return s;', '}', '')
        if 'sample_bytes' in h:
            self.emit('static struct kbytes sample_bytes(struct karena *a, unsigned v)', '{',
                      '    struct kbytes b;',
                      '    b.p = (const uint8_t *)sample_text(a, v, 3, &b.len);',
                      '    return b;', '}', '')
        if 'sample_records' in h:
            self.emit('/* Opaque to the codec: any bytes do. */',
                      'static struct krecords sample_records(struct karena *a, unsigned v)', '{',
                      '    struct krecords rec;', '    memset(&rec, 0, sizeof rec);',
                      '    rec.p = (const uint8_t *)sample_text(a, v, 16, &rec.len);',
                      '    return rec;', '}', '')

    def gen_tables(self):
        self.emit('const struct kp_api_info kp_apis[] = {')
        for api in self.apis:
            self.emit('    { %d, "%s", %d, %d, %s },' % (
                api.key, api.name, api.lo, api.hi,
                'INT16_MAX' if api.flex == INT16_MAX else api.flex))
        self.emit('};', 'const size_t kp_apis_n = sizeof kp_apis / sizeof kp_apis[0];', '',
                  'const struct kp_api_info *kp_api_find(int16_t key)', '{',
                  '    for (size_t i = 0; i < kp_apis_n; i++)',
                  '        if (kp_apis[i].key == key)',
                  '            return &kp_apis[i];',
                  '    return NULL;', '}', '',
                  'const struct kp_msg_desc kp_msgs[] = {')
        for api in self.apis:
            for short in ('req', 'resp'):
                m = api.msgs[short].cname
                self.emit('    { "%s%s", %d, %s, %d, %d, %s, sizeof(struct %s),' % (
                    api.name, 'Request' if short == 'req' else 'Response', api.key,
                    'false' if short == 'req' else 'true', api.lo, api.hi,
                    'INT16_MAX' if api.flex == INT16_MAX else api.flex, m))
                self.emit('      %s_decode_any, %s_encode_any, %s_sample_any },' % (m, m, m))
        self.emit('};', 'const size_t kp_msgs_n = sizeof kp_msgs / sizeof kp_msgs[0];', '',
                  'const struct kp_msg_desc *kp_msg_find(int16_t key, bool response)', '{',
                  '    for (size_t i = 0; i < kp_msgs_n; i++)',
                  '        if (kp_msgs[i].api_key == key && kp_msgs[i].response == response)',
                  '            return &kp_msgs[i];',
                  '    return NULL;', '}')


def write_if_changed(path, text):
    try:
        with open(path, encoding='utf-8') as fp:
            if fp.read() == text:
                return
    except OSError:
        pass
    tmp = path + '.tmp'
    with open(tmp, 'w', encoding='utf-8') as fp:
        fp.write(text)
    os.replace(tmp, path)


def main(argv):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument('--out-h', required=True)
    ap.add_argument('--out-c', required=True)
    ap.add_argument('defs', nargs='+')
    args = ap.parse_args(argv)
    apis = {}
    try:
        for path in args.defs:
            parse_file(path, apis)
        ordered = [apis[k] for k in sorted(apis)]
        for api in ordered:
            for root in api.msgs.values():
                validate(api, root)
    except DefError as e:
        print('kgen: %s' % e, file=sys.stderr)
        return 1
    h = []
    gen_header(ordered, h)
    g = Gen(ordered)
    g.generate(os.path.basename(args.out_h))
    write_if_changed(args.out_h, '\n'.join(h) + '\n')
    write_if_changed(args.out_c, '\n'.join(g.out) + '\n')
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
