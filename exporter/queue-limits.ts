import { diag } from '@opentelemetry/api';

export const DEFAULT_EXPIRES_SECONDS = 36 * 60 * 60;
export const DEFAULT_MAX_VALUE_BYTES = 1_000_000;
export const DEFAULT_MAX_QUEUE_BYTES = 8 * 1024 * 1024;
const MIN_MAX_QUEUE_BYTES = 64 * 1024;

/**
 * How the exporter's queue counts bytes. A record's size is known only once it is built and
 * encoded, and records come unbuilt (building one a full queue would drop is the waste
 * `RecordSource` avoids). So a record handed over counts as UNBUILT_RECORD_BYTES (a 10-call record
 * encodes to ~1.6 KB) until the next turn of the event loop, when every record handed over
 * meanwhile is built and encoded in one go, off the request's span end; from then on it counts as
 * its encoded values plus RECORD_OVERHEAD_BYTES (the objects and keys around them) until its write
 * settles. The estimate thus stands for at most one turn's records, and the bound holds on real
 * bytes for everything that waits on the store. (Building only as a batch is written would leave
 * the queue holding the requests' spans, several times the record's bytes, under a bound that is
 * only a guess.)
 */
export const UNBUILT_RECORD_BYTES = 2048;
export const RECORD_OVERHEAD_BYTES = 256;

/** The exporter options that size its values and its queue. */
export interface QueueLimitOptions {
  expiresSeconds?: number;
  maxValueBytes?: number;
  maxQueueBytes?: number;
  maxInFlightWrites?: number;
}

export interface QueueLimits {
  expiresSeconds: number;
  maxValueBytes: number;
  maxQueueBytes: number;
  /** `maxInFlightWrites`: Infinity unless set. */
  maxQueueRecords: number;
}

function positive(name: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (Number.isFinite(value) && value > 0) return value;
  diag.warn(`appstats: ${name} must be a positive number, got ${value}; using ${fallback}`);
  return fallback;
}

/** The limits an exporter runs with; a value out of range is replaced, and said through diag.warn. */
export function resolveLimits(options: QueueLimitOptions): QueueLimits {
  let maxQueueBytes = Math.floor(positive('maxQueueBytes', options.maxQueueBytes, DEFAULT_MAX_QUEUE_BYTES));
  if (maxQueueBytes < MIN_MAX_QUEUE_BYTES) {
    diag.warn(
      `appstats: maxQueueBytes must be at least ${MIN_MAX_QUEUE_BYTES}, got ${maxQueueBytes}; using ${MIN_MAX_QUEUE_BYTES}`,
    );
    maxQueueBytes = MIN_MAX_QUEUE_BYTES;
  }
  let maxValueBytes = positive('maxValueBytes', options.maxValueBytes, DEFAULT_MAX_VALUE_BYTES);
  // A record (two values) must fit the queue, or it could never be written: as BatchSpanProcessor
  // clamps its batch size to its queue size, the smaller bound wins, with a warning.
  const fitting = Math.floor((maxQueueBytes - RECORD_OVERHEAD_BYTES) / 2);
  if (maxValueBytes > fitting) {
    diag.warn(
      `appstats: maxValueBytes (${maxValueBytes}) must leave room for a record's two values in maxQueueBytes (${maxQueueBytes}); using ${fitting}`,
    );
    maxValueBytes = fitting;
  }
  const count = options.maxInFlightWrites;
  return {
    expiresSeconds: positive('expiresSeconds', options.expiresSeconds, DEFAULT_EXPIRES_SECONDS),
    maxValueBytes,
    maxQueueBytes,
    maxQueueRecords:
      count === Number.POSITIVE_INFINITY
        ? count
        : Math.floor(positive('maxInFlightWrites', count, Number.POSITIVE_INFINITY)),
  };
}
