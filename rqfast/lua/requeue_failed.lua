-- Move failed jobs from a FailedJobRegistry back onto their queues.
--
-- KEYS[1] the failed registry (rq:failed:<queue>)
-- ARGV[1] enqueued_at, as RQ formats it
-- ARGV[2] the default timeout, for jobs stored without one
-- ARGV[3] the stored form of an empty exception text (zlib of no bytes)
-- ARGV[4] '1' to push at the front of the queues, '0' at the back
-- ARGV[5] retries_left to give each job, or '' to keep what it has
-- ARGV[6] the job key prefix (rq:job:)
-- ARGV[7] the queue key prefix (rq:queue:)
-- ARGV[8 + i] the i-th job id
--
-- Each job's keys are built here as RQ names them: its hash <prefix><id>,
-- dependents set <prefix><id>:dependents, dependencies set
-- <prefix>:<id>:dependencies, and the queue of its origin, read from its
-- hash. So the script expects every key on one Redis server, not a
-- Cluster, as the worker's lifecycle script does.
--
-- A job is requeued only when it is still in the registry and its hash
-- still exists; the others are left as they are. A requeued job gets what stock FailedJobRegistry.requeue
-- leaves: status queued, no start or end time, an empty exception text, a
-- new enqueued_at, a default timeout when it has none, the expiry of its
-- ttl. Returns {requeued, skipped}.

local registry = KEYS[1]
local enqueued_at, default_timeout = ARGV[1], ARGV[2]
local empty_exc_info, at_front, retries_left = ARGV[3], ARGV[4] == '1', ARGV[5]
local prefix, queue_prefix = ARGV[6], ARGV[7]
local always_written = {
    'success_callback_name', 'failure_callback_name',
    'stopped_callback_name', 'last_heartbeat', 'worker_name', 'group_id',
}
local requeued, skipped = 0, 0

for i = 8, #ARGV do
    local job_id = ARGV[i]
    local job_key = prefix .. job_id
    local f = redis.call('HMGET', job_key, 'origin', 'timeout', 'ttl',
        'created_at')
    if redis.call('EXISTS', job_key) == 1
        and redis.call('ZREM', registry, job_id) == 1 then
        local queue = queue_prefix .. (f[1] or '')
        if not f[4] then
            redis.call('HSET', job_key, 'created_at', enqueued_at)
            for _, name in ipairs(always_written) do
                redis.call('HSETNX', job_key, name, '')
            end
        end
        redis.call('HSET', job_key, 'status', 'queued', 'started_at', '',
            'ended_at', '', 'exc_info', empty_exc_info,
            'enqueued_at', enqueued_at)
        if not f[2] or f[2] == '' then
            redis.call('HSET', job_key, 'timeout', default_timeout)
        end
        if retries_left ~= '' then
            redis.call('HSET', job_key, 'retries_left', retries_left)
        end
        local ttl = f[3] and tonumber(f[3])
        if ttl and ttl > 0 then
            redis.call('EXPIRE', job_key, ttl)
            redis.call('EXPIRE', job_key .. ':dependents', ttl)
            redis.call('EXPIRE', prefix .. ':' .. job_id .. ':dependencies',
                ttl)
        end
        if at_front then
            redis.call('LPUSH', queue, job_id)
        else
            redis.call('RPUSH', queue, job_id)
        end
        requeued = requeued + 1
    else
        skipped = skipped + 1
    end
end
return {requeued, skipped}
