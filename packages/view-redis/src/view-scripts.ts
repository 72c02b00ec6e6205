/**
 * The view's Lua scripts. Each runs atomically in Redis, which is what makes a revision visible
 * all at once (apply) and a principal's inputs readable at one revision (read): no reader can
 * interleave with a script.
 *
 * Key layout under the configured prefix `P` (account `A`):
 * - `P a:A:rev`            hash: `revision`, `epoch`, and `gap` (`expected>seen`) once a gap was met;
 *                          `from_epoch`, `from_revision` once another history continued right after
 *                          `from_revision` of `from_epoch` (both agree up to it)
 * - `P a:A:e:KIND:ID`      the entity's state JSON as it travelled
 * - `P a:A:x:KIND:ID`      its {@link IndexRecord} JSON
 * - `P a:A:arn:ARN`        `KIND:ID` of the user, role, group or policy with that ARN
 * - `P a:A:gm:GROUPID`     set of the group's members' ARNs
 * - `P a:A:pa:POLICYARN`   set of `u|ARN`, `r|ARN`, `g|GROUPID` the policy is attached to or bounds
 * - `P a:A:ents`           set of every entity's `KIND:ID` (what a replacement removes)
 * - `P ak:KEYID`           `A` of the access key (its state is under the account)
 * - `P generation`         random id of this copy of the view (the applier's consumer group includes it)
 * - `P bootstrap`          hash: how this copy was filled (`mode` topic|export, `state` pending|done)
 * - `P accounts`           sorted set (all scores 0, so ordered by id) of the accounts applied
 * - `P gapped`             set of the accounts marked with a gap (healed by a replacement)
 * - `P entities`           how many entities the view holds (kept by the write scripts)
 * - `P lag`                hash: partition → consumer lag JSON, as the active applier last recorded it
 * - `P lease`, `P fence`   the applier lease (owner, TTL) and the current fencing token
 * - `P wm`                 hash: partition → watermark `committed_before_ms`
 * - `P notify`             pub/sub channel: one JSON message per applied revision (the principals,
 *                          the resource-policy ARNs and the access key ids it changed) or watermark
 *
 * Keys are built inside the scripts, so this layout assumes one Redis node (no Cluster slots).
 */

/**
 * Lua shared by the scripts that write entities (needs the locals `p`, `a`, `acct`): reverse
 * index maintenance from an entity's {@link IndexRecord}, and `put` of one entity.
 */
const INDEX_FUNCTIONS = `
local function tag(kind)
  if kind == 'user' then return 'u' elseif kind == 'role' then return 'r' else return 'g' end
end
local function unindex(kind, id, ix)
  if ix.arn and kind ~= 'access-key' then
    local k = a .. 'arn:' .. ix.arn
    if redis.call('GET', k) == kind .. ':' .. id then redis.call('DEL', k) end
  end
  if kind == 'user' and ix.groups then
    for _, g in ipairs(ix.groups) do redis.call('SREM', a .. 'gm:' .. g, ix.arn) end
  end
  if ix.policies then
    local member = tag(kind) .. '|' .. (kind == 'group' and id or ix.arn)
    for _, pol in ipairs(ix.policies) do redis.call('SREM', a .. 'pa:' .. pol, member) end
  end
  if kind == 'access-key' then redis.call('DEL', p .. 'ak:' .. id) end
end
local function index(kind, id, ix)
  if ix.arn and kind ~= 'access-key' then redis.call('SET', a .. 'arn:' .. ix.arn, kind .. ':' .. id) end
  if kind == 'user' and ix.groups then
    for _, g in ipairs(ix.groups) do redis.call('SADD', a .. 'gm:' .. g, ix.arn) end
  end
  if ix.policies then
    local member = tag(kind) .. '|' .. (kind == 'group' and id or ix.arn)
    for _, pol in ipairs(ix.policies) do redis.call('SADD', a .. 'pa:' .. pol, member) end
  end
  if kind == 'access-key' then redis.call('SET', p .. 'ak:' .. id, acct) end
end
-- Replaces (or with state '' removes) one entity: its state, index record and reverse indexes.
local function put(kind, id, state, newIx)
  local ref = kind .. ':' .. id
  local xKey = a .. 'x:' .. ref
  local old = redis.call('GET', xKey)
  if old then unindex(kind, id, cjson.decode(old)) end
  if state == '' then
    redis.call('DEL', a .. 'e:' .. ref, xKey)
    if redis.call('SREM', a .. 'ents', ref) == 1 then redis.call('DECR', p .. 'entities') end
  else
    redis.call('SET', a .. 'e:' .. ref, state)
    redis.call('SET', xKey, newIx)
    if redis.call('SADD', a .. 'ents', ref) == 1 then redis.call('INCR', p .. 'entities') end
    index(kind, id, cjson.decode(newIx))
  end
end

`;

/**
 * Lua shared by the writing scripts (needs the local `p`; the token is the script's last ARGV):
 * the view's generation must exist (else Redis lost the view: a flush or a restart without
 * persistence, and nothing may be written on top of the void), and once an applier holds the
 * region's lease (`P fence` set), only its fencing token may write, so a deposed applier cannot.
 */
const WRITE_GUARDS = `
if redis.call('EXISTS', p .. 'generation') == 0 then return {'view-lost', 0, 0} end
local fence = redis.call('GET', p .. 'fence')
if fence and fence ~= ARGV[#ARGV] then return {'fenced', 0, 0} end
`;

/**
 * ARGV: prefix, account, revision, epoch, event count, then per event kind, id, state JSON
 * ("" = tombstone), index JSON ("" = none), then the writer's fencing token ("" = none).
 * Returns `{outcome, appliedRevision, all, ...arns}`.
 */
export const APPLY_REVISION_LUA = `
local p = ARGV[1]
local acct = ARGV[2]
local rev = tonumber(ARGV[3])
local epoch = ARGV[4]
local n = tonumber(ARGV[5])
local a = p .. 'a:' .. acct .. ':'
local revKey = a .. 'rev'
${WRITE_GUARDS}
local cur = redis.call('HMGET', revKey, 'revision', 'epoch', 'gap')
local applied = tonumber(cur[1] or '0')
local curEpoch = cur[2] or ''
if rev <= applied then
  if curEpoch ~= '' and epoch ~= '' and curEpoch ~= epoch then return {'epoch-mismatch', applied, 0} end
  return {'duplicate', applied, 0}
end
if cur[3] then return {'gapped', applied, 0} end
if applied > 0 and rev ~= applied + 1 then
  redis.call('HSET', revKey, 'gap', tostring(applied + 1) .. '>' .. tostring(rev))
  redis.call('SADD', p .. 'gapped', acct)
  return {'gap', applied, 0}
end

local targets = {}
local all = false
local resources = {}
local accessKeys = {}
local function addMembers(groupId)
  for _, m in ipairs(redis.call('SMEMBERS', a .. 'gm:' .. groupId)) do targets[m] = true end
end
local function affected(kind, id)
  if kind == 'account' then all = true return end
  local x = redis.call('GET', a .. 'x:' .. kind .. ':' .. id)
  if not x then return end
  local ix = cjson.decode(x)
  if kind == 'user' or kind == 'role' or kind == 'access-key' then
    if ix.arn then targets[ix.arn] = true end
  elseif kind == 'group' then
    addMembers(id)
  elseif kind == 'policy' then
    for _, e in ipairs(redis.call('SMEMBERS', a .. 'pa:' .. ix.arn)) do
      local t = string.sub(e, 1, 1)
      local v = string.sub(e, 3)
      if t == 'g' then addMembers(v) else targets[v] = true end
    end
  end
end
${INDEX_FUNCTIONS}
for i = 0, n - 1 do
  affected(ARGV[6 + i * 4], ARGV[7 + i * 4])
  if ARGV[6 + i * 4] == 'resource-policy' then resources[#resources + 1] = ARGV[7 + i * 4] end
  if ARGV[6 + i * 4] == 'access-key' then accessKeys[#accessKeys + 1] = ARGV[7 + i * 4] end
end
for i = 0, n - 1 do put(ARGV[6 + i * 4], ARGV[7 + i * 4], ARGV[8 + i * 4], ARGV[9 + i * 4]) end
for i = 0, n - 1 do affected(ARGV[6 + i * 4], ARGV[7 + i * 4]) end

-- Another history continuing right after the applied revision (a failover's promoted standby
-- that had every revision applied here): both histories agree up to it, which is remembered.
if curEpoch ~= '' and epoch ~= '' and curEpoch ~= epoch then
  redis.call('HSET', revKey, 'from_epoch', curEpoch, 'from_revision', tostring(applied))
end
redis.call('HSET', revKey, 'revision', tostring(rev), 'epoch', epoch)
redis.call('ZADD', p .. 'accounts', 0, acct)
local from = redis.call('HMGET', revKey, 'from_epoch', 'from_revision')
local list = {}
for arn, _ in pairs(targets) do list[#list + 1] = arn end
table.sort(list)
redis.call('PUBLISH', p .. 'notify', cjson.encode({
  type = 'applied', accountId = acct, revision = rev, epoch = epoch, all = all, principals = list,
  resources = resources, accessKeys = accessKeys, fromEpoch = from[1] or '', fromRevision = tonumber(from[2] or '0')
}))
local out = {'applied', rev, all and 1 or 0}
for _, arn in ipairs(list) do out[#out + 1] = arn end
return out
`;

/**
 * Records a partition's watermark and notifies the deciders, under the same guards as the other
 * writes (a deposed applier must not claim freshness for a view it no longer writes).
 * ARGV: prefix, partition, committed_before_ms, notification JSON, the writer's fencing token.
 */
export const SET_WATERMARK_LUA = `
local p = ARGV[1]
${WRITE_GUARDS}
redis.call('HSET', p .. 'wm', ARGV[2], ARGV[3])
redis.call('PUBLISH', p .. 'notify', ARGV[4])
return {'recorded', 0, 0}
`;

/**
 * Replaces the recorded consumer lag (`P lag`) under the same guards as the other writes: a
 * deposed applier's figures must not overwrite the active one's (GetRegionStatus and the
 * deciders' readiness read them).
 * ARGV: prefix, then partition and lag JSON per partition, then the writer's fencing token.
 */
export const SET_CONSUMER_LAG_LUA = `
local p = ARGV[1]
${WRITE_GUARDS}
redis.call('DEL', p .. 'lag')
for i = 2, #ARGV - 1, 2 do
  redis.call('HSET', p .. 'lag', ARGV[i], ARGV[i + 1])
end
return {'recorded', 0, 0}
`;

/**
 * Replaces an account's whole view with an export at `revision` (healing a gap or a rewound
 * history, or bootstrapping): every entity it had is removed with its reverse indexes, the
 * export's entities are written and indexed, the applied revision and epoch are set, the gap mark
 * is cleared, and one notification invalidates the whole account (and every stored resource
 * policy it had or has), marked `replaced`: what a decider compiled from the account may be of
 * another history at the same or a higher revision number, so it drops all of it. Done only when it moves the account forward: `revision` above the
 * applied one, or equal to it while gapped, or of another epoch (a rewound history).
 *
 * ARGV: prefix, account, revision, epoch, entity count, then per entity kind, id, state JSON,
 * index JSON, then the writer's fencing token. Returns `{outcome, appliedRevision, 1}`.
 */
export const REPLACE_ACCOUNT_LUA = `
local p = ARGV[1]
local acct = ARGV[2]
local rev = tonumber(ARGV[3])
local epoch = ARGV[4]
local n = tonumber(ARGV[5])
local a = p .. 'a:' .. acct .. ':'
local revKey = a .. 'rev'
${WRITE_GUARDS}
local cur = redis.call('HMGET', revKey, 'revision', 'epoch', 'gap')
local applied = tonumber(cur[1] or '0')
local curEpoch = cur[2] or ''
local otherHistory = curEpoch ~= '' and epoch ~= '' and curEpoch ~= epoch
if not (rev > applied or (cur[3] and rev == applied) or otherHistory) then return {'duplicate', applied, 0} end
${INDEX_FUNCTIONS}
local resources = {}
local accessKeys = {}
for _, ref in ipairs(redis.call('SMEMBERS', a .. 'ents')) do
  local colon = string.find(ref, ':', 1, true)
  local kind = string.sub(ref, 1, colon - 1)
  local id = string.sub(ref, colon + 1)
  if kind == 'resource-policy' then resources[#resources + 1] = id end
  if kind == 'access-key' then accessKeys[#accessKeys + 1] = id end
  put(kind, id, '', '')
end
for i = 0, n - 1 do
  local kind = ARGV[6 + i * 4]
  local id = ARGV[7 + i * 4]
  if kind == 'resource-policy' then resources[#resources + 1] = id end
  if kind == 'access-key' then accessKeys[#accessKeys + 1] = id end
  put(kind, id, ARGV[8 + i * 4], ARGV[9 + i * 4])
end
-- Replaced from another history: how far the two agree is not known.
if otherHistory then redis.call('HDEL', revKey, 'from_epoch', 'from_revision') end
redis.call('HSET', revKey, 'revision', tostring(rev), 'epoch', epoch)
redis.call('HDEL', revKey, 'gap')
redis.call('SREM', p .. 'gapped', acct)
redis.call('ZADD', p .. 'accounts', 0, acct)
local from = redis.call('HMGET', revKey, 'from_epoch', 'from_revision')
redis.call('PUBLISH', p .. 'notify', cjson.encode({
  type = 'applied', accountId = acct, revision = rev, epoch = epoch, all = true, principals = {},
  resources = resources, accessKeys = accessKeys, replaced = true, fromEpoch = from[1] or '',
  fromRevision = tonumber(from[2] or '0')
}))
return {'replaced', rev, 1}
`;

/**
 * ARGV: prefix, account, principal ARN. Returns, read at one instant: revision, epoch, gap, the
 * principal's `KIND:ID` or false, its state, the account's state, then the number of groups and
 * each group's state, then pairs of (policy ARN, policy state or false) for every managed policy
 * the principal or its groups attach, plus its boundary.
 */
export const READ_PRINCIPAL_LUA = `
local p = ARGV[1]
local acct = ARGV[2]
local arn = ARGV[3]
local a = p .. 'a:' .. acct .. ':'
local cur = redis.call('HMGET', a .. 'rev', 'revision', 'epoch', 'gap')
local ref = redis.call('GET', a .. 'arn:' .. arn)
local account = redis.call('GET', a .. 'e:account:' .. acct)
if not ref then return {cur[1] or '0', cur[2] or '', cur[3] or '', false, false, account} end
local state = redis.call('GET', a .. 'e:' .. ref)
local ix = cjson.decode(redis.call('GET', a .. 'x:' .. ref) or '{}')
local out = {cur[1] or '0', cur[2] or '', cur[3] or '', ref, state, account}
local groups = {}
local policies = {}
local seen = {}
local function addPolicies(list)
  if not list then return end
  for _, pol in ipairs(list) do
    if not seen[pol] then seen[pol] = true policies[#policies + 1] = pol end
  end
end
addPolicies(ix.policies)
if ix.groups then
  for _, g in ipairs(ix.groups) do
    local gs = redis.call('GET', a .. 'e:group:' .. g)
    if gs then
      groups[#groups + 1] = gs
      local gx = redis.call('GET', a .. 'x:group:' .. g)
      if gx then addPolicies(cjson.decode(gx).policies) end
    end
  end
end
out[#out + 1] = #groups
for _, gs in ipairs(groups) do out[#out + 1] = gs end
for _, pol in ipairs(policies) do
  out[#out + 1] = pol
  local pref = redis.call('GET', a .. 'arn:' .. pol)
  out[#out + 1] = pref and redis.call('GET', a .. 'e:' .. pref) or false
end
return out
`;
