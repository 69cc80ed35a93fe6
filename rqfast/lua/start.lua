-- Phase "start": pop the next job, record its execution, return its hash.
--
-- KEYS[1] the worker hash, KEYS[2] the suspension flag (rq:suspended),
-- then for each queue i (from 0) in the order the worker listens:
-- KEYS[3 + 3i] the queue list, KEYS[4 + 3i] its started registry,
-- KEYS[5 + 3i] its intermediate list.
-- ARGV[1] worker name, ARGV[2] execution id, ARGV[3] now as RQ formats it,
-- ARGV[4] now as a float timestamp, ARGV[5] now in whole seconds,
-- ARGV[6] "1" for a worker that runs jobs in its own process, "0" for a
-- forking one, ARGV[7] the job monitoring interval, ARGV[8] RQ's default
-- worker TTL, ARGV[9] the worker's TTL while idle, ARGV[10] the job key
-- prefix, ARGV[11] an id the client already moved to queue ARGV[12]'s
-- intermediate list with a blocking pop ("" when none).
--
-- The popped job's own keys (hash, execution hash and execution registry)
-- are derived from its id: they cannot be named before the pop.
--
-- Returns {"suspended"}, {"empty"} or {"job", queue index from 1, job id,
-- the job hash as HGETALL returns it}. The writes are those of stock RQ's
-- prepare_execution and prepare_job_execution together, plus the count of
-- executions in the job's rqfast_executions field (its attempt number).

local function op_start(K, A)
    local worker = K[1]
    if redis.call('EXISTS', K[2]) == 1 then
        return {'suspended'}
    end
    local name, exec_id, now_iso, now_ts = A[1], A[2], A[3], A[4]
    local now_int = tonumber(A[5])
    local prefix = A[10]

    -- Pop ids until one still has a hash, as stock dequeue_any skips the rest.
    local id, qi = nil, nil
    if A[11] ~= '' then
        qi = tonumber(A[12])
        redis.call('LREM', K[5 + 3 * qi], 1, A[11])
        if redis.call('EXISTS', prefix .. A[11]) == 1 then
            id = A[11]
        end
    else
        for i = 0, (#K - 2) / 3 - 1 do
            while true do
                local popped = redis.call('LPOP', K[3 + 3 * i])
                if not popped then
                    break
                end
                if redis.call('EXISTS', prefix .. popped) == 1 then
                    id, qi = popped, i
                    break
                end
            end
            if id then
                break
            end
        end
    end
    if not id then
        redis.call('HSET', worker, 'state', 'idle', 'last_heartbeat', now_iso)
        redis.call('EXPIRE', worker, A[9])
        return {'empty'}
    end

    -- The heartbeat TTL, by stock RQ's rule for each kind of worker.
    local job = prefix .. id
    local timeout = tonumber(redis.call('HGET', job, 'timeout') or '')
    local interval, default_ttl = tonumber(A[7]), tonumber(A[8])
    local ttl
    if A[6] == '1' then
        if timeout == -1 then
            ttl = default_ttl
        elseif timeout == nil or timeout == 0 then
            ttl = default_ttl + 60
        else
            ttl = math.floor(timeout) + 60
        end
    elseif timeout ~= nil and timeout > 0 then
        ttl = math.floor(math.min(timeout, interval)) + 60
    else
        ttl = interval + 60
    end

    -- The execution, its registries, the worker and the job's own fields.
    local execution = 'rq:execution:' .. id .. ':' .. exec_id
    redis.call('HSET', execution, 'id', exec_id, 'created_at', now_ts,
        'last_heartbeat', now_ts, 'worker_name', name)
    redis.call('EXPIRE', execution, ttl)
    local executions = 'rq:executions:' .. id
    redis.call('ZADD', executions, now_int + ttl + 60, exec_id)
    redis.call('EXPIRE', executions, ttl + 60)
    redis.call('ZADD', K[4 + 3 * qi], now_int + ttl, id .. ':' .. exec_id)
    redis.call('HSET', worker, 'state', 'busy', 'current_job', id,
        'current_job_working_time', 0, 'last_heartbeat', now_iso)
    redis.call('EXPIRE', worker, ttl)
    redis.call('HSET', job, 'last_heartbeat', now_iso, 'status', 'started',
        'started_at', now_iso, 'worker_name', name)
    -- An extra field stock RQ ignores: executions started by rqfast workers.
    redis.call('HINCRBY', job, 'rqfast_executions', 1)
    redis.call('PERSIST', job)
    return {'job', qi + 1, id, redis.call('HGETALL', job)}
end
