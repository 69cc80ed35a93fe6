-- Fail abandoned jobs of a StartedJobRegistry, as stock RQ's cleanup does.
--
-- KEYS[1] the started registry (rq:wip:<queue>)
-- KEYS[2] the failed registry of the same queue (rq:failed:<queue>)
-- KEYS[3 + 4i .. 6 + 4i] for the i-th member (from 0): its job's hash,
--   dependents set, dependencies set and results stream
-- ARGV[1] the deadline: members scored 0 <= score <= deadline are abandoned
-- ARGV[2] the current Unix time in whole seconds, for failed registry scores
-- ARGV[3] created_at, as RQ formats it, for a job hash that lacks one
-- ARGV[4] the failure text, base64 of its zlib form, as a results entry
--   holds it
-- ARGV[5] the queue name: a job whose origin differs is left to Python
-- ARGV[6] the failure ttl of a job that has none
-- ARGV[7 + i] the i-th member, job_id or job_id:execution_id
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
local always_written = {
    'success_callback_name', 'failure_callback_name',
    'stopped_callback_name', 'started_at', 'ended_at', 'last_heartbeat',
    'worker_name', 'group_id',
}
local failed, removed, left = 0, 0, {}

-- RQ reads an integer field as unset when it is empty.
local function int_field(value)
    if not value or value == '' then
        return nil, true
    end
    local number = tonumber(value)
    return number, number ~= nil and number == math.floor(number)
end

for i = 0, #ARGV - 7 do
    local member = ARGV[7 + i]
    local score = tonumber(redis.call('ZSCORE', started, member))
    local job_key = KEYS[3 + 4 * i]
    if score and score >= 0 and score <= deadline then
        local f = redis.call('HMGET', job_key, 'data', 'failure_callback_name',
            'retries_left', 'failure_ttl', 'origin', 'created_at')
        local retries, retries_ok = int_field(f[3])
        local ttl, ttl_ok = int_field(f[4])
        if not f[1] then
            redis.call('ZREM', started, member)
            removed = removed + 1
        elseif (f[2] and f[2] ~= '') or not retries_ok or not ttl_ok
            or (retries and retries > 0) or (f[5] or '') ~= origin
            or (ttl and ttl <= 0 and ttl ~= -1)
            or redis.call('EXISTS', KEYS[4 + 4 * i]) == 1 then
            left[#left + 1] = i + 1
        else
            local registry_ttl = ttl or default_ttl
            if not f[6] then
                redis.call('HSET', job_key, 'created_at', created_at)
                for _, name in ipairs(always_written) do
                    redis.call('HSETNX', job_key, name, '')
                end
            end
            redis.call('HSET', job_key, 'status', 'failed')
            local job_id = string.match(member, '^[^:]*')
            if registry_ttl > 0 then
                redis.call('EXPIRE', job_key, registry_ttl)
                redis.call('EXPIRE', KEYS[4 + 4 * i], registry_ttl)
                redis.call('EXPIRE', KEYS[5 + 4 * i], registry_ttl)
                redis.call('ZADD', failed_registry, now + registry_ttl, job_id)
            else
                redis.call('ZADD', failed_registry, registry_ttl, job_id)
            end
            local results = KEYS[6 + 4 * i]
            redis.call('XADD', results, 'MAXLEN', '~', 10, '*', 'type', 2,
                'worker_name', '', 'exc_string', exc_string)
            if ttl == -1 then
                redis.call('PERSIST', results)
            elseif ttl then
                redis.call('EXPIRE', results, ttl)
            end
            redis.call('ZREM', started, member)
            failed = failed + 1
        end
    end
end
return {failed, removed, left}
