-- autotune.lua -- time every candidate plan and code variant of every layer
-- of a config on this machine, keep the fastest that passes verification,
-- and write it to a tuning database (README, "Autotuning").
--
--   osconv script scripts/autotune.lua CONFIG [--db FILE] [--budget SECONDS]
--                 [--layers a,b] [--max-stages N] [--job I/N] [--svg DIR]
--                 [--unsandboxed]
--   osconv script scripts/autotune.lua --merge OUT IN...
--   osconv script scripts/autotune.lua CONFIG --recheck [--db FILE] [--budget SECONDS]
--
-- --recheck measures nothing new into the database: for every shape it
-- holds a usable record of, it re-times the recorded plan and the untuned
-- default, alternating, and reports both with their spread (the winner of
-- many noisy timings looks faster than it is; this is the honest ratio).
--
-- --job I/N tunes the I-th of N interleaved shares of the layer shapes, so
-- N independent jobs (GNU parallel, make -j, a Slurm array) cover them all;
-- --merge then combines their databases into OUT (the faster record per
-- shape; records from another machine or version are refused). --svg DIR
-- writes DIR/<network>.svg: per layer tuned in this run, measured time
-- against MACs of every candidate timed, the chosen one marked.
--
-- The database (default: CONFIG with .tuning.jsonl for .lua) is rewritten,
-- atomically, after every layer, so Ctrl-C keeps what was measured; a
-- re-run skips the layer shapes it already holds for this machine.
-- --budget is the whole run's time in seconds (default 2 per layer shape),
-- shared evenly by the shapes still to do; a shape's share is split among
-- its candidates and spent on timing them (compiling and verifying a
-- candidate also counts; once the share is spent, the remaining candidates
-- are skipped and the line says how many were timed).
local osconv = osconv or require "osconv"

local function usage(msg)
  io.stderr:write("autotune: ", msg, "\nusage: osconv script scripts/autotune.lua CONFIG ",
                  "[--db FILE] [--budget SECONDS] [--layers a,b] [--max-stages N] ",
                  "[--job I/N] [--svg DIR] [--unsandboxed]\n",
                  "       osconv script scripts/autotune.lua --merge OUT IN...\n")
  os.exit(2)
end

local function parse_args(argv)
  local o, i = {}, 1
  local takes = {["--db"] = "db", ["--budget"] = "budget", ["--layers"] = "layers",
                 ["--max-stages"] = "max_stages", ["--job"] = "job", ["--svg"] = "svg"}
  while i <= #argv do
    local a = argv[i]
    local name, value = a:match("^(%-%-[%w-]+)=(.*)$")
    name = name or a
    if takes[name] then
      if not value then i = i + 1; value = argv[i] end
      if not value then usage("option '" .. name .. "' requires an argument") end
      o[takes[name]] = value
    elseif a == "--unsandboxed" then o.unsandboxed = true
    elseif a == "--merge" then o.merge = true
    elseif a == "--recheck" then o.recheck = true
    elseif a:sub(1, 2) == "--" then usage("unknown option '" .. a .. "'")
    elseif o.merge then o.files = o.files or {}; o.files[#o.files + 1] = a
    elseif o.config then usage("unexpected argument '" .. a .. "'")
    else o.config = a end
    i = i + 1
  end
  if o.merge then
    if not o.files or #o.files < 2 then usage("--merge takes OUT and at least one IN") end
    return o
  end
  if not o.config then usage("no CONFIG given") end
  if o.job then
    local i, n = o.job:match("^(%d+)/(%d+)$")
    i, n = tonumber(i), tonumber(n)
    if not i or n < 1 or i < 1 or i > n then usage("--job takes I/N with 1 <= I <= N") end
    o.job_i, o.job_n = i, n
  end
  o.db = o.db or (o.config:gsub("%.lua$", "") .. ".tuning.jsonl")
  if o.budget then
    o.budget = tonumber(o.budget)
    if not o.budget or o.budget <= 0 then usage("--budget takes seconds, a number > 0") end
  end
  if o.max_stages then
    o.max_stages = math.tointeger(tonumber(o.max_stages))
    if not o.max_stages or o.max_stages < 1 then usage("--max-stages takes an integer >= 1") end
  end
  return o
end

local function file_exists(path)
  local f = io.open(path, "r")
  if f then f:close() end
  return f ~= nil
end

-- The layers to tune: all, or those --layers names; one per layer shape.
local function select_layers(cfg, names, job_i, job_n)
  local picked, seen, shapes = {}, {}, 0
  local list = cfg.layers
  if names then
    list = {}
    for name in names:gmatch("[^,]+") do list[#list + 1] = osconv.find_layer(cfg, name) end
  end
  for _, l in ipairs(list) do
    if not seen[l.key] then
      seen[l.key] = true
      shapes = shapes + 1
      if not job_n or (shapes - 1) % job_n == job_i - 1 then picked[#picked + 1] = l end
    end
  end
  return picked
end

local function us(s) return string.format("%.2f us", s * 1e6) end

-- Progress: a bar redrawn in place on a terminal, plain lines otherwise.
local tty = os.execute("test -t 1") == true
local function progress(st)
  if not tty then return end
  local width, done = 24, (st.i - 1 + st.done / math.max(st.total, 1)) / st.n
  local bar = string.rep("#", math.floor(done * width + 0.5))
  local best = st.best and string.format("best %s (default %s)", us(st.best.median),
                                          st.default and us(st.default.median) or "-") or ""
  io.write(string.format("\r\27[K[%-" .. width .. "s] layer %d/%d %s, candidates %d/%d %s, %.0f s left",
                         bar, st.i, st.n, st.name, st.done, st.total, best,
                         math.max(st.left, 0)))
  io.flush()
end

local function say(line)
  if tty then io.write("\r\27[K") end
  print(line)
  io.flush()
end

-- Compile, verify and time one (plan, variant {isa, threads, code}); nil
-- and why on failure.
local function measure(plan, variant, budget)
  local ok, k = pcall(osconv.compile, plan, {isa = variant.isa, threads = variant.threads,
                                             code = variant.code})
  if not ok then return nil, "does not compile: " .. tostring(k) end
  local good, rel = k:verify()
  if not good then return nil, string.format("fails verification (relative L2 %.2e)", rel) end
  local t = k:time{budget = budget, warmup = 2}
  k:free()
  return t
end

-- The code variants of an ISA other than "auto" (osconv.variants()).
local function codes_of(variants, isa)
  for _, v in ipairs(variants) do
    if v.isa == isa then
      local out = {}
      for _, c in ipairs(v.codes) do if c ~= "auto" then out[#out + 1] = c end end
      return out
    end
  end
  return {}
end

-- Each candidate plan in each ISA at 1 thread, then the best of them at the
-- other thread counts, then the best of those in its ISA's other code
-- variants (tile and unroll caps); the untuned default (the layer's own
-- plan, the best ISA, every CPU, as `osconv run` makes it) first.
local function tune_layer(l, st, opt, variants)
  local cands = osconv.candidates(l, {max_stages = opt.max_stages})
  local counts = variants.threads
  local ncodes = #codes_of(variants, variants[1].isa)
  local jobs = {{plan = osconv.plan(l), default = true,
                 variant = {isa = variants[1].isa, threads = counts[#counts]}}}
  for _, p in ipairs(cands) do
    for _, v in ipairs(variants) do jobs[#jobs + 1] = {plan = p, variant = {isa = v.isa, threads = 1}} end
  end
  local total = #jobs + #counts - 1 + ncodes
  local start, share = osconv.clock(), st.layer_budget / total
  st.total, st.done, st.best, st.default, st.points = total, 0, nil, nil, {}
  local function try(j)
    if st.done > 1 and osconv.clock() - start > st.layer_budget then return false end
    local t, why = measure(j.plan, j.variant, share)
    st.done = st.done + 1
    if t then
      t.plan, t.variant = j.plan, j.variant
      t.default = j.default
      if j.default then st.default = t end
      st.points[#st.points + 1] = t
      if not st.best or t.median < st.best.median then st.best = t end
    elseif j.default then
      say(string.format("  %s: the untuned plan %s %s %s", l.name, j.plan.mode, j.plan.chain, why))
    end
    st.left = st.deadline - osconv.clock()
    progress(st)
    return true
  end
  for _, j in ipairs(jobs) do
    if not try(j) then break end
  end
  local base = st.best
  for i = 2, #counts do
    if not base or not try({plan = base.plan,
                            variant = {isa = base.variant.isa, threads = counts[i]}}) then break end
  end
  base = st.best
  local codes = base and codes_of(variants, base.variant.isa) or {}
  st.total = st.total - ncodes + #codes   -- the chosen ISA's, not the best ISA's
  for _, c in ipairs(codes) do
    local v = {isa = base.variant.isa, threads = base.variant.threads, code = c}
    if not try({plan = base.plan, variant = v}) then break end
  end
  return st.best, st.default, st.done, st.total
end

-- ---- the trade-off plot ----------------------------------------------------

local function esc(s) return (s:gsub("&", "&amp;"):gsub("<", "&lt;"):gsub(">", "&gt;"):gsub('"', "&quot;")) end

local marks = {conventional = "square", depthwise = "triangle", spatial = "diamond"}

local function mark(x, y, shape, r)
  if shape == "square" then
    return string.format('<rect x="%.1f" y="%.1f" width="%.1f" height="%.1f"', x - r, y - r, 2 * r, 2 * r)
  elseif shape == "triangle" then
    return string.format('<polygon points="%.1f,%.1f %.1f,%.1f %.1f,%.1f"', x, y - r, x - r, y + r, x + r, y + r)
  elseif shape == "diamond" then
    return string.format('<polygon points="%.1f,%.1f %.1f,%.1f %.1f,%.1f %.1f,%.1f"', x, y - r, x + r, y,
                         x, y + r, x - r, y)
  end
  return string.format('<circle cx="%.1f" cy="%.1f" r="%.1f"', x, y, r)
end

-- One panel: log MACs across, log time up; every point carries its numbers.
local function panel(out, px, py, w, h, name, pts, best)
  local lo_m, hi_m, lo_t, hi_t = math.huge, 0, math.huge, 0
  for _, p in ipairs(pts) do
    lo_m, hi_m = math.min(lo_m, p.plan.macs), math.max(hi_m, p.plan.macs)
    lo_t, hi_t = math.min(lo_t, p.median), math.max(hi_t, p.median)
  end
  local function span(lo, hi) lo, hi = math.log(lo, 10), math.log(hi, 10)
    if hi - lo < 0.1 then lo, hi = lo - 0.05, hi + 0.05 end
    return lo, hi end
  local m0, m1 = span(lo_m, hi_m)
  local t0, t1 = span(math.max(lo_t, 1e-12), math.max(hi_t, 1e-12))
  local function X(m) return px + 40 + (math.log(m, 10) - m0) / (m1 - m0) * (w - 60) end
  local function Y(t) return py + h - 30 - (math.log(math.max(t, 1e-12), 10) - t0) / (t1 - t0) * (h - 60) end
  out[#out + 1] = string.format('<g class="layer" data-layer="%s">', esc(name))
  out[#out + 1] = string.format('<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#999"/>',
                                px + 30, py + 20, w - 40, h - 40)
  out[#out + 1] = string.format('<text x="%d" y="%d" font-size="12">%s</text>', px + 30, py + 14, esc(name))
  out[#out + 1] = string.format('<text x="%d" y="%d" font-size="10">MACs %.3g .. %.3g; time %.3g .. %.3g us</text>',
                                px + 30, py + h - 8, lo_m, hi_m, lo_t * 1e6, hi_t * 1e6)
  for _, p in ipairs(pts) do
    local chosen = p == best
    out[#out + 1] = mark(X(p.plan.macs), Y(p.median), marks[p.plan.mode], chosen and 6 or 3.5) ..
        (p.default and ' stroke="black" stroke-width="1.5"' or "") ..
        string.format(' class="%s" data-mode="%s" data-chain="%s" data-isa="%s" data-threads="%d" ' ..
                      'data-code="%s" data-macs="%d" data-median="%.17g" fill="%s"><title>%s %s %s: %.3g us</title></%s>',
                      (chosen and "point chosen" or "point") .. (p.default and " untuned" or ""), p.plan.mode, esc(p.plan.chain), p.variant.isa,
                      p.variant.threads, p.variant.code or "auto", p.plan.macs, p.median, chosen and "#d62728" or p.variant.isa == "c" and "#7f7f7f" or "#1f77b4",
                      p.plan.mode, esc(p.plan.chain), p.variant.isa, p.median * 1e6,
                      ({square = "rect", triangle = "polygon", diamond = "polygon"})[marks[p.plan.mode]] or "circle")
  end
  out[#out + 1] = "</g>"
end

local function write_svg(dir, network, layers)
  local cols, w, h = 3, 320, 220
  local rows = math.ceil(#layers / cols)
  local out = {string.format('<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" ' ..
                             'font-family="sans-serif" data-network="%s">', cols * w, rows * h + 44, esc(network)),
               string.format('<text x="10" y="16" font-size="13">%s: measured time (log, up) against MACs ' ..
                             '(log, across), every candidate timed</text>', esc(network)),
               '<text x="10" y="34" font-size="11">red: chosen; outlined: the untuned default; ' ..
                 'square conventional, triangle depthwise, diamond spatial, circle optimal or fixed; ' ..
                 'blue: SIMD, grey: isa c</text>'}
  for i, e in ipairs(layers) do
    panel(out, ((i - 1) % cols) * w, 44 + (i - 1) // cols * h, w, h, e.name, e.points, e.best)
  end
  out[#out + 1] = "</svg>\n"
  local path = dir .. "/" .. network .. ".svg"
  local tmp = path .. ".tmp"
  local f = assert(io.open(tmp, "w"))
  f:write(table.concat(out, "\n"))
  assert(f:close())
  assert(os.rename(tmp, path))
  return path
end

local function merge(files)
  local out, m = files[1], nil
  for i = 2, #files do
    local db = osconv.tuning_load(files[i])
    m = m and osconv.tuning_merge(m, db, files[i]) or db
  end
  m:save(out)
  print(string.format("%s: %d records merged from %d databases", out, m:count(), #files - 1))
end

-- Re-time the recorded plan and the default of every shape with a record,
-- alternating in rounds so that drift hits both alike.
local function recheck(opt, db, layers, variants)
  local todo = {}
  for _, l in ipairs(layers) do
    local rec, verdict = db:lookup(l)
    if verdict == "used" then todo[#todo + 1] = {layer = l, rec = rec} end
  end
  local share = (opt.budget or 1 * #todo) / math.max(#todo, 1) / 6
  local st, sd, slower, same = 0, 0, 0, 0
  for i, e in ipairs(todo) do
    local default = osconv.plan(e.layer)
    local all = variants.threads[#variants.threads]
    local kt = osconv.compile(e.rec.plan, {isa = e.rec.isa, threads = e.rec.threads,
                                           code = e.rec.code})
    local kd = osconv.compile(default, {isa = variants[1].isa, threads = all})
    -- the same kernel twice: what differs is the noise between runs
    local identical = default.chain == e.rec.plan.chain and e.rec.isa == variants[1].isa and
                      (e.rec.threads or all) == all and e.rec.code == "auto"
    local tt, td = {}, {}
    for r = 1, 3 do
      tt[r] = kt:time{budget = share, warmup = 2}
      td[r] = kd:time{budget = share, warmup = 2}
    end
    table.sort(tt, function(a, b) return a.median < b.median end)
    table.sort(td, function(a, b) return a.median < b.median end)
    local t, d = tt[2], td[2]   -- the middle round of three
    local noise = math.max(t.spread, d.spread)
    st, sd = st + t.median, sd + d.median
    local verdict = identical and "same kernel" or t.median <= d.median + noise and "ok" or "SLOWER"
    if verdict == "SLOWER" then slower = slower + 1 end
    if identical then same = same + 1 end
    say(string.format("recheck %d/%d %s.%s: tuned %s %s%s %s, untuned %s (spread %s / %s): %.2fx %s",
                      i, #todo, e.layer.network, e.layer.name, e.rec.plan.mode, e.rec.isa,
                      e.rec.code ~= "auto" and "/" .. e.rec.code or "", us(t.median),
                      us(d.median), us(t.spread), us(d.spread), d.median / t.median, verdict))
  end
  if st > 0 then
    say(string.format("recheck: %d shapes (%d tuned to the default's own plan, isa and code), tuned %s, " ..
                      "untuned %s (%.2fx); %d slower than the default by more than the spread",
                      #todo, same, us(st), us(sd), sd / st, slower))
  end
end

local function main(argv)
  local opt = parse_args(argv)
  if opt.merge then return merge(opt.files) end
  local db = file_exists(opt.db) and osconv.tuning_load(opt.db) or osconv.tuning_new()
  local cfg = osconv.load_config(opt.config, {unsandboxed = opt.unsandboxed})
  local layers, variants = select_layers(cfg, opt.layers, opt.job_i, opt.job_n), osconv.variants()
  if opt.recheck then return recheck(opt, db, layers, variants) end
  local plots, sum_best, sum_default, count = {}, 0, 0, {}
  for _, l in ipairs(cfg.layers) do count[l.key] = (count[l.key] or 0) + 1 end
  local todo = {}
  for _, l in ipairs(layers) do
    local _, verdict = db:lookup(l)
    if verdict == "used" then
      say(string.format("%s.%s: kept the record in %s", l.network, l.name, opt.db))
    else
      todo[#todo + 1] = l
    end
  end
  local budget = opt.budget or 2 * #todo
  local st = {n = #todo, deadline = osconv.clock() + budget}
  for i, l in ipairs(todo) do
    st.i, st.name = i, l.network .. "." .. l.name
    st.left = st.deadline - osconv.clock()
    st.layer_budget = math.max(st.left, 0) / (#todo - i + 1)
    local best, default, done, total = tune_layer(l, st, opt, variants)
    if best and default then   -- weighted by how many layers have the shape
      sum_best = sum_best + best.median * count[l.key]
      sum_default = sum_default + default.median * count[l.key]
    end
    if best then
      db:put(best.plan, {isa = best.variant.isa, threads = best.variant.threads,
                         code = best.variant.code, median = best.median, spread = best.spread,
                         reps = best.reps})
      db:save(opt.db)
      if #st.points > 0 then
        plots[l.network] = plots[l.network] or {}
        table.insert(plots[l.network], {name = st.name, points = st.points, best = best})
      end
      local vs = default and string.format(", untuned %s %s: %.2fx", default.plan.mode,
                                           us(default.median), default.median / best.median) or ""
      say(string.format("layer %d/%d %s: %s %s, isa %s, %d thread%s%s: %s (spread %s)%s; %d/%d candidates timed",
                        i, #todo, st.name, best.plan.mode, best.plan.chain, best.variant.isa,
                        best.variant.threads, best.variant.threads == 1 and "" or "s",
                        best.variant.code and ", variant " .. best.variant.code or "",
                        us(best.median), us(best.spread), vs, done, total))
    else
      say(string.format("layer %d/%d %s: no candidate passed; nothing recorded", i, #todo, st.name))
    end
  end
  say(string.format("%s: %d records (%d layer shapes tuned now)", opt.db, db:count(), #todo))
  if sum_default > 0 then
    say(string.format("layers of the shapes tuned now, each counted as often as the config has it: " ..
                      "tuned %s, untuned %s (%.2fx)", us(sum_best), us(sum_default), sum_default / sum_best))
  end
  if opt.svg then
    for _, net in ipairs(cfg.networks) do
      if plots[net.name] then say("wrote " .. write_svg(opt.svg, net.name, plots[net.name])) end
    end
  end
end

main(arg)
