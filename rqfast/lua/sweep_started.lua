-- Fail abandoned jobs of a StartedJobRegistry, as stock RQ's cleanup does.
--
-- KEYS[1] the started registry (rq:wip:<queue>)
-- KEYS[2] the failed registry of the same queue (rq:failed:<queue>)
-- ARGV[1] the deadline: members scored 0 <= score <= deadline are abandoned
-- ARGV[2] the current Unix time in whole seconds, for failed registry scores
-- ARGV[3] created_at, as RQ formats it, for a job hash that lacks one
-- ARGV[4] the failure text, base64 of its zlib form, as a results entry
--   holds it
-- ARGV[5] the queue name: a job whose origin differs is left to Python
-- ARGV[6] the failure ttl of a job that has none
-- ARGV[7] the job key prefix (rq:job:)
-- ARGV[8 + i] the i-th member, job_id or job_id:execution_id
--
-- Each job's keys are built here as RQ names them: its hash <prefix><id>,
-- dependents set <prefix><id>:dependents, dependencies set
-- <prefix>:<id>:dependencies and results stream rq:results:<id>. So the
-- script expects every key on one Redis server, not a Cluster, as the
-- worker's lifecycle script does. The registries are read and written with
-- one command each per chunk (ZMSCORE, ZADD, ZREM), which leaves the same
-- state as a command per job inside this atomic script.
--
-- A member no longer in the registry, or no longer due, is left alone, so
-- two sweeps racing on one registry fail each job once. A due member
-- whose job hash is gone, or holds no data, is removed. A job that needs
-- Python is left in the registry and its index returned: one with a
-- failure callback, retries left, dependents, another origin, or a
-- failure ttl that deletes it (0) or is negative other than -1, or one
-- whose fields do not parse. Every other job gets what stock RQ writes
-- for an AbandonedJobError: status failed, the expiry of its failure ttl
-- on its keys, an entry in the failed registry, a failure entry in its
-- results stream. Returns {failed, removed, {index of each job left}}.

local started, failed_registry = KEYS[1], KEYS[2]
local deadline, now = tonumber(ARGV[1]), tonumber(ARGV[2])
local created_at, exc_string, origin = ARGV[3], ARGV[4], ARGV[5]
local default_ttl = tonumber(ARGV[6])
local prefix = ARGV[7]
local always_written = {
    'success_callback_name', 'failure_callback_name',
    'stopped_callback_name', 'started_at', 'ended_at', 'last_heartbeat',
    'worker_name', 'group_id',
}
local failed, removed, left = 0, 0, {}
local done, entries = {}, {}

-- RQ reads an integer field as unset when it is empty.
local function int_field(value)
    if not value or value == '' then
        return nil, true
    end
    local number = tonumber(value)
    return number, number ~= nil and number == math.floor(number)
end

local members = {}
for i = 8, #ARGV do
    members[#members + 1] = ARGV[i]
end
if #members == 0 then
    return {0, 0, {}}
end
local scores = redis.call('ZMSCORE', started, unpack(members))

for i, member in ipairs(members) do
    local score = scores[i] and tonumber(scores[i])
    if score and score >= 0 and score <= deadline then
        local job_id = string.match(member, '^[^:]*')
        local job_key = prefix .. job_id
        local dependents = job_key .. ':dependents'
        local f = redis.call('HMGET', job_key, 'data', 'failure_callback_name',
            'retries_left', 'failure_ttl', 'origin', 'created_at')
        local retries, retries_ok = int_field(f[3])
        local ttl, ttl_ok = int_field(f[4])
        if not f[1] then
            done[#done + 1] = member
            removed = removed + 1
        elseif (f[2] and f[2] ~= '') or not retries_ok or not ttl_ok
            or (retries and retries > 0) or (f[5] or '') ~= origin
            or (ttl and ttl <= 0 and ttl ~= -1)
            or redis.call('EXISTS', dependents) == 1 then
            left[#left + 1] = i
        else
            local registry_ttl = ttl or default_ttl
            if not f[6] then
                redis.call('HSET', job_key, 'created_at', created_at)
                for _, name in ipairs(always_written) do
                    redis.call('HSETNX', job_key, name, '')
                end
            end
            redis.call('HSET', job_key, 'status', 'failed')
            if registry_ttl > 0 then
                redis.call('EXPIRE', job_key, registry_ttl)
                redis.call('EXPIRE', dependents, registry_ttl)
                redis.call('EXPIRE', prefix .. ':' .. job_id .. ':dependencies',
                    registry_ttl)
                entries[#entries + 1] = now + registry_ttl
            else
                entries[#entries + 1] = registry_ttl
            end
            entries[#entries + 1] = job_id
            local results = 'rq:results:' .. job_id
            redis.call('XADD', results, 'MAXLEN', '~', 10, '*', 'type', 2,
                'worker_name', '', 'exc_string', exc_string)
            if ttl == -1 then
                redis.call('PERSIST', results)
            elseif ttl then
                redis.call('EXPIRE', results, ttl)
            end
            done[#done + 1] = member
            failed = failed + 1
        end
    end
end
if #entries > 0 then
    redis.call('ZADD', failed_registry, unpack(entries))
end
if #done > 0 then
    redis.call('ZREM', started, unpack(done))
end
return {failed, removed, left}
