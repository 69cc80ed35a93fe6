-- Move due jobs from a ScheduledJobRegistry onto their queue, atomically.
--
-- KEYS[1] the scheduled registry (rq:scheduled:<queue>)
-- KEYS[2] the queue list (rq:queue:<queue>)
-- KEYS[3] the deferred registry (rq:deferred:<queue>)
-- ARGV[1] the deadline: members scored 0 <= score <= deadline are due
-- ARGV[2] enqueued_at, as RQ formats it
-- ARGV[3] the queue name, written as the job's origin
-- ARGV[4] the queue's default timeout, for jobs stored without one
-- ARGV[5] the job key prefix (rq:job:)
-- ARGV[6 + i] the i-th job id, as it is stored in the registry
--
-- Each job's keys are built here from the prefix, as RQ names them: its
-- hash <prefix><id>, its dependents set <prefix><id>:dependents and its
-- dependencies set <prefix>:<id>:dependencies. Passing them as KEYS cost
-- three arguments per job to build, send and parse, a third of a chunk's
-- time; like the worker's lifecycle script, this one therefore expects
-- every key on one Redis server, not a Cluster.
--
-- Needs ZMSCORE (Redis 6.2). A chunk holds at most a few thousand ids, well
-- under Lua's limit on unpack().
--
-- A member no longer in the registry, or no longer due, is left alone, so
-- two schedulers racing on one registry promote each job once. A due
-- member whose job hash is gone is removed and not queued. Every job
-- promoted gets the fields stock RQ's Queue._enqueue_job writes: status,
-- enqueued_at, origin, a default timeout when it has none, the fields its
-- to_dict always writes, the expiry of its ttl; a deferred job also leaves
-- the deferred registry. Returns {promoted, dropped}.

local registry, queue, deferred = KEYS[1], KEYS[2], KEYS[3]
local deadline = tonumber(ARGV[1])
local enqueued_at, origin, default_timeout = ARGV[2], ARGV[3], ARGV[4]
local prefix = ARGV[5]
local always_written = {
    'success_callback_name', 'failure_callback_name',
    'stopped_callback_name', 'started_at', 'ended_at', 'last_heartbeat',
    'worker_name', 'group_id',
}
local promoted, dropped = 0, 0

local function truthy_int(value)
    return value and value ~= '' and tonumber(value) ~= nil
        and tonumber(value) ~= 0
end

-- Pushes are grouped into runs of one direction: RPUSH a b is RPUSH a then
-- RPUSH b, and LPUSH a b is LPUSH a then LPUSH b.
local run, run_front = {}, false
local function flush()
    if #run > 0 then
        redis.call(run_front and 'LPUSH' or 'RPUSH', queue, unpack(run))
        run = {}
    end
end

local ids = {}
for i = 6, #ARGV do
    ids[#ids + 1] = ARGV[i]
end
if #ids == 0 then
    return {0, 0}
end
local scores = redis.call('ZMSCORE', registry, unpack(ids))
local due = {}
for i, job_id in ipairs(ids) do
    local score = scores[i] and tonumber(scores[i])
    if score and score >= 0 and score <= deadline then
        due[#due + 1] = i
    end
end
if #due == 0 then
    return {0, 0}
end
local removed = {}
for n, i in ipairs(due) do
    removed[n] = ids[i]
end
redis.call('ZREM', registry, unpack(removed))

for _, i in ipairs(due) do
    local job_id = ids[i]
    local job_key = prefix .. job_id
    local f = redis.call('HMGET', job_key, 'status', 'enqueue_at_front',
        'enqueue_at_front_on_retry', 'ended_at', 'timeout', 'ttl',
        'created_at')
    -- Every hash RQ writes holds a status, so a hash with none of these
    -- fields is one that is gone.
    if not (f[1] or f[2] or f[3] or f[4] or f[5] or f[6] or f[7]) then
        dropped = dropped + 1
    else
        local at_front = (truthy_int(f[3]) and f[4] and f[4] ~= '')
            or truthy_int(f[2])
        if f[1] == 'deferred' then
            redis.call('ZREM', deferred, job_id)
        end
        if not f[7] then
            redis.call('HSET', job_key, 'created_at', enqueued_at)
            for _, name in ipairs(always_written) do
                redis.call('HSETNX', job_key, name, '')
            end
        end
        if f[5] and f[5] ~= '' then
            redis.call('HSET', job_key, 'status', 'queued',
                'enqueued_at', enqueued_at, 'origin', origin)
        else
            redis.call('HSET', job_key, 'status', 'queued',
                'enqueued_at', enqueued_at, 'origin', origin,
                'timeout', default_timeout)
        end
        local ttl = f[6] and tonumber(f[6])
        if ttl and ttl > 0 then
            redis.call('EXPIRE', job_key, ttl)
            redis.call('EXPIRE', job_key .. ':dependents', ttl)
            redis.call('EXPIRE', prefix .. ':' .. job_id .. ':dependencies',
                ttl)
        end
        at_front = at_front and true or false
        if at_front ~= run_front then
            flush()
            run_front = at_front
        end
        run[#run + 1] = job_id
        promoted = promoted + 1
    end
end
flush()
return {promoted, dropped}
