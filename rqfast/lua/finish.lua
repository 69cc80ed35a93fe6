-- Phase "finish": end one execution of a job, whatever its outcome.
--
-- The client decides the outcome (finished, failed, retried now or later)
-- and passes what stock RQ would write for it; this phase writes it at once.
-- KEYS[1] the worker hash, KEYS[2] the job hash, KEYS[3] its dependents
-- set, KEYS[4] the execution hash, KEYS[5] the job's execution registry,
-- KEYS[6] the started registry, KEYS[7] the job's results stream,
-- KEYS[8] the destination (a registry or a queue list), KEYS[9] the set of
-- all queues (rq:queues), KEYS[10] the job's dependencies set.
-- ARGV[1] two flags: its first character "1" to stop before any write when
-- the dependents set exists, its second "1" when the job has dependencies
-- (so KEYS[10] may exist and is given the job's expiry),
-- ARGV[2] the job id, ARGV[3] the worker counter to increment,
-- ARGV[4] seconds to add to the worker's total working time ("" for none),
-- ARGV[5] the execution id, ARGV[6] the worker's heartbeat (when the job
-- ended) as RQ formats it, ARGV[7] the worker's TTL while idle,
-- ARGV[8] the job's key expiry ("" to leave it),
-- ARGV[9] the results stream expiry ("", "persist" or seconds),
-- ARGV[10] how to reach the destination ("zadd", "rpush", "lpush" or ""),
-- ARGV[11] the registry score, ARGV[12] a member to add to KEYS[9] ("" for
-- none), ARGV[13] the number n of job hash values, ARGV[14] the number m
-- of result entry values, then n field/value items for the job hash and m
-- for the result entry (m = 0 writes no result). Optionally, KEYS[11] the
-- queue's rqfast counters hash and, after the items, the number c of its
-- fields to increment by one, then those c fields.
--
-- Returns {"dependents", the job's status as stored} without writing
-- anything when asked to check and the job has dependents (the client then
-- takes stock RQ's path for them),
-- else {"ok"}. The worker's idle state is left to the end of the batch
-- (see idle_worker in the start phase): a start that pops the next job
-- overwrites it, so it is written only when none follows.

local function op_finish(K, A)
    local worker, job, dependents = K[1], K[2], K[3]
    local checked = A[1]:sub(1, 1) == '1'
    if checked and redis.call('EXISTS', dependents) == 1 then
        return {'dependents', redis.call('HGET', job, 'status') or ''}
    end
    local id, exec_id = A[2], A[5]

    -- The worker's counters, and its execution record gone.
    redis.call('HINCRBY', worker, A[3], 1)
    if A[4] ~= '' then
        redis.call('HINCRBYFLOAT', worker, 'total_working_time', A[4])
    end
    redis.call('DEL', K[4])
    redis.call('ZREM', K[6], id .. ':' .. exec_id)
    redis.call('ZREM', K[5], exec_id)

    -- The job hash and the result entry, then their expiry.
    local n, m = tonumber(A[13]), tonumber(A[14])
    if n > 0 then
        redis.call('HSET', job, unpack(A, 15, 14 + n))
    end
    if m > 0 then
        redis.call('XADD', K[7], 'MAXLEN', '~', 10, '*',
            unpack(A, 15 + n, 14 + n + m))
        if A[9] == 'persist' then
            redis.call('PERSIST', K[7])
        elseif A[9] ~= '' then
            redis.call('EXPIRE', K[7], A[9])
        end
    end
    if A[8] ~= '' then
        -- EXPIRE on a key known to be absent would change nothing.
        redis.call('EXPIRE', job, A[8])
        if not checked then
            redis.call('EXPIRE', dependents, A[8])
        end
        if A[1]:sub(2, 2) == '1' then
            redis.call('EXPIRE', K[10], A[8])
        end
    end

    -- Where the job goes next.
    if A[10] == 'zadd' then
        redis.call('ZADD', K[8], A[11], id)
    elseif A[10] == 'rpush' then
        redis.call('RPUSH', K[8], id)
    elseif A[10] == 'lpush' then
        redis.call('LPUSH', K[8], id)
    end
    if A[12] ~= '' then
        redis.call('SADD', K[9], A[12])
    end

    -- rqfast's per-queue retry counters, when the client names any.
    local c = tonumber(A[15 + n + m] or '0')
    for i = 16 + n + m, 15 + n + m + c do
        redis.call('HINCRBY', K[11], A[i], 1)
    end

    -- The worker is idle until its next job; this is also its heartbeat.
    idle_worker = {worker, A[6], A[7]}
    return {'ok'}
end
