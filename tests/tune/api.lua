-- api.lua -- the Lua module's behaviour and its error paths. Runs under
-- `osconv script tests/tune/api.lua` and a stock lua5.4 with
-- package.cpath naming build/?.so (make test-tune does both).
local osconv = osconv or require "osconv"

local dir = os.tmpname()
os.remove(dir)
assert(os.execute("mkdir " .. dir))
local function path(name) return dir .. "/" .. name end
local function write(name, text)
  local f = assert(io.open(path(name), "w"))
  f:write(text)
  f:close()
  return path(name)
end

-- f(...) must raise an error whose message holds `want` (plain text).
local function raises(want, f, ...)
  local ok, msg = pcall(f, ...)
  assert(not ok, "no error; expected one with: " .. want)
  assert(type(msg) == "string" and msg:find(want, 1, true),
         "error '" .. tostring(msg) .. "' lacks '" .. want .. "'")
end

local cfg_path = write("tiny.lua", [[
network { name = 'n' }
conv { name = 'a', in_channels = 4, out_channels = 8, size = 5, kernel = 3, padding = 1, bias = true }
conv { name = 'g', in_channels = 4, out_channels = 4, size = 4, kernel = 3, groups = 2 }
]])
local cfg = osconv.load_config(cfg_path)
assert(#cfg.layers == 2 and #cfg.networks == 1 and cfg.networks[1].name == "n")
local a = osconv.find_layer(cfg, "n.a")
assert(a == osconv.find_layer(cfg, "a") and a.network == "n" and a.bias == true)
assert(a.out_h == 5 and a.k_h == 3 and a.line == 2)

-- candidates: each distinct chain once, and every one a valid plan
local cands, seen = osconv.candidates(a, {max_stages = 3}), {}
assert(#cands >= 3)
for _, p in ipairs(cands) do
  assert(not seen[p.chain], "duplicate chain " .. p.chain)
  seen[p.chain] = true
end
assert(seen["3x3/g1"], "conventional is a candidate")
-- a grouped layer: conventional only
local g = osconv.candidates(osconv.find_layer(cfg, "g"))
assert(#g == 1 and g[1].mode == "conventional")

-- MACs against a closed form: depthwise 4*9*25 + pointwise 4*8*25
local dw = osconv.plan(a, {mode = "depthwise"})
assert(dw.macs == 4 * 9 * 25 + 4 * 8 * 25, dw.macs)
assert(#osconv.emit(dw) > 0 and osconv.emit(dw, {prefix = "x"}):find("void x(", 1, true))

-- every variant compiles, verifies and times
local vs = osconv.variants()
assert(vs[#vs].isa == "c")
for _, v in ipairs(vs) do
  local k = osconv.compile(dw, {isa = v.isa})
  assert(k:info().isa == v.isa, k:info().isa)
  local ok, rel = k:verify()
  assert(ok and rel < 1e-5, rel)
  local t = k:time{budget = 0.001, reps = 20}
  assert(t.reps >= 3 and t.reps <= 20 and t.min <= t.median and t.median <= t.max and t.spread >= 0)
end
-- thread counts: 1, powers of two below the CPUs, and the CPUs; each one compiles
local ts = vs.threads
assert(ts[1] == 1 and #ts >= 1, "threads start at 1")
for i = 2, #ts do assert(ts[i] > ts[i - 1], "threads ascend") end
for _, n in ipairs(ts) do
  local k = osconv.compile(dw, {isa = "c", threads = n})
  assert(k:info().threads >= 1 and k:info().threads <= n and k:verify())
end
local ref = osconv.compile(dw, {backend = "reference"})
assert(ref:info().backend == "reference" and ref:verify())
-- code variants: "auto" first for every ISA, only it for c; each compiles and verifies
for _, v in ipairs(vs) do
  assert(v.codes[1] == "auto" and (v.isa ~= "c" or #v.codes == 1), v.isa)
  for _, c in ipairs(v.codes) do
    local k = osconv.compile(dw, {isa = v.isa, code = c, threads = 1})
    assert(k:info().code == c and k:verify(), c)
  end
end
assert(osconv.compile(dw, {isa = "c"}):info().code == "auto")
if vs[1].isa ~= "c" then   -- a tile cap changes the SIMD code
  assert(osconv.emit(dw, {isa = vs[1].isa, code = "1x1"}) ~= osconv.emit(dw, {isa = vs[1].isa}))
end
do   -- a layer's own code (a config's `code`) unless the options name one
  local l2 = {}
  for k, v in pairs(a) do l2[k] = v end
  l2.code = "2x8/u64"
  local p2 = osconv.plan(l2)
  assert(p2.layer.code == "2x8/u64" and a.code == "auto")
  assert(osconv.compile(p2):info().code == "2x8/u64")
  assert(osconv.compile(p2, {code = "auto"}):info().code == "auto")
  l2.code = "u240/2x8"
  raises("layer.code: code variant 'u240/2x8'", osconv.plan, l2)
end
raises("options.code: code variant '9x9'", osconv.compile, dw, {code = "9x9"})
raises("options.code: code variant 'oc'", osconv.emit, dw, {code = "oc"})

-- the database from Lua
local db = osconv.tuning_new()
assert(db:put(dw, {isa = "c", median = 2e-6, spread = 1e-7, reps = 5}) == true)
assert(db:put(dw, {isa = "c", median = 3e-6, spread = 1e-7, reps = 5}) == false, "slower: kept out")
local rec, verdict, note = db:lookup(a)
assert(verdict == "used" and rec.plan.chain == dw.chain and rec.median == 2e-6, note)
assert(rec.threads == nil, "no threads given: null")
assert(db:put(dw, {isa = "c", threads = 3, median = 1e-6, spread = 1e-7, reps = 5}) == true)
rec, verdict, note = db:lookup(a)
assert(rec.threads == 3 and note:find("isa c, 3 threads", 1, true), note)
assert(rec.code == "auto", "no code given: auto")
assert(db:put(dw, {isa = "c", threads = 3, code = "8x2", median = 0.5e-6, spread = 1e-7, reps = 5}))
rec, verdict, note = db:lookup(a)
assert(rec.code == "8x2" and note:find("variant 8x2", 1, true), note)
assert(db:text():find('"code":"8x2"', 1, true))
raises("options.code: code variant", db.put, db, dw, {isa = "c", code = "u240/4x6", median = 1e-7})
db:save(path("db.jsonl"))
local back = osconv.tuning_load(path("db.jsonl"))
assert(back:text() == db:text() and back:count() == 1)
local m = osconv.tuning_merge(back, db)
assert(m:count() == 1)
local _, v2 = db:lookup(osconv.find_layer(cfg, "g"))
assert(v2 == "absent")
local fp = osconv.fingerprint()
assert(fp.cores >= 1 and fp.cpu ~= "" and fp.osconv == osconv.version)

-- error paths: Lua errors with messages, never a crash
raises("nonexistent.lua", osconv.load_config, path("nonexistent.lua"))
raises("bad.lua:2: attempt to call a nil value", osconv.load_config, write("bad.lua", "network { name = 'n' }\nbogus()\n"))
raises("no layer named 'nosuch'", osconv.find_layer, cfg, "nosuch")
raises("unknown mode 'bogus'", osconv.plan, a, {mode = "bogus"})
raises("table expected", osconv.plan, "a")
raises("layer.in_channels must be an integer, got string", osconv.plan,
       {in_channels = "x", out_channels = 1, in_h = 1, in_w = 1, k_h = 1, k_w = 1})
raises("layer.k_h must be an integer, got nothing", osconv.plan,
       {in_channels = 1, out_channels = 1, in_h = 1, in_w = 1, k_w = 1})
raises("options.max_stages must be an integer", osconv.plan, a, {max_stages = "two"})
raises("table of options expected", osconv.plan, a, 3)
raises("unknown isa 'avx9'", osconv.compile, dw, {isa = "avx9"})
raises("unknown backend 'gpu'", osconv.compile, dw, {backend = "gpu"})
raises("options.threads must be an integer 1 to 1024, got 0", osconv.compile, dw, {threads = 0})
raises("options.threads must be an integer 1 to 1024, got 2.5", osconv.compile, dw, {threads = 2.5})
raises("options.threads must be an integer 1 to 1024, got two", osconv.compile, dw, {threads = "two"})
raises("options.threads must be an integer 1 to 1024, got 2000", osconv.compile, dw, {threads = 2000})
raises("options.threads must be an integer 1 to 1024, got -1", db.put, db, dw, {isa = "c", median = 1, threads = -1})
raises("plan.layer must be a layer table", osconv.compile, {mode = "fixed"})
raises("stage", osconv.compile, {layer = a, mode = "fixed", stages = {{out_channels = 5, k_h = 3, k_w = 3}}})
local k = osconv.compile(dw)
raises("1 <= min_reps <= reps", k.time, k, {reps = 0})
k:free()
raises("the kernel was freed", k.time, k)
raises("osconv.kernel expected", k.time, {})
raises("db.jsonl:1:", osconv.tuning_load, write("db.jsonl", "{}\n"))
raises("put: need median >= 0", db.put, db, dw, {isa = "c"})
local other = osconv.tuning_load(write("other.jsonl", (db:text():gsub('"cores":%d+', '"cores":999'))))
raises("other.jsonl: record for", osconv.tuning_merge, db, other, "other.jsonl")
local _, v3, note3 = other:lookup(a)
assert(v3 == "rejected" and note3:find("another machine", 1, true), note3)

os.execute("rm -r " .. dir)
print("api.lua: ok")
