/*
** osctmpl.c -- expanding kernel templates (language: see osctmpl.h).
**
** A template is translated, line for line, into a Lua chunk: `$` lines are
** copied, text lines become calls that write their pieces to the output
** buffer. The chunk runs in a fresh lua_State holding only base, string,
** table and math, with the parameters and the prelude's helpers as globals
** of a strict environment. One line of template is one line of chunk, so
** Lua's own "name:line:" positions point into the template.
*/
#include "osctmpl.h"

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "oscerr.h"

const char *osc_tmpl_find(const char *name) {
  for (const osc_template_file *f = osc_template_files; f->name; f++)
    if (strcmp(f->name, name) == 0) return f->text;
  return NULL;
}

/* ---- parameters ----------------------------------------------------------- */

void osc_tmpl_params_init(osc_tmpl_params *ps) {
  ps->n = 0;
  ps->overflow = 0;
}

static osc_tmpl_param *param_add(osc_tmpl_params *ps, const char *key, osc_tmpl_kind kind) {
  osc_tmpl_param *p;
  if (ps->n == OSC_TMPL_MAX_PARAMS) { ps->overflow = 1; return NULL; }
  p = &ps->p[ps->n++];
  memset(p, 0, sizeof *p);
  p->key = key;
  p->kind = kind;
  return p;
}

void osc_tmpl_int(osc_tmpl_params *ps, const char *key, long long v) {
  osc_tmpl_param *p = param_add(ps, key, OSC_TP_INT);
  if (p) p->i = v;
}

void osc_tmpl_str(osc_tmpl_params *ps, const char *key, const char *v) {
  osc_tmpl_param *p = param_add(ps, key, OSC_TP_STR);
  if (p) p->s = v;
}

void osc_tmpl_ints(osc_tmpl_params *ps, const char *key, const long long *v, int n) {
  osc_tmpl_param *p = param_add(ps, key, OSC_TP_INTS);
  if (p) { p->iv = v; p->n = n; }
}

void osc_tmpl_strs(osc_tmpl_params *ps, const char *key, const char *const *v, int n) {
  osc_tmpl_param *p = param_add(ps, key, OSC_TP_STRS);
  if (p) { p->sv = v; p->n = n; }
}

/* ---- translation: template text -> Lua chunk --------------------------------- */

static void lua_quote(osc_buf *b, const char *s, size_t n) {
  osc_buf_add(b, "\"", 1);
  for (size_t i = 0; i < n; i++) {
    unsigned char c = (unsigned char)s[i];
    if (c == '"' || c == '\\') { osc_buf_add(b, "\\", 1); osc_buf_add(b, s + i, 1); }
    else if (c < 32 || c == 127) osc_buf_printf(b, "\\%03u", c);
    else osc_buf_add(b, s + i, 1);
  }
  osc_buf_add(b, "\"", 1);
}

/* End of the Lua expression that starts at s (just after "${"): the
** matching '}', skipping nested braces and quoted strings. NULL if none. */
static const char *expr_end(const char *s, const char *end) {
  int depth = 0;
  for (; s < end; s++) {
    if (*s == '"' || *s == '\'') {
      char q = *s;
      for (s++; s < end && *s != q; s++)
        if (*s == '\\' && s + 1 < end) s++;
      if (s == end) return NULL;
    } else if (*s == '{') depth++;
    else if (*s == '}' && depth-- == 0) return s;
  }
  return NULL;
}

/* A text line: `_w("lit")` or, with substitutions,
** `_wl("lit", _x(expr, "expr", "indent"), "lit")`. */
static int translate_text(osc_buf *b, const char *s, const char *end, int has_nl) {
  const char *ind_end = s, *p = s, *lit = s;
  int subst = 0;
  while (ind_end < end && (*ind_end == ' ' || *ind_end == '\t')) ind_end++;
  for (const char *q = s; q + 1 < end; q++)
    if (q[0] == '$' && q[1] == '{') { subst = 1; break; }
  osc_buf_puts(b, subst ? "_wl(" : "_w(");
  while (p < end) {
    const char *e;
    if (!(p + 1 < end && p[0] == '$' && p[1] == '{')) { p++; continue; }
    if (!(e = expr_end(p + 2, end))) return -1;
    lua_quote(b, lit, (size_t)(p - lit));
    osc_buf_puts(b, ", _x(");
    osc_buf_add(b, p + 2, (size_t)(e - p - 2));
    osc_buf_puts(b, ", ");
    lua_quote(b, p + 2, (size_t)(e - p - 2));
    osc_buf_puts(b, ", ");
    lua_quote(b, s, (size_t)(ind_end - s));
    osc_buf_puts(b, "), ");
    p = lit = e + 1;
  }
  lua_quote(b, lit, (size_t)(end - lit));
  if (has_nl) osc_buf_puts(b, ", \"\\n\"");
  osc_buf_puts(b, ")\n");
  return 0;
}

/* Returns the 1-based line of an unterminated "${", or 0. */
static int translate(const char *text, osc_buf *chunk) {
  const char *s = text;
  int line = 1;
  while (*s) {
    const char *nl = strchr(s, '\n'), *end = nl ? nl : s + strlen(s), *t = s;
    while (t < end && (*t == ' ' || *t == '\t')) t++;
    if (t < end && *t == '$' && !(t + 1 < end && t[1] == '{')) {
      osc_buf_add(chunk, t + 1, (size_t)(end - t - 1));
      osc_buf_add(chunk, "\n", 1);
    } else if (translate_text(chunk, s, end, nl != NULL)) {
      return line;
    }
    if (!nl) break;
    s = nl + 1;
    line++;
  }
  return 0;
}

/* ---- the prelude: helpers every template sees ---------------------------- */

static const char prelude[] =
    "max_expr_terms = 64\n"
    "line_width = 96\n"
    "function cat(list, sep) return table.concat(list, sep or '') end\n"
    "function range(lo, hi)\n"
    "  local t = {}\n"
    "  for i = lo, hi - 1 do t[#t + 1] = i end\n"
    "  return t\n"
    "end\n"
    /* items[first..last] joined by sep, broken before line_width; len is
    ** what the line already holds */
    "function join(items, sep, first, last, len)\n"
    "  first, last, len = first or 1, last or #items, len or 0\n"
    "  if last < first then return '' end\n"
    "  local parts, tsep = {items[first]}, sep:gsub('%s+$', '')\n"
    "  len = len + #items[first]\n"
    "  for k = first + 1, last do\n"
    "    local t = items[k]\n"
    "    if len + #sep + #t > line_width then\n"
    "      parts[#parts + 1] = tsep .. '\\n    ' .. t; len = 4 + #t\n"
    "    else\n"
    "      parts[#parts + 1] = sep .. t; len = len + #sep + #t\n"
    "    end\n"
    "  end\n"
    "  return table.concat(parts)\n"
    "end\n"
    /* A flat left-associative sum is one serial chain of adds: tcc then
    ** waits an add's latency per product. Parenthesised groups of four
    ** are independent of the running total, so they overlap (tcc ~1.3x,
    ** gcc -O2 too, which may not reassociate floats). */
    "sum_group = 4\n"
    "function sum(terms, first, last, len)\n"
    "  first, last = first or 1, last or #terms\n"
    "  if last < first then return '0.0f' end\n"
    "  local g = sum_group\n"
    "  if g <= 1 or last - first + 1 <= g then return join(terms, ' + ', first, last, len) end\n"
    "  local groups = {}\n"
    "  for i = first, last, g do\n"
    "    local j = math.min(last, i + g - 1)\n"
    "    groups[#groups + 1] = j > i and ('(' .. table.concat(terms, ' + ', i, j) .. ')') or terms[i]\n"
    "  end\n"
    "  return join(groups, ' + ', 1, #groups, len)\n"
    "end\n"
    /* flat left-associative statements, max_expr_terms products each: tcc
    ** keeps a statement's accumulator on the stack, so fewer statements run
    ** faster, and a capped length keeps the expression tree shallow */
    "function assign(lhs, terms, op)\n"
    "  local n, cap, out = #terms, max_expr_terms, {}\n"
    "  if n == 0 then return op == '=' and (lhs .. ' = 0.0f;') or '' end\n"
    "  local i = 1\n"
    "  while i <= n do\n"
    "    local j = math.min(n, i + cap - 1)\n"
    "    local head = lhs .. ' ' .. op .. ' '\n"
    "    out[#out + 1] = head .. sum(terms, i, j, #head) .. ';'\n"
    "    op, i = '+=', j + 1\n"
    "  end\n"
    "  return table.concat(out, '\\n')\n"
    "end\n"
    /* an int expression k + v1*c1 + v2*c2 ... without the noise of zeros and ones */
    "function lin(k, ...)\n"
    "  local a, s = {...}, ''\n"
    "  for i = 1, #a, 2 do\n"
    "    local v, c = a[i], a[i + 1]\n"
    "    if c ~= 0 then\n"
    "      local t = c == 1 and v or string.format('%s * %d', v, c)\n"
    "      s = s == '' and t or (s .. ' + ' .. t)\n"
    "    end\n"
    "  end\n"
    "  if s == '' then return string.format('%d', k) end\n"
    "  if k > 0 then return string.format('%s + %d', s, k) end\n"
    "  if k < 0 then return string.format('%s - %d', s, -k) end\n"
    "  return s\n"
    "end\n"
    /* ReLU as torch.relu: a < 0 ? 0 : a keeps NaN (the comparison is false),
    ** maps -inf to 0 and keeps +inf; a > 0 ? a : 0 would turn NaN into 0 */
    /* relu6 and clamp (act_hi set) bound it above too, NaN still passing */
    "function relu_of(a)\n"
    "  local lo = act_lo or '0.0f'\n"
    "  local r = a .. ' < ' .. lo .. ' ? ' .. lo .. ' : '\n"
    "  if act_hi and act_hi ~= '' then\n"
    "    return r .. '(' .. a .. ' > ' .. act_hi .. ' ? ' .. act_hi .. ' : ' .. a .. ')'\n"
    "  end\n"
    "  return r .. a\n"
    "end\n"
    /* The last stage's store of accumulator a to base[idx]: the bias b (an
    ** expression, or nil), the residual (residual == 1, unless skip_res: an
    ** earlier partial store took it), then the activation. The residual sits
    ** at the output's offset: res[idx] beside out, else rs[idx], rs being
    ** res_decl(base) (declared before the block's stores, so the offset is
    ** computed once). Its element is read before the output's is written,
    ** so res may be out. */
    "function res_of(base, idx)\n"
    "  return (base == 'out' and 'res[' or 'rs[') .. idx .. ']'\n"
    "end\n"
    "function res_decl(base) return 'const float *rs = res + (' .. base .. ' - out);' end\n"
    "function store_of(a, base, idx, b, skip_res)\n"
    "  local s = ''\n"
    "  if b then s = a .. ' += ' .. b .. ';\\n' end\n"
    "  if residual == 1 and not skip_res then s = s .. a .. ' += ' .. res_of(base, idx) .. ';\\n' end\n"
    "  return s .. base .. '[' .. idx .. '] = ' .. (relu == 1 and relu_of(a) or a) .. ';'\n"
    "end\n"
    /* tile t of a stage of `groups` groups of `per` tiles of b outputs
    ** each: its group gr and first output jb, without dividing by 1 */
    "function tile_decl(groups, per, b)\n"
    "  if groups == 1 then return 'const int gr = 0, jb = ' .. lin(0, 't', b) .. ';' end\n"
    "  if per == 1 then return 'const int gr = t, jb = 0;' end\n"
    "  return string.format('const int gr = t / %d, jb = t %% %d * %d;', per, per, b)\n"
    "end\n"
    /* base + index, without parentheses the index does not need */
    "function ptr(base, idx)\n"
    "  if idx == '0' then return base end\n"
    "  if idx:match('^[%w_]+$') then return base .. ' + ' .. idx end\n"
    "  return base .. ' + (' .. idx .. ')'\n"
    "end\n"
    /* the value of ${expr}: integers and strings only */
    "function _x(v, expr, ind)\n"
    "  if math.type(v) == 'integer' then return string.format('%d', v) end\n"
    "  if type(v) == 'string' then\n"
    "    if ind ~= '' then v = v:gsub('\\n([^\\n])', '\\n' .. ind .. '%1') end\n"
    "    return v\n"
    "  end\n"
    "  if math.type(v) == 'float' then\n"
    "    error('${' .. expr .. '} is the float ' .. tostring(v) ..\n"
    "          ' (use // for integer division)', 2)\n"
    "  end\n"
    "  error('${' .. expr .. '} is ' .. type(v), 2)\n"
    "end\n";

/* ---- running ------------------------------------------------------------------ */

typedef struct run_ctx {
  const char *name;
  const char *chunk;
  size_t chunk_len;
  int binary;                 /* chunk is precompiled bytecode */
  osc_buf *dump;              /* if set: the compiled chunk, for the cache */
  const osc_tmpl_params *params;
  osc_buf *out;
} run_ctx;

/* ---- compiled templates -------------------------------------------------------
** Parsing a template costs more than running it for small stages, so each
** embedded template is compiled once per process and kept as bytecode
** (with its line info, for error messages); every expansion still gets a
** fresh lua_State. Entries are written once under the lock and never freed. */

#define CACHE_TEMPLATES 64
#define CACHE_PRELUDE CACHE_TEMPLATES        /* the prelude's slot, after the templates' */
#define CACHE_STRICT (CACHE_TEMPLATES + 1)   /* the strict index's */
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct { char *code; size_t len; } cache[CACHE_TEMPLATES + 2];

static int cache_slot(const char *name) {
  for (int i = 0; i < CACHE_TEMPLATES && osc_template_files[i].name; i++)
    if (strcmp(osc_template_files[i].name, name) == 0) return i;
  return -1;
}

static const char *cache_get(int slot, size_t *len) {
  const char *code;
  pthread_mutex_lock(&cache_lock);
  code = cache[slot].code;
  *len = cache[slot].len;
  pthread_mutex_unlock(&cache_lock);
  return code;
}

static void cache_put(int slot, osc_buf *code) {
  pthread_mutex_lock(&cache_lock);
  if (!cache[slot].code && !osc_buf_failed(code) && code->len) {
    cache[slot].len = code->len;
    cache[slot].code = osc_buf_take(code);
  }
  pthread_mutex_unlock(&cache_lock);
}

static int dump_writer(lua_State *L, const void *p, size_t sz, void *ud) {
  (void)L;
  osc_buf_add(ud, p, sz);
  return 0;
}

static int write_pieces(lua_State *L, int skip_blank) {
  osc_buf *b = lua_touserdata(L, lua_upvalueindex(1));
  int n = lua_gettop(L);
  if (skip_blank) {
    int blank = 1;
    for (int i = 1; i <= n && blank; i++) {
      size_t len;
      const char *s = luaL_checklstring(L, i, &len);
      for (size_t k = 0; k < len && blank; k++)
        blank = s[k] == ' ' || s[k] == '\t' || s[k] == '\n';
    }
    if (blank) return 0;
  }
  for (int i = 1; i <= n; i++) {
    size_t len;
    const char *s = luaL_checklstring(L, i, &len);
    osc_buf_add(b, s, len);
  }
  return 0;
}

static int l_write(lua_State *L) { return write_pieces(L, 0); }
static int l_write_line(lua_State *L) { return write_pieces(L, 1); }

/* Strict globals: a name that is neither a parameter, a helper nor a
** library is a template bug, reported where it is read. */
static const char strict_index[] =
    "local G = ...\n"
    "return function(_, k)\n"
    "  local v = G[k]\n"
    "  if v == nil then error(\"undefined name '\" .. tostring(k) .. \"'\", 2) end\n"
    "  return v\n"
    "end\n";

static void push_param(lua_State *L, const osc_tmpl_param *p) {
  switch (p->kind) {
  case OSC_TP_INT: lua_pushinteger(L, (lua_Integer)p->i); break;
  case OSC_TP_STR: lua_pushstring(L, p->s ? p->s : ""); break;
  case OSC_TP_INTS:
    lua_createtable(L, p->n, 0);
    for (int i = 0; i < p->n; i++) {
      lua_pushinteger(L, (lua_Integer)p->iv[i]);
      lua_rawseti(L, -2, i + 1);
    }
    break;
  case OSC_TP_STRS:
    lua_createtable(L, p->n, 0);
    for (int i = 0; i < p->n; i++) {
      lua_pushstring(L, p->sv[i] ? p->sv[i] : "");
      lua_rawseti(L, -2, i + 1);
    }
    break;
  }
}

/* The prelude and the strict index, compiled once per process like the
** templates: parsing the prelude was a tenth of `osconv gen`'s time on
** ResNet-50 (1371 expansions). slot: CACHE_PRELUDE or CACHE_STRICT. */
static void load_cached(lua_State *L, int slot, const char *src, size_t len,
                        const char *chunkname) {
  size_t n;
  const char *code = cache_get(slot, &n);
  if (code) {
    if (luaL_loadbufferx(L, code, n, chunkname, "b") != LUA_OK) lua_error(L);
    return;
  }
  if (luaL_loadbufferx(L, src, len, chunkname, "t") != LUA_OK) lua_error(L);
  {
    osc_buf dump;
    osc_buf_init(&dump);
    lua_dump(L, dump_writer, &dump, 0);
    cache_put(slot, &dump);
    osc_buf_free(&dump);
  }
}

/* Load `src` as chunk `chunkname` with environment E (at index env), run it. */
static void run_chunk(lua_State *L, int env, int slot, const char *src, size_t len,
                      const char *chunkname) {
  load_cached(L, slot, src, len, chunkname);
  lua_pushvalue(L, env);
  lua_setupvalue(L, -2, 1);
  lua_call(L, 0, 0);
}

static int run_protected(lua_State *L) {
  run_ctx *c = lua_touserdata(L, 1);
  static const luaL_Reg libs[] = {{LUA_GNAME, luaopen_base},
                                  {LUA_STRLIBNAME, luaopen_string},
                                  {LUA_TABLIBNAME, luaopen_table},
                                  {LUA_MATHLIBNAME, luaopen_math}};
  char chunkname[128];
  int env;
  for (size_t i = 0; i < sizeof libs / sizeof libs[0]; i++) {
    luaL_requiref(L, libs[i].name, libs[i].func, 1);
    lua_pop(L, 1);
  }
  /* nothing that reaches files or the terminal */
  static const char *const drop[] = {"dofile", "loadfile", "print"};
  for (size_t i = 0; i < sizeof drop / sizeof drop[0]; i++) {
    lua_pushnil(L);
    lua_setglobal(L, drop[i]);
  }
  lua_newtable(L);                          /* E, the template's globals */
  env = lua_gettop(L);
  lua_newtable(L);                          /* its metatable */
  load_cached(L, CACHE_STRICT, strict_index, sizeof strict_index - 1, "=osctmpl strict");
  lua_pushglobaltable(L);
  lua_call(L, 1, 1);
  lua_setfield(L, -2, "__index");
  lua_setmetatable(L, env);
  lua_pushlightuserdata(L, c->out);
  lua_pushcclosure(L, l_write, 1);
  lua_setfield(L, env, "_w");
  lua_pushlightuserdata(L, c->out);
  lua_pushcclosure(L, l_write_line, 1);
  lua_setfield(L, env, "_wl");
  run_chunk(L, env, CACHE_PRELUDE, prelude, sizeof prelude - 1, "=osctmpl prelude");
  for (int i = 0; c->params && i < c->params->n; i++) {
    push_param(L, &c->params->p[i]);
    lua_setfield(L, env, c->params->p[i].key);
  }
  snprintf(chunkname, sizeof chunkname, "=%s", c->name);
  if (luaL_loadbufferx(L, c->chunk, c->chunk_len, chunkname, c->binary ? "b" : "t") != LUA_OK)
    lua_error(L);
  if (c->dump) lua_dump(L, dump_writer, c->dump, 0);
  lua_pushvalue(L, env);
  lua_setupvalue(L, -2, 1);
  lua_call(L, 0, 0);
  return 0;
}

/* Message handler: make sure the message names the template line that was
** running, also when the error came from inside a helper. */
static int message_handler(lua_State *L) {
  const char *name = lua_touserdata(L, lua_upvalueindex(1));
  const char *msg = lua_tostring(L, 1);
  size_t nlen = strlen(name);
  lua_Debug ar;
  if (!msg) msg = "(error object is not a string)";
  if (strncmp(msg, name, nlen) == 0 && msg[nlen] == ':') {
    lua_pushstring(L, msg);
    return 1;
  }
  for (int level = 0; lua_getstack(L, level, &ar); level++) {
    lua_getinfo(L, "Sl", &ar);
    if (ar.source[0] == '=' && strcmp(ar.source + 1, name) == 0 && ar.currentline > 0) {
      lua_pushfstring(L, "%s:%d: %s", name, ar.currentline, msg);
      return 1;
    }
  }
  lua_pushfstring(L, "%s: %s", name, msg);
  return 1;
}

/* Expand `text`; slot >= 0 names its entry in the bytecode cache. */
static osc_status expand(const char *name, const char *text, int slot,
                         const osc_tmpl_params *params, osc_buf *out, osc_error *err) {
  osc_buf chunk, dump;
  lua_State *L;
  run_ctx c;
  int bad_line, rc;
  osc_status st = OSC_OK;
  if (params && params->overflow)
    return osc_error_set(err, OSC_EINTERNAL,
                         "template %s: more than %d parameters (raise OSC_TMPL_MAX_PARAMS)",
                         name, OSC_TMPL_MAX_PARAMS);
  osc_buf_init(&chunk);
  osc_buf_init(&dump);
  memset(&c, 0, sizeof c);
  if (slot >= 0 && (c.chunk = cache_get(slot, &c.chunk_len))) {
    c.binary = 1;
  } else {
    if ((bad_line = translate(text, &chunk))) {
      osc_buf_free(&chunk);
      return osc_error_set(err, OSC_EINTERNAL, "template %s:%d: '${' without its '}'", name,
                           bad_line);
    }
    c.chunk = chunk.data ? chunk.data : "";
    c.chunk_len = chunk.len;
    c.dump = slot >= 0 ? &dump : NULL;
  }
  if (osc_buf_failed(&chunk) || !(L = luaL_newstate())) {
    osc_buf_free(&chunk);
    return osc_error_set(err, OSC_ENOMEM, "out of memory expanding template %s", name);
  }
  c.name = name;
  c.params = params;
  c.out = out;
  lua_pushlightuserdata(L, (void *)name);
  lua_pushcclosure(L, message_handler, 1);
  lua_pushcfunction(L, run_protected);
  lua_pushlightuserdata(L, &c);
  rc = lua_pcall(L, 1, 0, 1);
  if (rc == LUA_ERRMEM)
    st = osc_error_set(err, OSC_ENOMEM, "out of memory expanding template %s", name);
  else if (rc != LUA_OK)
    st = osc_error_set(err, OSC_EINTERNAL, "template %s", lua_tostring(L, -1));
  else if (osc_buf_failed(out))
    st = osc_error_set(err, OSC_ENOMEM, "out of memory expanding template %s", name);
  lua_close(L);
  if (c.dump) cache_put(slot, &dump);
  osc_buf_free(&dump);
  osc_buf_free(&chunk);
  return st;
}

osc_status osc_tmpl_expand_text(const char *name, const char *text,
                                const osc_tmpl_params *params, osc_buf *out,
                                osc_error *err) {
  return expand(name, text, -1, params, out, err);
}

osc_status osc_tmpl_expand(const char *name, const osc_tmpl_params *params, osc_buf *out,
                           osc_error *err) {
  const char *text = osc_tmpl_find(name);
  if (!text)
    return osc_error_set(err, OSC_EINTERNAL, "no embedded template named '%s'", name);
  return expand(name, text, cache_slot(name), params, out, err);
}
