import type { BilledOp } from '../../core/record.js';

/**
 * Price of one operation, in microdollars (millionths of a US dollar). Defaults: Firestore in
 * Datastore mode, Standard edition, multi-region (nam5 / eur3) list prices: entity reads $0.06,
 * writes $0.18, deletes $0.02 per 100,000; small operations free. Source and date in
 * docs/instrumentations.md. Regional locations cost half that (us-central1: $0.03 / $0.09 / $0.01):
 * pass your own prices.
 */
export interface DatastorePrices {
  /** One entity read (and one read per query, and per batch of 1000 index entries). Default 0.6. */
  readMicrodollars: number;
  /** One entity write (insert, update, upsert). Default 1.8. */
  writeMicrodollars: number;
  /** One entity delete. Default 0.2. */
  deleteMicrodollars: number;
  /** One small operation (an id allocated, a keys-only or projection result). Default 0. */
  smallMicrodollars: number;
}

/** $0.06 / $0.18 / $0.02 per 100,000 operations = 0.6 / 1.8 / 0.2 microdollars each. */
export const DEFAULT_DATASTORE_PRICES: Readonly<DatastorePrices> = Object.freeze({
  readMicrodollars: 0.6,
  writeMicrodollars: 1.8,
  deleteMicrodollars: 0.2,
  smallMicrodollars: 0,
});

/** Billed op names of the record: the original's DATASTORE_READ / WRITE / SMALL, plus deletes, billed apart today. */
export const OP_READ = 'DATASTORE_READ';
export const OP_WRITE = 'DATASTORE_WRITE';
export const OP_DELETE = 'DATASTORE_DELETE';
export const OP_SMALL = 'DATASTORE_SMALL';

const PRICE_OF: Record<string, keyof DatastorePrices> = {
  [OP_READ]: 'readMicrodollars',
  [OP_WRITE]: 'writeMicrodollars',
  [OP_DELETE]: 'deleteMicrodollars',
  [OP_SMALL]: 'smallMicrodollars',
};

/** The estimated cost of a call's billed ops, in microdollars, rounded to a millionth. */
export function costMicrodollars(ops: readonly BilledOp[], prices: DatastorePrices): number {
  let total = 0;
  for (const { op, num_ops } of ops) {
    const price = PRICE_OF[op];
    if (price) total += num_ops * prices[price];
  }
  return Math.round(total * 1e6) / 1e6;
}

/** Billed ops from counts, zero counts left out, in a fixed order. */
export function billedOps(counts: {
  reads?: number;
  writes?: number;
  deletes?: number;
  small?: number;
}): BilledOp[] {
  const ops: BilledOp[] = [];
  if (counts.reads) ops.push({ op: OP_READ, num_ops: counts.reads });
  if (counts.writes) ops.push({ op: OP_WRITE, num_ops: counts.writes });
  if (counts.deletes) ops.push({ op: OP_DELETE, num_ops: counts.deletes });
  if (counts.small) ops.push({ op: OP_SMALL, num_ops: counts.small });
  return ops;
}
