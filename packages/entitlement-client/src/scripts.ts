// The two store scripts of entitlement decisions, each as Redis Lua and its in-process twin (same replies for
// the same state; test/decider.test.ts runs them on both stores).
//
// decide: one round trip for a batch of invocations of one organization (the decider sends those that arrive
// together: group commit). Reads the organization's record header once; refuses the whole batch when it is
// missing or stale (past validUntil: the decider asks entitlement to write it, then decides again). Then, in
// order, for each invocation: a remembered reply for a replayed id; a refusal when the subscription is not usable
// or the service not included; otherwise the invocation is added to the period's API-call, request and unit
// counters and to the caller's 15-minute rate counter, each checked against its maximum, and counted only when
// none is exceeded. Every key is read with one MGET and each counter written once per batch (INCRBY by the net
// change, keeping its expiry): a batch costs little more than one decision does. KEYS: the organization's base. ARGV: now (ms), the rate
// window's index, then per invocation: service, caller, units, replay id or ''. Reply:
//   {MISSING} | {STALE} | {BATCH, ps, pe, then 10 fields per invocation:}
//     OK or LIMIT, metric or '', rate used, rate max, requests used, max, units used, max, api used, max
//     STATUS, status, 0… | EXCLUDED, '', 0… | REPLAY, the remembered reply (`kind;metric;ps;pe;rate used;…`), 0…
//
// write: entitlement's write of a record, kept only when no newer revision is there; the period's counters it
// brings (sums from the usage ledger) are set only where absent: a counter in the store also holds decisions the
// ledger has not received yet, so it is never lowered.
import type { ScriptOps, ScriptReply, StoreScript } from '@g3d/store';

import { COUNTER_GRACE_MS, RATE_WINDOW_MS, REPLAY_TTL_MS } from './keys.ts';
import { decodeAllowance, decodeHeader, type ServiceAllowance, USABLE_STATUSES } from './record.ts';

/** Fields per invocation in a decide reply. */
export const DECISION_FIELDS = 10;

export const decideScript: StoreScript = {
  name: 'entitlement_decide_v4',
  lua: `
local base, now, win = KEYS[1], tonumber(ARGV[1]), ARGV[2]
local head = redis.call('GET', base .. 'h')
if not head then return {'MISSING'} end
local status, ps, pe, untl, api = string.match(head, '^%d+;([%a_]+);(%d+);(%d+);(%d+);(%-?%d+)$')
if not status then return {'MISSING'} end
if now >= tonumber(untl) then return {'STALE'} end
api = tonumber(api)
local usable = status == 'active' or status == 'trialing' or status == 'past_due'
local qttl = tonumber(pe) - now + ${COUNTER_GRACE_MS}
local ak = base .. 'a:' .. ps
-- Every key the batch reads, built once and fetched with one MGET.
local names, slot = {ak}, {[ak] = 1}
local function want(key)
  local at = slot[key]
  if not at then
    at = #names + 1
    names[at] = key
    slot[key] = at
  end
  return at
end
local perService, rateAt, replayAt = {}, {}, {}
for i = 3, #ARGV, 4 do
  local svc = ARGV[i]
  if not perService[svc] then
    local qk, uk = base .. 'q:' .. svc .. ':' .. ps, base .. 'u:' .. svc .. ':' .. ps
    perService[svc] = {want(base .. 's:' .. svc), qk, want(qk), uk, want(uk)}
  end
  local rk = base .. 'r:' .. ARGV[i + 1] .. ':' .. svc .. ':' .. win
  rateAt[i] = rk
  want(rk)
  if ARGV[i + 3] ~= '' then replayAt[i] = want(base .. 'i:' .. ARGV[i + 3]) end
end
local fetched = redis.call('MGET', unpack(names))
local value, delta, fresh, ttl, allowances, remembered = {}, {}, {}, {}, {}, {}
local function read(key, keyTtl)
  local v = value[key]
  if v == nil then
    local raw = fetched[slot[key]]
    fresh[key] = not raw
    v = tonumber(raw or '0')
    value[key] = v
    delta[key] = 0
    ttl[key] = keyTtl
  end
  return v
end
local out = {'BATCH', ps, pe}
local n = 3
for i = 3, #ARGV, 4 do
  local svc, units, replay = ARGV[i], tonumber(ARGV[i + 2]), ARGV[i + 3]
  local seen = false
  if replay ~= '' then seen = remembered[replay] or fetched[replayAt[i]] end
  local kind, metric, rc, r, qc, q, uc, u, ac = 'OK', '', 0, 0, 0, 0, 0, 0, 0
  local total = api
  if seen then
    kind, metric, total = 'REPLAY', seen, 0
  elseif not usable then
    kind, metric, total = 'STATUS', status, 0
  else
    local svcKeys = perService[svc]
    local al = allowances[svc]
    if al == nil then
      local raw = fetched[svcKeys[1]]
      al = false
      if raw then
        local rq, ru, rr = string.match(raw, '^(%-?%d+);(%-?%d+);(%-?%d+)$')
        al = {tonumber(rq), tonumber(ru), tonumber(rr)}
      end
      allowances[svc] = al
    end
    if not al then
      kind, total = 'EXCLUDED', 0
    else
      q, u, r = al[1], al[2], al[3]
      local qk, uk, rk = svcKeys[2], svcKeys[4], rateAt[i]
      ac = read(ak, qttl) + 1
      qc = read(qk, qttl) + 1
      uc = read(uk, qttl) + units
      rc = read(rk, ${RATE_WINDOW_MS + 60_000}) + 1
      if api >= 0 and ac > api then metric = 'apiCalls'
      elseif q >= 0 and qc > q then metric = 'requests'
      elseif u >= 0 and units > 0 and uc > u then metric = 'units'
      elseif rc > r then metric = 'rate' end
      if metric == '' then
        value[ak] = ac
        delta[ak] = delta[ak] + 1
        value[qk] = qc
        delta[qk] = delta[qk] + 1
        value[uk] = uc
        delta[uk] = delta[uk] + units
        value[rk] = rc
        delta[rk] = delta[rk] + 1
      else
        kind, rc, qc, uc, ac = 'LIMIT', rc - 1, qc - 1, uc - units, ac - 1
      end
    end
  end
  out[n + 1], out[n + 2], out[n + 3], out[n + 4], out[n + 5] = kind, metric, rc, r, qc
  out[n + 6], out[n + 7], out[n + 8], out[n + 9], out[n + 10] = q, uc, u, ac, total
  if replay ~= '' and not seen then
    local text = kind .. ';' .. metric .. ';' .. ps .. ';' .. pe .. ';' .. table.concat(out, ';', n + 3, n + 10)
    remembered[replay] = text
    redis.call('SET', base .. 'i:' .. replay, text, 'PX', ${REPLAY_TTL_MS})
  end
  n = n + 10
end
for key, d in pairs(delta) do
  if d ~= 0 then
    redis.call('INCRBY', key, d)
    if fresh[key] then redis.call('PEXPIRE', key, ttl[key]) end
  end
end
return out`,
  local(ops: ScriptOps, keys, args): ScriptReply {
    const base = keys[0] ?? '';
    const now = Number(args[0]);
    const win = args[1] ?? '';
    const header = decodeHeader(ops.get(`${base}h`));
    if (!header) return ['MISSING'];
    if (now >= header.validUntil) return ['STALE'];
    const ps = String(header.periodStart);
    const pe = String(header.periodEnd);
    const api = header.apiCalls ?? -1;
    const usable = USABLE_STATUSES.includes(header.status);
    const quotaTtl = header.periodEnd - now + COUNTER_GRACE_MS;
    const ak = `${base}a:${ps}`;
    const allowances = new Map<string, ServiceAllowance | null>();
    const out: ScriptReply = ['BATCH', ps, pe];
    // The same decisions one at a time: each counter moves as it would in the batch.
    for (let i = 2; i + 3 < args.length; i += 4) {
      const service = args[i] as string;
      const units = Number(args[i + 2]);
      const replay = args[i + 3] as string;
      const seen = replay !== '' ? ops.get(`${base}i:${replay}`) : null;
      let reply: (string | number)[];
      if (seen !== null) reply = ['REPLAY', seen, 0, 0, 0, 0, 0, 0, 0, 0];
      else if (!usable) reply = ['STATUS', header.status, 0, 0, 0, 0, 0, 0, 0, 0];
      else {
        if (!allowances.has(service)) allowances.set(service, decodeAllowance(ops.get(`${base}s:${service}`)));
        const allowance = allowances.get(service);
        if (!allowance) reply = ['EXCLUDED', '', 0, 0, 0, 0, 0, 0, 0, 0];
        else {
          const q = allowance.requests ?? -1;
          const u = allowance.units ?? -1;
          const r = allowance.rateLimitPer15Min;
          const rk = `${base}r:${args[i + 1] as string}:${service}:${win}`;
          const qk = `${base}q:${service}:${ps}`;
          const uk = `${base}u:${service}:${ps}`;
          const current = (key: string) => Number(ops.get(key) ?? '0');
          const ac = current(ak) + 1;
          const qc = current(qk) + 1;
          const uc = current(uk) + units;
          const rc = current(rk) + 1;
          let metric = '';
          if (api >= 0 && ac > api) metric = 'apiCalls';
          else if (q >= 0 && qc > q) metric = 'requests';
          else if (u >= 0 && units > 0 && uc > u) metric = 'units';
          else if (rc > r) metric = 'rate';
          if (metric === '') {
            ops.incr(ak, 1, quotaTtl);
            ops.incr(qk, 1, quotaTtl);
            if (units > 0) ops.incr(uk, units, quotaTtl);
            ops.incr(rk, 1, RATE_WINDOW_MS + 60_000);
            reply = ['OK', '', rc, r, qc, q, uc, u, ac, api];
          } else reply = ['LIMIT', metric, rc - 1, r, qc - 1, q, uc - units, u, ac - 1, api];
        }
      }
      if (replay !== '' && seen === null) {
        const text = [reply[0], reply[1], ps, pe, ...reply.slice(2)].join(';');
        ops.set(`${base}i:${replay}`, text, REPLAY_TTL_MS);
      }
      out.push(...reply);
    }
    return out;
  },
};

/**
 * KEYS: the organization's base. ARGV: header, revision, plan limits, n, then n (slug, allowance or '' to remove)
 * pairs, then (counter suffix, value, ttl ms) triplets. Replies {written 1/0, counters set, the revision now there}.
 */
export const writeScript: StoreScript = {
  name: 'entitlement_write_v3',
  lua: `
local base = KEYS[1]
local current = redis.call('GET', base .. 'h')
if current then
  local revision = tonumber(string.match(current, '^(%d+);'))
  if revision and revision > tonumber(ARGV[2]) then return {0, 0, revision} end
end
redis.call('SET', base .. 'h', ARGV[1])
redis.call('SET', base .. 'l', ARGV[3])
local n = tonumber(ARGV[4])
for i = 0, n - 1 do
  local key, value = base .. 's:' .. ARGV[5 + i * 2], ARGV[6 + i * 2]
  if value == '' then redis.call('DEL', key) else redis.call('SET', key, value) end
end
local set = 0
for i = 5 + n * 2, #ARGV, 3 do
  if redis.call('SET', base .. ARGV[i], ARGV[i + 1], 'NX', 'PX', ARGV[i + 2]) then set = set + 1 end
end
return {1, set, tonumber(ARGV[2])}`,
  local(ops, keys, args): ScriptReply {
    const base = keys[0] ?? '';
    const current = ops.get(`${base}h`);
    if (current !== null) {
      const revision = Number(/^(\d+);/.exec(current)?.[1]);
      if (revision > Number(args[1])) return [0, 0, revision];
    }
    ops.set(`${base}h`, args[0] as string);
    ops.set(`${base}l`, args[2] as string);
    const n = Number(args[3]);
    for (let i = 0; i < n; i += 1) {
      const key = `${base}s:${args[4 + i * 2] as string}`;
      const value = args[5 + i * 2] as string;
      if (value === '') ops.del(key);
      else ops.set(key, value);
    }
    let set = 0;
    for (let i = 4 + n * 2; i + 2 < args.length; i += 3) {
      if (ops.setIfAbsent(base + (args[i] as string), args[i + 1] as string, Number(args[i + 2]))) set += 1;
    }
    return [1, set, Number(args[1])];
  },
};
